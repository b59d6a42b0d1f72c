"""Reminder rows: scheduling, night deferral, dedupe, cancellation and atomic claims on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Reminder
from storage.services import reminders
from tests import factories
from tests.workplace import SETTINGS


async def test_schedule_dedupes_and_defers_night(any_sessions, frozen_clock) -> None:
    async with any_sessions() as session, session.begin():
        person = await factories.customer(session)
        # 22:30 Shanghai is inside the default quiet hours 21:00-08:00: moved to 08:00 next morning.
        night = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
        first = await reminders.schedule(session, kind="revisit", due_at=night, recipient_customer_id=person.id,
                                         dedupe_key="k1", settings=SETTINGS)
        again = await reminders.schedule(session, kind="revisit", due_at=night, recipient_customer_id=person.id,
                                         dedupe_key="k1", settings=SETTINGS)
    assert first is not None and again is None
    assert first.due_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


async def test_staff_time_zone_decides_the_night(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        tech = await factories.staff(session, timezone="Europe/London")
        # 14:30 UTC is 22:30 in Shanghai but 14:30 in London: not night for this person.
        at = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
        row = await reminders.schedule(session, kind="ticket_assigned", due_at=at, recipient_staff_id=tech.id,
                                       settings=SETTINGS)
    assert row is not None and row.due_at == at


async def test_expired_reminders_are_not_created(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        person = await factories.customer(session)
        gone = await reminders.schedule(session, kind="viewing_24h", due_at=frozen_clock.now() - timedelta(hours=5),
                                        recipient_customer_id=person.id, expires_at=frozen_clock.now(),
                                        settings=SETTINGS)
        asap = await reminders.schedule(session, kind="viewing_24h", due_at=frozen_clock.now() - timedelta(hours=5),
                                        recipient_customer_id=person.id,
                                        expires_at=frozen_clock.now() + timedelta(hours=3), settings=SETTINGS)
    assert gone is None
    assert asap is not None and asap.due_at == frozen_clock.now()


async def test_cancel_for_subject(any_sessions, frozen_clock) -> None:
    async with any_sessions() as session, session.begin():
        person = await factories.customer(session)
        for kind in ("viewing_24h", "viewing_1h"):
            await reminders.schedule(session, kind=kind, due_at=frozen_clock.now() + timedelta(hours=2),
                                     recipient_customer_id=person.id, subject_type="viewing", subject_id=7,
                                     settings=SETTINGS)
        await reminders.schedule(session, kind="viewing_1h", due_at=frozen_clock.now() + timedelta(hours=2),
                                 recipient_customer_id=person.id, subject_type="viewing", subject_id=8,
                                 settings=SETTINGS)
        assert await reminders.cancel_for(session, "viewing", 7) == 2
        assert len(await reminders.pending_for(session, "viewing", 8)) == 1


async def test_concurrent_claims_never_share_a_row(any_sessions, frozen_clock) -> None:
    async with any_sessions() as session, session.begin():
        person = await factories.customer(session)
        for n in range(60):
            await reminders.schedule(session, kind="revisit", due_at=frozen_clock.now(),
                                     recipient_customer_id=person.id, dedupe_key=f"c{n}", settings=SETTINGS)

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        while True:
            async with any_sessions() as session, session.begin():
                rows = await reminders.claim_due(session, worker=name, limit=7)
                await reminders.mark_sent(session, rows)
            if not rows:
                return got
            got += [r.id for r in rows]

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
    everything = [i for ids in results for i in ids]
    assert len(everything) == 60 and len(set(everything)) == 60
    async with any_sessions() as session:
        statuses = set((await session.scalars(select(Reminder.status))).all())
    assert statuses == {"sent"}


async def test_stale_claim_is_taken_over_after_the_lease(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        person = await factories.customer(session)
        await reminders.schedule(session, kind="revisit", due_at=frozen_clock.now(), recipient_customer_id=person.id,
                                 settings=SETTINGS)
    async with sessions() as session, session.begin():
        assert len(await reminders.claim_due(session, worker="dead")) == 1  # committed, then the worker died
    async with sessions() as session, session.begin():
        assert await reminders.claim_due(session, worker="alive") == []
    frozen_clock.advance(minutes=6)
    async with sessions() as session, session.begin():
        rows = await reminders.claim_due(session, worker="alive")
    assert [r.claimed_by for r in rows] == ["alive"]
