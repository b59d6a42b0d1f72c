"""Repair, complaint, my-requests, survey and revisit flows driven with FakeCustomer (no Telegram)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from dialogs.inbound import Inbound
from dialogs.reminders import tick
from dialogs.replies import AskContact, Say, from_receipt
from storage.models import (
    Conversation,
    Customer,
    FollowUpTask,
    OutboxMessage,
    Reminder,
    Revisit,
    Survey,
    Ticket,
    TicketAttachment,
    TicketEvent,
)
from storage.services import tickets
from tests import factories
from tests.dialogs.helpers import FakeCustomer
from tests.workplace import SETTINGS, workplace_for


async def _owner(sessions, handover: date = date(2025, 6, 1)) -> int:
    async with sessions() as session, session.begin():
        unit = await factories.unit(session, handover=handover)
        return unit.id


def _contact(phone: str, own: bool = True) -> Inbound:
    return Inbound(kind="contact", phone=phone, contact_is_own=own)


def _photo(file_id: str, caption: str = "") -> Inbound:
    return Inbound(kind="photo", photo_file_ids=(f"{file_id}-small", file_id), text=caption)


async def _file_leak(customer: FakeCustomer, unit_id: int, emergency: bool = True) -> list:
    replies = await customer.press("repair:start")
    assert isinstance(replies[0], AskContact)
    replies = await customer.send(_contact("+86 138-0013-8000"))
    assert "Sunny Garden 3-1201" in replies[0].text and replies[0].remove_keyboard
    assert "repair:cat:plumbing" in [c.token for row in replies[-1].choices for c in row]  # one home: not asked
    # which (issue 16)
    await customer.press("repair:cat:waterproofing")
    # The customer writes in their own language (the bot answers in the language they write, issue 16).
    await customer.text("浴室天花板一直在滴水" if customer.language_code.startswith("zh")
                        else "Water drips from the bathroom ceiling")
    await customer.send(_photo("p1"))
    replies = await customer.send(_photo("p2"))
    assert "2" in replies[0].text
    await customer.press("repair:photos:done")
    await customer.press("repair:urg:emergency" if emergency else "repair:urg:normal")
    return await customer.text("weekdays after 18:00")


async def test_owner_files_in_warranty_leak_with_photos(sessions, frozen_clock) -> None:
    unit_id = await _owner(sessions)
    customer = FakeCustomer(sessions, user_id=2001)
    replies = await _file_leak(customer, unit_id)
    text = replies[0].text
    assert "R-2026-000001" in text and "free" in text and "emergency" in text
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket.warranty_status == "in" and ticket.priority == "emergency"
        assert ticket.access_window == "weekdays after 18:00"
        photos = (await session.scalars(select(TicketAttachment.telegram_file_id))).all()
        assert sorted(photos) == ["p1", "p2"]
        assert ticket.first_response_due_at is not None
        assert (ticket.first_response_due_at - ticket.created_at).total_seconds() == 3600
        owner = await session.scalar(select(Customer).where(Customer.telegram_user_id == 2001))
        assert owner.phone == "13800138000"


async def test_out_of_warranty_repair_waits_for_quote(sessions, frozen_clock) -> None:
    unit_id = await _owner(sessions, handover=date(2020, 1, 1))
    customer = FakeCustomer(sessions, user_id=2002)
    replies = await _file_leak(customer, unit_id, emergency=False)
    assert "paid" in replies[0].text
    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        ticket = await session.scalar(select(Ticket))
        await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)
        try:
            await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)
            raise AssertionError("work started without an accepted quote")
        except tickets.TicketError as exc:
            assert "quote" in str(exc)
        await tickets.set_quote(session, ticket, "350", staff=tech, settings=SETTINGS)
        assert ticket.status == "waiting_customer" and ticket.sla_paused_at is not None
    await tick(workplace_for(sessions))
    replies = await customer.send(Inbound(kind="text", text="hello?"))  # refresh replies from the outbox
    quote = [r for r in customer.replies if isinstance(r, Say) and "350.00 CNY" in r.text]
    # A quote is a receipt: its buttons carry the receipt mark, so accepting never edits the quote away (issue 16).
    assert quote and from_receipt(quote[0].choices[0][0].token) == (f"tickets:qa:{ticket.id}", True)
    await customer.press(quote[0].choices[0][0].token)
    async with sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        assert ticket.quote_accepted_at is not None and ticket.status == "assigned"
        assert ticket.quote_amount == Decimal("350.00") and ticket.sla_paused_at is None
        await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)


async def test_unmatched_customer_can_complain_and_reaches_queue(sessions, frozen_clock) -> None:
    await _owner(sessions)
    customer = FakeCustomer(sessions, user_id=2003)
    await customer.press("repair:start")
    replies = await customer.send(_contact("13900000000"))
    assert "could not find" in replies[0].text
    await customer.press("complaint:start")
    await customer.press("complaint:cat:property_management")
    await customer.text("The lift has been broken for a week")
    replies = await customer.press("complaint:photos:done")
    assert "C-2026-000001" in replies[0].text
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        conversation = await session.scalar(select(Conversation))
    assert ticket.kind == "complaint" and ticket.team == "property" and ticket.needs_verification
    assert conversation.mode == "waiting" and conversation.handoff_reason == "complaint"


async def test_complaint_and_repair_keep_every_caption_and_cap_the_description_alike(sessions, frozen_clock) -> None:
    unit_id = await _owner(sessions)
    complainer = FakeCustomer(sessions, user_id=2010)
    await complainer.press("complaint:start")
    await complainer.press("complaint:cat:service_attitude")
    await complainer.send(_photo("c1", "The guard shouted at me"))
    await complainer.send(_photo("c2", "at the north gate"))
    await complainer.text("on Monday at 9")
    replies = await complainer.press("complaint:photos:done")
    assert "C-2026-000001" in replies[0].text

    repairer = FakeCustomer(sessions, user_id=2011)
    await repairer.press("repair:start")
    await repairer.send(_contact("+86 138-0013-8000"))
    await repairer.press(f"repair:unit:{unit_id}")
    await repairer.press("repair:cat:plumbing")
    await repairer.send(_photo("r1", "The tap drips"))
    await repairer.text("and the pipe below it is wet")
    await repairer.send(_photo("r2", "x" * 5000))
    await repairer.press("repair:photos:done")
    await repairer.press("repair:urg:normal")
    await repairer.press("repair:acc:call")
    async with sessions() as session:
        complaint, repair = (await session.scalars(select(Ticket).order_by(Ticket.id))).all()
        attachments = (await session.scalars(select(TicketAttachment.telegram_file_id)
                                             .order_by(TicketAttachment.id))).all()
    assert complaint.description == "The guard shouted at me\nat the north gate\non Monday at 9"
    assert repair.description.startswith("The tap drips\nand the pipe below it is wet\nxxx")
    assert len(repair.description) == 4000
    assert attachments == ["c1", "c2", "r1", "r2"]


async def test_stale_and_forged_request_buttons_are_ignored(sessions, frozen_clock) -> None:
    unit_id = await _owner(sessions)
    owner = FakeCustomer(sessions, user_id=2012)
    await _file_leak(owner, unit_id)
    other = FakeCustomer(sessions, user_id=2013)
    async with sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id))
    for token in (f"tickets:v:{ticket_id}", f"tickets:v:{2**64}", "tickets:v:１", "tickets:qa:x", "tickets:zz:1"):
        replies = await other.press(token)
        assert not any(f"R-2026-{ticket_id:06d}" in getattr(r, "text", "") for r in replies), token
    replies = await owner.press(f"tickets:v:{ticket_id}")
    assert "R-2026-000001" in replies[0].text


async def test_status_changes_reach_customer_and_resolution_confirmed_then_survey(sessions, frozen_clock) -> None:
    unit_id = await _owner(sessions)
    customer = FakeCustomer(sessions, user_id=2004, language_code="zh-hans")
    await _file_leak(customer, unit_id)
    async with sessions() as session, session.begin():
        tech = await factories.staff(session, name="王师傅")
        lead = await factories.staff(session, name="Lead", lead=True)
        ticket = await session.scalar(select(Ticket))
        await tickets.assign(session, ticket, tech.id, by=lead, settings=SETTINGS)
        await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)
        await tickets.change_status(session, ticket, "resolved", staff=tech, settings=SETTINGS)
    await tick(workplace_for(sessions))
    await customer.text("?")
    texts = [r.text for r in customer.replies if isinstance(r, Say)]
    assert any("王师傅" in t for t in texts) and any("处理中" in t for t in texts)
    resolved = next(r for r in customer.replies if isinstance(r, Say) and r.choices
                    and from_receipt(r.choices[0][0].token)[0].startswith("tickets:ok:"))
    replies = await customer.press(resolved.choices[0][0].token)
    assert "已关闭" in replies[0].text
    survey_question = replies[1]
    assert [c.label for c in survey_question.choices[0]] == ["1", "2", "3", "4", "5"]
    replies = await customer.press(survey_question.choices[0][0].token)  # score 1
    await customer.text("Nobody called me back")
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
        task = await session.scalar(select(FollowUpTask))
        ticket = await session.scalar(select(Ticket))
        pending_survey = await session.scalar(select(Reminder).where(Reminder.kind == "survey",
                                                                     Reminder.status == "pending"))
        revisit = await session.scalar(select(Revisit))
    assert ticket.status == "closed" and survey.score == 1 and survey.comment == "Nobody called me back"
    assert task is not None and task.assignee_id == lead.id and "Nobody called" in (task.note or "")
    assert pending_survey is None  # the survey was asked in the chat, not again by the tick
    assert revisit is not None and revisit.reason == "after_repair"
    async with sessions() as session:
        due = await session.scalar(select(Reminder).where(Reminder.kind == "revisit_due"))
    assert due.recipient_staff_id == tech.id and (due.due_at - ticket.closed_at).days == 7


async def test_reopen_and_add_info(sessions, frozen_clock) -> None:
    unit_id = await _owner(sessions)
    customer = FakeCustomer(sessions, user_id=2005)
    await _file_leak(customer, unit_id)
    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        ticket = await session.scalar(select(Ticket))
        await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)
        await tickets.change_status(session, ticket, "resolved", staff=tech, settings=SETTINGS)
        ticket_id = ticket.id
    replies = await customer.press(f"tickets:no:{ticket_id}")
    assert "reopened" in replies[0].text
    await customer.text("Still dripping")
    await customer.send(_photo("p3"))
    await customer.press("tickets:done")
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        kinds = [e.kind for e in (await session.scalars(select(TicketEvent).order_by(TicketEvent.id))).all()]
        staff_notes = (await session.scalars(select(Reminder).where(Reminder.kind == "ticket_staff"))).all()
    assert ticket.status == "in_progress" and ticket.resolved_at is None
    assert "reopened" in kinds and "info" in kinds and "attachment" in kinds
    assert {r.payload["what"] for r in staff_notes} >= {"reopened", "info"}
    replies = await customer.press("tickets:start")
    assert any("R-2026-000001" in c.label for row in replies[0].choices for c in row)


async def test_revisit_need_help_opens_follow_up(sessions, frozen_clock) -> None:
    from storage.services import revisits

    customer = FakeCustomer(sessions, user_id=2006)
    await customer.command("start")
    async with sessions() as session, session.begin():
        row = await session.scalar(select(Customer).where(Customer.telegram_user_id == 2006))
        await factories.staff(session, lead=True)
        revisit = await revisits.schedule_revisit(session, customer_id=row.id, reason="periodic", subject_id=1,
                                                  due_at=frozen_clock.now(), settings=SETTINGS)
    assert await tick(workplace_for(sessions)) == 1
    await customer.text("?")
    question = next(r for r in customer.replies if isinstance(r, Say) and r.choices
                    and r.choices[0][0].token.startswith("revisit:"))
    replies = await customer.press(question.choices[0][1].token)
    assert replies[0].choices[0][0].token == "repair:start"
    async with sessions() as session:
        answered = await session.get(Revisit, revisit.id)
        assert answered.answer == "need_help"
        assert await session.scalar(select(FollowUpTask.reason)) == "revisit_help"
        assert await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key.like("reminder:%")))


async def test_recent_owner_gets_a_move_in_revisit_and_the_lead_a_reminder(sessions, frozen_clock) -> None:
    from storage.services import owners

    async with sessions() as session, session.begin():
        await factories.unit(session, handover=date(2026, 2, 20))
        lead = await factories.staff(session, name="Property lead", team="property", lead=True)
        person = await factories.customer(session)
        units = await owners.verify_owner(session, person, "+86 138 0013 8000", settings=SETTINGS)
        again = await owners.verify_owner(session, person, "13800138000", settings=SETTINGS)
    assert len(units) == 1 and len(again) == 1
    async with sessions() as session:
        revisits_rows = (await session.scalars(select(Revisit))).all()
        staff_due = (await session.scalars(select(Reminder).where(Reminder.kind == "revisit_due"))).all()
    assert [(r.reason, r.due_at.date()) for r in revisits_rows] == [("after_move_in", date(2026, 3, 22))]
    assert [r.recipient_staff_id for r in staff_due] == [lead.id]
