"""Work staff enter for a customer (storage.services.on_behalf, consultations, handoff.transfer_to_team), on every
database backend: the bot's rules and words, who entered it, and the reminders that follow."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialogs import reminders as reminder_tick
from storage.models import (
    AuditLog,
    Consultation,
    Conversation,
    CustomerUnit,
    Message,
    OutboxMessage,
    Reminder,
    StaffNotification,
    TicketEvent,
    Viewing,
)
from storage.repositories import conversations
from storage.services import consultations, handoff, on_behalf, viewings
from storage.services.consultations import ConsultationError
from storage.services.handoff import HandoffError
from storage.services.on_behalf import OnBehalfError
from storage.unit_of_work import Actor
from tests import factories
from tests.journey_data import seed
from tests.workplace import workplace_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def _people(sessions, *, owner: bool = True, language: str = "en") -> dict[str, int]:
    async with sessions() as session, session.begin():
        desk = await factories.staff(session, name="Desk Dai", role="agent", team="sales")
        customer = await factories.customer(session, language=language)
        customer.phone = "13800138000"
        home = await factories.unit(session, phone="13800138000")
        if owner:
            session.add(CustomerUnit(customer_id=customer.id, unit_id=home.id))
        return {"desk": desk.id, "customer": customer.id, "unit": home.id, "chat": customer.chat_id or 0}


async def _outbox_texts(sessions, chat_id: int) -> list[str]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                      .order_by(OutboxMessage.id))).all()
    return [str(row.payload.get("text", "")) for row in rows]


async def test_a_repair_filed_by_staff_is_the_bots_ticket_with_who_entered_it(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions)
    workplace = workplace_for(any_sessions)
    async with workplace.open(Actor.staff(ids["desk"]), ip="10.0.0.9") as work:
        ticket = await on_behalf.file_ticket(work, ids["customer"], kind="repair", category="plumbing",
                                             description="Kitchen tap leaks", unit_id=ids["unit"],
                                             priority="emergency", access_window="after 18:00")
    assert ticket.number.startswith("R-2026-") and ticket.entered_by_id == ids["desk"]
    assert ticket.warranty_status == "in" and ticket.first_response_due_at is not None  # warranty and SLA as the bot
    assert not ticket.needs_verification and ticket.unit_id == ids["unit"]
    async with any_sessions() as session:
        created = await session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "ticket_file"))
        history = (await session.scalars(select(Message).where(Message.conversation_id == ticket.conversation_id)
                                         )).all()
    assert created is not None and created.actor_staff_id == ids["desk"] and created.kind == "created"
    assert audit is not None and audit.staff_id == ids["desk"] and audit.target_id == ticket.id
    assert audit.ip == "10.0.0.9"
    texts = await _outbox_texts(any_sessions, ids["chat"])
    assert len(texts) == 1 and f"Your repair request is registered. Number: {ticket.number}." in texts[0]
    assert "within the warranty period" in texts[0] and "emergency" in texts[0]
    assert [m.sender for m in history] == ["system"] and ticket.number in history[0].text


async def test_a_repair_needs_a_home_of_the_customer_and_a_description(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions, owner=False)
    workplace = workplace_for(any_sessions)
    with pytest.raises(OnBehalfError, match="a repair needs one of the customer's homes"):
        async with workplace.open(Actor.staff(ids["desk"])) as work:
            await on_behalf.file_ticket(work, ids["customer"], kind="repair", category="plumbing",
                                        description="Leak")
    with pytest.raises(OnBehalfError, match="describe the problem"):
        async with workplace.open(Actor.staff(ids["desk"])) as work:
            await on_behalf.file_ticket(work, ids["customer"], kind="repair", category="plumbing",
                                        description="  ", unit_id=ids["unit"])
    with pytest.raises(OnBehalfError, match="not registered to this customer"):
        async with workplace.open(Actor.staff(ids["desk"])) as work:
            await on_behalf.file_ticket(work, ids["customer"], kind="repair", category="plumbing",
                                        description="Leak", unit_id=ids["unit"] + 999)
    # A home under their phone number that is not linked to them: filed as "owner not yet verified", as the bot.
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        ticket = await on_behalf.file_ticket(work, ids["customer"], kind="repair", category="plumbing",
                                             description="Leak", unit_id=ids["unit"])
    assert ticket.needs_verification
    assert "owner not yet verified" in (await _outbox_texts(any_sessions, ids["chat"]))[-1]


async def test_a_complaint_filed_by_staff_goes_to_its_team(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions, language="zh")
    workplace = workplace_for(any_sessions)
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        ticket = await on_behalf.file_ticket(work, ids["customer"], kind="complaint", category="service_attitude",
                                             description="Rude on the phone")
    assert ticket.number.startswith("C-2026-") and ticket.team == "complaints" and ticket.unit_id == ids["unit"]
    texts = await _outbox_texts(any_sessions, ids["chat"])
    assert ticket.number in texts[0] and "投诉" in texts[0]  # the customer's language
    async with any_sessions() as session:  # as with the bot's complaint, a person will talk to them there
        conversation = await session.get(Conversation, ticket.conversation_id)
    assert conversation is not None and conversation.mode == "waiting" and conversation.handoff_reason == "complaint"


async def test_a_consultations_next_step_reminds_its_author_when_due(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions)
    workplace = workplace_for(any_sessions)
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        row = await consultations.log(work, ids["customer"], channel="walk_in", topic="after_sales",
                                      summary="Asked about the warranty of the boiler",
                                      next_step="Call back with the warranty terms",
                                      next_step_due_at=local(2, 11))
    assert row.staff_id == ids["desk"] and row.done_at is None
    assert await reminder_tick.tick(workplace) == 0  # 09:00: not yet
    frozen_clock.advance(hours=1, minutes=59)
    assert await reminder_tick.tick(workplace) == 0
    frozen_clock.advance(minutes=1)  # 11:00
    assert await reminder_tick.tick(workplace) == 1
    async with any_sessions() as session:
        notes = (await session.scalars(select(StaffNotification).where(StaffNotification.staff_id == ids["desk"])
                                       )).all()
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "consultation_log"))
    assert len(notes) == 1 and "Call back with the warranty terms" in notes[0].text and "Mon 2 Mar, 11:00" in \
        notes[0].text
    assert notes[0].link == f"/customers/{ids['customer']}#consultation-{row.id}"
    assert audit is not None and audit.staff_id == ids["desk"]
    frozen_clock.advance(hours=1)
    assert await reminder_tick.tick(workplace) == 0  # once


async def test_a_finished_next_step_withdraws_its_reminder(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions)
    workplace = workplace_for(any_sessions)
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        row = await consultations.log(work, ids["customer"], channel="phone", topic="buying", summary="Wants 3 rooms",
                                      next_step="Send listings", next_step_due_at=local(3, 10))
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        await consultations.finish_next_step(work, row.id)
    frozen_clock.advance(days=2)
    assert await reminder_tick.tick(workplace) == 0
    async with any_sessions() as session:
        reminder = await session.scalar(select(Reminder).where(Reminder.subject_type == "consultation"))
        stored = await session.get(Consultation, row.id)
    assert reminder is not None and reminder.status == "cancelled"
    assert stored is not None and stored.done_at is not None
    with pytest.raises(ConsultationError, match="already done"):
        async with workplace.open(Actor.staff(ids["desk"])) as work:
            await consultations.finish_next_step(work, row.id)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"channel": "fax"}, "unknown channel fax"),
    ({"topic": "gossip"}, "unknown topic gossip"),
    ({"summary": " "}, "the summary is empty"),
    ({"next_step": "Call"}, "the next step needs a due date"),
    ({"next_step_due_at": local(3, 10)}, "a due date needs a next step"),
    ({"next_step": "Call", "next_step_due_at": local(1, 10)}, "the due date must be in the future"),
])
async def test_a_consultation_is_checked(sessions, frozen_clock, fields, reason) -> None:
    ids = await _people(sessions)
    values = {"channel": "phone", "topic": "renting", "summary": "Looking", **fields}
    with pytest.raises(ConsultationError, match=reason):
        async with workplace_for(sessions).open(Actor.staff(ids["desk"])) as work:
            await consultations.log(work, ids["customer"], **values)
    async with sessions() as session:
        assert (await session.scalars(select(Consultation))).all() == []


async def test_viewings_staff_book_move_and_cancel_follow_the_bots_rules(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    async with any_sessions() as session, session.begin():
        desk = await factories.staff(session, name="Desk Dai", role="agent", team="sales")
        customer = await factories.customer(session)
        other = await factories.customer(session)
    workplace = workplace_for(any_sessions)
    async with workplace.open(Actor.staff(desk.id)) as work:
        viewing = await on_behalf.book_viewing(work, customer.id, ids["R-WJ-201"], local(4, 10))
    assert viewing.entered_by_id == desk.id and viewing.agent_id == ids["agent"]
    # The same slot rule as the bot's: taken (or inside the travel buffer) is refused.
    with pytest.raises(viewings.SlotTaken):
        async with workplace.open(Actor.staff(desk.id)) as work:
            await on_behalf.book_viewing(work, other.id, ids["R-WJ-201"], local(4, 10, 30))
    with pytest.raises(viewings.SlotTaken):  # Sunday: not a working day
        async with workplace.open(Actor.staff(desk.id)) as work:
            await on_behalf.book_viewing(work, other.id, ids["R-WJ-201"], local(8, 10))
    async with workplace.open(Actor.staff(desk.id)) as work:
        await on_behalf.reschedule_viewing(work, viewing.id, local(5, 14))
    async with workplace.open(Actor.staff(desk.id)) as work:
        await on_behalf.cancel_viewing(work, viewing.id)
    texts = await _outbox_texts(any_sessions, customer.chat_id or 0)
    assert texts[0].startswith("Booked! Viewing of") and "R-WJ-201" in texts[0] and "Wed 4 Mar, 10:00" in texts[0]
    assert texts[1] == "Done: your viewing is now on Thu 5 Mar, 14:00."
    assert "is cancelled" in texts[2] and "Thu 5 Mar, 14:00" in texts[2]
    async with any_sessions() as session:
        stored = await session.get(Viewing, viewing.id)
        agent_notes = (await session.scalars(select(StaffNotification.text).where(
            StaffNotification.staff_id == ids["agent"]).order_by(StaffNotification.id))).all()
        pending = (await session.scalars(select(Reminder).where(Reminder.subject_type == "viewing",
                                                                Reminder.status == "pending"))).all()
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()
    assert stored is not None and stored.status == "cancelled" and stored.cancelled_by == "staff"
    assert pending == []  # reminders and the survey withdrawn, as when the customer cancels
    assert len(agent_notes) == 3 and agent_notes[0].startswith("Desk Dai booked a viewing for")
    assert actions == ["viewing_book", "viewing_reschedule", "viewing_cancel"]
    async with workplace.open(Actor.staff(desk.id)) as work:  # the freed time can be booked again
        await on_behalf.book_viewing(work, other.id, ids["R-WJ-201"], local(5, 14))


async def test_a_message_goes_to_the_customers_channel(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions)
    workplace = workplace_for(any_sessions)
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        message = await on_behalf.send_message(work, ids["customer"], {"kind": "say", "text": "Keys are ready"},
                                               text="Keys are ready")
    assert message.staff_id == ids["desk"] and message.sender == "agent"
    assert await _outbox_texts(any_sessions, ids["chat"]) == ["Keys are ready"]
    with pytest.raises(OnBehalfError, match="the message is empty"):
        async with workplace.open(Actor.staff(ids["desk"])) as work:
            await on_behalf.send_message(work, ids["customer"], {"kind": "say", "text": ""}, text=" ")


async def _chat_with(sessions, agent_id: int, customer_id: int) -> int:
    async with sessions() as session, session.begin():
        customer = await session.get(factories.Customer, customer_id)
        conversation = await conversations.current(session, customer)
        await handoff.request_handoff(session, conversation, "asked")
        agent = await session.get(factories.Staff, agent_id)
        await handoff.take(session, conversation.id, agent)
        return conversation.id


async def test_a_chat_transferred_to_a_team_waits_for_that_team(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions)
    async with any_sessions() as session, session.begin():
        handler = await factories.staff(session, name="Sun Mei", role="service", team="complaints")
        outsider = await factories.staff(session, name="Liu Yang", role="service", team="property")
        other_agent = await factories.staff(session, name="Bea", role="agent", team="sales")
        other_agent.online_until = local(9, 0)
    conversation_id = await _chat_with(any_sessions, ids["desk"], ids["customer"])
    workplace = workplace_for(any_sessions)
    with pytest.raises(HandoffError, match="nobody else is in the repair team"):
        async with workplace.open(Actor.staff(ids["desk"])) as work:
            await handoff.transfer_to_team(work, conversation_id, "repair")
    async with workplace.open(Actor.staff(ids["desk"])) as work:
        await handoff.transfer_to_team(work, conversation_id, "complaints", "angry about the lift")
    async with any_sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        notes = (await session.scalars(select(StaffNotification).where(StaffNotification.staff_id == handler.id)
                                       )).all()
    assert conversation is not None and conversation.mode == "waiting" and conversation.team == "complaints"
    assert conversation.assignee_id is None
    assert len(notes) == 1 and "to your team (complaint team)" in notes[0].text and "angry about the lift" in \
        notes[0].text
    assert "complaint team" in (await _outbox_texts(any_sessions, ids["chat"]))[-1]
    # Auto-assignment leaves it to the team; an agent or another team cannot take it; the team member can.
    async with any_sessions() as session, session.begin():
        assert await handoff.auto_assign(session) == []
    for person in (other_agent.id, outsider.id):
        with pytest.raises(HandoffError, match="waiting for the complaints team"):
            async with workplace.open(Actor.staff(person)) as work:
                await handoff.take_over(work, conversation_id)
    async with workplace.open(Actor.staff(handler.id)) as work:
        taken = await handoff.take_over(work, conversation_id)
    assert taken.mode == "human" and taken.assignee_id == handler.id


async def test_service_staff_take_only_their_teams_chats(any_sessions, frozen_clock) -> None:
    ids = await _people(any_sessions)
    async with any_sessions() as session, session.begin():
        handler = await factories.staff(session, name="Sun Mei", role="service", team="complaints")
        customer = await session.get(factories.Customer, ids["customer"])
        conversation = await conversations.current(session, customer)
        await handoff.request_handoff(session, conversation, "asked")
    with pytest.raises(HandoffError, match="only active agents can take conversations"):
        async with workplace_for(any_sessions).open(Actor.staff(handler.id)) as work:
            await handoff.take_over(work, conversation.id)
