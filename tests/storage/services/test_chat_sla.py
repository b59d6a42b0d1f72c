"""Consultations have a deadline too: every chat waiting for staff gets a first-response deadline (one business
day), a later unanswered message in an answered chat starts the clock again, a promise of an answer pauses it,
and breaches remind the lead (frozen clock: Monday 2026-03-02 09:00 Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dialogs.reminders import tick
from storage.db import transaction
from storage.models import ChatWait, Conversation, Message, Reminder, StaffNotification
from storage.services import handoff, sla
from storage.services.handoff import HandoffError
from tests import factories
from tests.dialogs.helpers import FakeCustomer
from tests.workplace import SETTINGS, staff_work, workplace_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def _waits(sessions) -> list[ChatWait]:
    async with sessions() as session:
        return list((await session.scalars(select(ChatWait).order_by(ChatWait.id))).all())


async def test_a_waiting_chat_breaches_and_the_lead_is_reminded(any_sessions, frozen_clock) -> None:
    sessions = any_sessions
    async with transaction(sessions) as session:
        lead = await factories.staff(session, name="Lena Lead", role="agent", team="sales", lead=True)
        other_lead = await factories.staff(session, name="Rex Repair", role="service", team="repair", lead=True)
    customer = FakeCustomer(sessions, user_id=7101)
    await customer.command("human")
    [wait] = await _waits(sessions)
    assert (wait.channel, wait.topic, wait.team) == ("telegram", "general", "sales")
    assert wait.started_at == local(2026, 3, 2, 9) and wait.due_at == local(2026, 3, 2, 18)  # one business day

    workplace = workplace_for(sessions)
    frozen_clock.set(local(2026, 3, 2, 16, 30).astimezone(UTC))  # 7.5 of 9 business hours: past 80 %
    await tick(workplace)
    frozen_clock.set(local(2026, 3, 2, 18, 1).astimezone(UTC))
    await tick(workplace)
    await tick(workplace)  # once per wait and deadline
    frozen_clock.set(local(2026, 3, 3, 8, 30).astimezone(UTC))  # the night's reminders arrive after quiet hours
    await tick(workplace)
    async with sessions() as session:
        kinds = [(r.kind, r.recipient_staff_id) for r in (await session.scalars(
            select(Reminder).where(Reminder.kind.like("chat_%")).order_by(Reminder.id))).all()]
        notes = (await session.scalars(select(StaffNotification).where(
            StaffNotification.staff_id == lead.id, StaffNotification.text.like("%first-response%"))
            .order_by(StaffNotification.id))).all()
    assert kinds == [("chat_sla_80", lead.id), ("chat_sla_breach", lead.id)]  # the sales lead, not repair's
    assert other_lead.id not in {staff_id for _, staff_id in kinds}
    assert "80% of the first-response time" in notes[0].text
    assert "past the first-response deadline" in notes[1].text and notes[1].link.startswith("/conversations/")
    [wait] = await _waits(sessions)
    assert wait.breached and wait.answered_at is None


async def test_a_later_unanswered_message_starts_the_clock_again(sessions, frozen_clock) -> None:
    async with transaction(sessions) as session:
        agent = await factories.staff(session, name="Amy Agent", role="agent", team="sales")
    customer = FakeCustomer(sessions, user_id=7102)
    await customer.command("human")
    async with sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    frozen_clock.advance(minutes=20)
    async with transaction(sessions) as session:
        await handoff.take_over(staff_work(session, agent.id), conversation_id)
    frozen_clock.advance(minutes=10)
    async with transaction(sessions) as session:
        await handoff.agent_reply(staff_work(session, agent.id), conversation_id, {"kind": "say", "text": "Hello"},
                                  text="Hello")
    [first] = await _waits(sessions)
    assert first.answered_at == local(2026, 3, 2, 9, 30) and first.answered_by == agent.id
    assert not first.breached

    frozen_clock.advance(hours=1)
    await customer.text("And the parking?")
    await customer.text("Hello?")  # still the same wait
    await customer.press("menu:main")  # self-service buttons do not start the clock
    waits = await _waits(sessions)
    assert len(waits) == 2 and waits[1].started_at == local(2026, 3, 2, 10, 30) and waits[1].answered_at is None
    assert waits[1].team == "sales" and waits[1].topic == "general"

    frozen_clock.advance(minutes=5)
    async with transaction(sessions) as session:
        await handoff.close(staff_work(session, agent.id), conversation_id)
    waits = await _waits(sessions)
    assert waits[1].ended_how == "closed" and waits[1].answered_at is None


async def test_promising_an_answer_pauses_the_clock(any_sessions, frozen_clock) -> None:
    sessions = any_sessions
    async with transaction(sessions) as session:
        agent = await factories.staff(session, name="Amy Agent", role="agent", team="sales")
        service = await factories.staff(session, name="Sam", role="service", team="repair")
    customer = FakeCustomer(sessions, user_id=7103)
    await customer.command("human")
    async with sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    async with transaction(sessions) as session:
        with pytest.raises(HandoffError):  # service staff do not answer chats
            await handoff.promise_answer(staff_work(session, service.id), conversation_id, date(2026, 3, 4))
    async with transaction(sessions) as session:
        with pytest.raises(HandoffError, match="future"):
            await handoff.promise_answer(staff_work(session, agent.id), conversation_id, date(2026, 3, 1))
    frozen_clock.advance(hours=2)  # 11:00, 7 business hours left
    async with transaction(sessions) as session:
        await handoff.promise_answer(staff_work(session, agent.id), conversation_id, date(2026, 3, 4))
    [wait] = await _waits(sessions)
    assert wait.paused_at == local(2026, 3, 2, 11) and wait.promised_at == local(2026, 3, 4, 18)
    async with sessions() as session:
        told = (await session.scalars(select(Message).where(Message.sender == "system"))).all()
    assert "you will have an answer here by Wed 4 Mar, 18:00" in told[-1].text

    workplace = workplace_for(sessions)
    frozen_clock.set(local(2026, 3, 3, 17).astimezone(UTC))  # past the original deadline, but paused
    await tick(workplace)
    assert not (await _waits(sessions))[0].breached
    frozen_clock.set(local(2026, 3, 4, 18, 5).astimezone(UTC))  # the promised day passed unanswered: it runs again
    await tick(workplace)
    [wait] = await _waits(sessions)
    # 7 business hours were left when it stopped (Mon 11:00); they run from the promised time: Thu 16:00
    assert wait.paused_at is None and wait.due_at == local(2026, 3, 5, 16) and not wait.breached
    frozen_clock.set(local(2026, 3, 5, 16, 1).astimezone(UTC))
    await tick(workplace)
    assert (await _waits(sessions))[0].breached


async def test_a_chat_policy_sets_the_deadline_per_channel(sessions, frozen_clock) -> None:
    async with transaction(sessions) as session:
        await sla.upsert_policy(session, kind="chat", category="web", priority=None, first_response_minutes=60,
                                resolve_minutes=600, business_hours=True)
    web = FakeCustomer(sessions, user_id=7104, channel="web")
    await web.command("human")
    telegram = FakeCustomer(sessions, user_id=7105)
    await telegram.command("human")
    waits = await _waits(sessions)
    assert [(w.channel, w.due_at) for w in waits] == [("web", local(2026, 3, 2, 10)),
                                                      ("telegram", local(2026, 3, 2, 18))]
    assert SETTINGS.sla_business_hours == "09:00-18:00"
    assert waits[0].started_at + timedelta(hours=1) == waits[0].due_at


async def test_a_team_without_a_lead_falls_to_the_admins(sessions, frozen_clock) -> None:
    async with transaction(sessions) as session:
        admin = await factories.staff(session, name="Ada", role="admin", team=None)
        await factories.staff(session, name="Rex", role="service", team="repair", lead=True)
    customer = FakeCustomer(sessions, user_id=7106)
    await customer.command("human")
    frozen_clock.set(local(2026, 3, 2, 18, 1).astimezone(UTC))
    await tick(workplace_for(sessions))
    async with sessions() as session:
        breaches = (await session.scalars(select(Reminder).where(Reminder.kind == "chat_sla_breach"))).all()
    assert [r.recipient_staff_id for r in breaches] == [admin.id]
