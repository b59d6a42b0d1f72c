"""The reminder tick: night deferral in the recipient's zone, cancellation, once-only delivery across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dialogs import reminders as tick_module
from dialogs.reminders import tick
from dialogs.replies import reply_from_payload
from storage.db import create_engine, session_factory
from storage.events import EventBus
from storage.models import OutboxMessage, Reminder, StaffNotification
from storage.services import reminders, tickets
from tests import factories
from tests.dbutil import sqlite_url
from tests.workplace import SETTINGS, workplace_for


async def _outbox(sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_staff_reminder_goes_to_telegram_and_console_with_event(sessions, frozen_clock) -> None:
    bus = EventBus()
    async with sessions() as session, session.begin():
        tech = await factories.staff(session, chat_id=4242, language="zh")
        await reminders.schedule(session, kind="ticket_assigned", due_at=frozen_clock.now(),
                                 recipient_staff_id=tech.id, subject_type="ticket", subject_id=9,
                                 payload={"number": "R-2026-000009", "category": "plumbing", "priority": "normal"},
                                 settings=SETTINGS)
    async with bus.subscribe() as queue:
        assert await tick(workplace_for(sessions, bus)) == 1
        event = queue.get_nowait()
    assert event.kind == "notification.new" and event.data["staff_id"] == tech.id
    rows = await _outbox(sessions)
    assert [r.chat_id for r in rows] == [4242]
    assert "R-2026-000009" in reply_from_payload(rows[0].payload).text and "水管" in rows[0].payload["text"]
    async with sessions() as session:
        note = await session.scalar(select(StaffNotification))
    assert note.link == "/tickets/9"


async def test_night_deferral_waits_for_the_recipients_morning(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        person = await factories.customer(session)
        row = await reminders.schedule(session, kind="message", due_at=frozen_clock.now(),
                                       recipient_customer_id=person.id, payload={"text": "hello"}, settings=SETTINGS)
        row.due_at = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 21:00 Shanghai, as if the tick ran late
    frozen_clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # 22:30 in Shanghai
    assert await tick(workplace_for(sessions)) == 0
    async with sessions() as session:
        waiting = await session.scalar(select(Reminder))
    assert waiting.status == "pending" and waiting.due_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00
    frozen_clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    assert await tick(workplace_for(sessions)) == 1
    assert len(await _outbox(sessions)) == 1


async def test_closing_a_ticket_cancels_its_reminders(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="complaint", category="other", customer_id=person.id,
                                             settings=SETTINGS)
        await reminders.schedule(session, kind="sla_80", due_at=frozen_clock.now() + timedelta(hours=2),
                                 recipient_staff_id=tech.id, subject_type="ticket", subject_id=ticket.id,
                                 settings=SETTINGS)
        await tickets.change_status(session, ticket, "cancelled", staff=tech, settings=SETTINGS)
        statuses = (await session.scalars(select(Reminder.status).where(Reminder.kind == "sla_80"))).all()
    assert statuses == ["cancelled"]
    frozen_clock.advance(hours=3)
    await tick(workplace_for(sessions))
    assert all(r.staff_id is None for r in await _outbox(sessions))


async def test_expired_reminder_is_dropped_not_sent(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        person = await factories.customer(session)
        await reminders.schedule(session, kind="viewing_1h", due_at=frozen_clock.now(), quiet_hours=False,
                                 recipient_customer_id=person.id, expires_at=frozen_clock.now() + timedelta(minutes=30),
                                 payload={"starts_at": frozen_clock.now().isoformat(), "address": "A"},
                                 settings=SETTINGS)
    frozen_clock.advance(minutes=45)  # the process was down until after the viewing began
    assert await tick(workplace_for(sessions)) == 0
    async with sessions() as session:
        assert await session.scalar(select(Reminder.status)) == "cancelled"


async def test_a_crash_mid_tick_sends_nothing_and_a_restart_sends_once(sessions, tmp_path, frozen_clock,
                                                                       monkeypatch) -> None:
    async with sessions() as session, session.begin():
        for n in range(5):
            person = await factories.customer(session)
            await reminders.schedule(session, kind="message", due_at=frozen_clock.now(),
                                     recipient_customer_id=person.id, payload={"text": f"check-in {n}"},
                                     settings=SETTINGS)
    real_deliver = tick_module._deliver

    async def crash_after_rendering(*args, **kwargs):
        await real_deliver(*args, **kwargs)
        raise RuntimeError("process killed")

    monkeypatch.setattr(tick_module, "_deliver", crash_after_rendering)
    with pytest.raises(RuntimeError):
        await tick(workplace_for(sessions))
    assert await _outbox(sessions) == []  # rolled back with the claim
    monkeypatch.setattr(tick_module, "_deliver", real_deliver)

    # A new process: its own engine on the same database file.
    engine = create_engine(sqlite_url(tmp_path))
    try:
        restarted = session_factory(engine)
        assert await tick(workplace_for(restarted), worker="second") == 5
        assert await tick(workplace_for(restarted), worker="second") == 0
        assert await tick(workplace_for(sessions), worker="first") == 0
        async with restarted() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 5
            assert set((await session.scalars(select(Reminder.status))).all()) == {"sent"}
    finally:
        await engine.dispose()


async def test_unanswered_resolution_closes_after_three_days_and_the_survey_follows(sessions, frozen_clock) -> None:
    from storage.models import Survey, Ticket

    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="repair", category="other", customer_id=person.id,
                                             settings=SETTINGS)
        await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)
        await tickets.change_status(session, ticket, "resolved", staff=tech, settings=SETTINGS)
        ticket_id = ticket.id
    frozen_clock.advance(days=2)
    await tick(workplace_for(sessions))
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).status == "resolved"
    frozen_clock.advance(days=1, hours=1)
    await tick(workplace_for(sessions))
    async with sessions() as session:
        assert (await session.get(Ticket, ticket_id)).status == "closed"
        assert await session.scalar(select(Survey.subject_id)) == ticket_id
        sent = (await session.scalars(select(Reminder.kind).where(Reminder.status == "sent"))).all()
    assert "survey" in sent


async def test_customers_waiting_too_long_alert_the_leads_once(sessions, frozen_clock) -> None:
    from storage.models import Conversation
    from storage.services import handoff

    async with sessions() as session, session.begin():
        lead = await factories.staff(session, lead=True, chat_id=555)
        person = await factories.customer(session)
        conversation = Conversation(customer_id=person.id, status="open", mode="bot", slots={})
        session.add(conversation)
        await session.flush()
        await handoff.request_handoff(session, conversation, "asked")
    frozen_clock.advance(minutes=5)
    await tick(workplace_for(sessions))
    frozen_clock.advance(minutes=6)
    await tick(workplace_for(sessions))
    await tick(workplace_for(sessions))
    rows = [r for r in await _outbox(sessions) if r.chat_id == 555]
    assert len(rows) == 1 and "waiting for a person for 10 minutes" in rows[0].payload["text"]
    assert lead.id == rows[0].staff_id
