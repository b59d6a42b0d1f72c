"""After-sales end to end: the real aiogram channel against the offline Bot API server (tests/botapi).

The clock is frozen at Monday 2026-03-02 09:00 Asia/Shanghai; the reminder tick (which delivers ticket updates,
quotes and surveys) is run by hand, as `homedesk run` does every few seconds.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from dialogs import reminders as reminder_tick
from dialogs.i18n import t
from storage.db import transaction
from storage.models import Conversation, FollowUpTask, Survey, Ticket, TicketAttachment
from storage.services import tickets
from tests import factories
from tests.workplace import SETTINGS, workplace_for


async def _home(sessions, handover: date = date(2025, 6, 1)) -> None:
    async with transaction(sessions) as session:
        await factories.unit(session, handover=handover)


async def _report_leak(ann, *, photos: int = 2, emergency: bool = True) -> dict:
    ann.send_command("start")
    await ann.wait_for("Hello")
    ann.press("Report a repair")
    await ann.wait_for("find your home")
    ann.tap("Share my phone number")
    await ann.wait_for("I found your home: Sunny Garden 3-1201")
    await ann.wait_for("What needs repairing?")  # one home: not asked which (issue 16)
    ann.press("Waterproofing / leak")
    await ann.wait_for("describe the problem")
    ann.send_text("Water <drips> from the bathroom ceiling")
    await ann.wait_for("Photos help")
    for n in range(photos):
        ann.send_photo()
        await ann.wait_for(f"Got {n + 1} photo")
    ann.press("Done")
    await ann.wait_for("How urgent")
    ann.press(t("en", "Emergency: active leak, no power, gas smell, security") if emergency else "Not an emergency")
    await ann.wait_for("When may our technician")
    ann.send_text("weekdays after 18:00")
    return await ann.wait_for("Your repair request is registered")


async def test_owner_files_an_in_warranty_leak_with_photos(api, make_channel, sessions, frozen_clock) -> None:
    await _home(sessions)
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        filed = await _report_leak(ann)
        assert "R-2026-000001" in filed["text"] and "free" in filed["text"]
        assert ann.reply_keyboard() is None  # the share-phone keyboard was removed
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        photos = (await session.scalars(select(TicketAttachment))).all()
    assert ticket.warranty_status == "in" and ticket.priority == "emergency" and len(photos) == 2
    assert ticket.description == "Water <drips> from the bathroom ceiling"


async def test_out_of_warranty_repair_waits_for_the_quote(api, make_channel, sessions, frozen_clock, bus) -> None:
    await _home(sessions, handover=date(2019, 5, 1))
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        filed = await _report_leak(ann, photos=1, emergency=False)
        assert "paid" in filed["text"]
        async with transaction(sessions) as session:
            tech = await factories.staff(session, name="Li")
            ticket = await session.scalar(select(Ticket))
            await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)
            await tickets.set_quote(session, ticket, "420.5", staff=tech, settings=SETTINGS)
        await reminder_tick.tick(workplace_for(sessions, bus))
        await ann.wait_for("Our quote: 420.50 CNY", since_last_action=False)
        async with sessions() as session:
            assert (await session.scalar(select(Ticket))).status == "waiting_customer"
        ann.press("Accept the quote", search_last=3)
        await ann.wait_for("you accepted the quote")
    async with transaction(sessions) as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket.quote_accepted_at is not None
        await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)  # now work may start


async def test_complaint_is_routed_and_reaches_the_queue(api, make_channel, sessions, frozen_clock) -> None:
    async with make_channel(api):
        bob = api.customer(first_name="Bob", language_code="zh-hans")
        bob.send_command("start")
        await bob.wait_for("您好")
        bob.press("投诉")
        await bob.wait_for("投诉哪方面")
        bob.press("物业管理")
        await bob.wait_for("发生了什么")
        bob.send_text("电梯坏了一周没人修")
        await bob.wait_for("提交投诉")
        bob.press("提交投诉")
        filed = await bob.wait_for("C-2026-000001")
        assert "投诉已登记" in filed["text"]
        await bob.wait_for("队列", since_last_action=False)
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        conversation = await session.scalar(select(Conversation))
    assert ticket.team == "property" and ticket.needs_verification
    assert conversation.mode == "waiting" and conversation.handoff_reason == "complaint"


async def test_status_updates_confirmation_survey_and_low_score(api, make_channel, sessions, frozen_clock,
                                                                bus) -> None:
    await _home(sessions)
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        await _report_leak(ann, photos=1)
        async with transaction(sessions) as session:
            lead = await factories.staff(session, name="Lead", team="repair", lead=True)
            tech = await factories.staff(session, name="Li")
            ticket = await session.scalar(select(Ticket))
            await tickets.assign(session, ticket, tech.id, by=lead, settings=SETTINGS)
            await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)
        await reminder_tick.tick(workplace_for(sessions, bus))
        await ann.wait_for("is now with Li", since_last_action=False)
        await ann.wait_for("is now: in progress", since_last_action=False)
        async with transaction(sessions) as session:
            ticket = await session.scalar(select(Ticket))
            await tickets.change_status(session, ticket, "resolved", staff=tech, note="Sealed the pipe",
                                        settings=SETTINGS)
        await reminder_tick.tick(workplace_for(sessions, bus))
        await ann.wait_for("is resolved. Is everything fine now?", since_last_action=False)
        ann.press("Yes, it is fixed")
        survey = await ann.wait_for("How satisfied are you")
        assert [b["text"] for row in survey["reply_markup"]["inline_keyboard"] for b in row] == list("12345")
        ann.press("2")
        await ann.wait_for("A team lead will contact you")
        ann.send_text("Took far too long")
        await ann.wait_for("Thank you for your feedback!")
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        survey_row = await session.scalar(select(Survey))
        task = await session.scalar(select(FollowUpTask))
    assert ticket.status == "closed"
    assert survey_row.score == 2 and survey_row.comment == "Took far too long" and survey_row.staff_id == tech.id
    assert task.assignee_id == lead.id and task.reason == "low_score"
