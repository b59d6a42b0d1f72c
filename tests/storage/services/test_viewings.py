"""Free slots, booking, reschedule, cancel and outcomes, on every database backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage.models import Customer, Listing, StaffTimeOff, Viewing, ViewingSlot
from storage.services import viewings
from tests.journey_data import seed
from tests.workplace import SETTINGS

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def _customers(sessions, count: int = 2) -> list[int]:
    async with sessions() as session, session.begin():
        rows = [Customer(telegram_user_id=5000 + i, chat_id=5000 + i, first_name=f"C{i}") for i in range(count)]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def test_free_slots_follow_working_hours_lead_time_and_time_off(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    async with any_sessions() as session, session.begin():
        session.add(StaffTimeOff(staff_id=ids["agent"], starts_at=local(3, 9), ends_at=local(3, 12)))
    async with any_sessions() as session:
        monday = await viewings.free_slots(session, ids["agent"], on_day=date(2026, 3, 2), settings=SETTINGS)
        tuesday = await viewings.free_slots(session, ids["agent"], on_day=date(2026, 3, 3), settings=SETTINGS)
        sunday = await viewings.free_slots(session, ids["agent"], on_day=date(2026, 3, 8), settings=SETTINGS)
        days = await viewings.free_days(session, ids["agent"], settings=SETTINGS)
    # Now is Monday 09:00: the first slot is an hour later, lunch is free, the last starts 17:30.
    assert monday[0] == local(2, 10) and local(2, 12) not in monday and local(2, 12, 30) not in monday
    assert monday[-1] == local(2, 17, 30) and local(2, 13) in monday
    assert tuesday[0] == local(3, 13)  # the morning is time off
    assert sunday == []
    assert len(days) == 12 and date(2026, 3, 8) not in days and days[-1] == date(2026, 3, 14)


async def test_booking_blocks_the_slot_and_its_travel_buffer(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    (customer,) = await _customers(any_sessions, 1)
    async with any_sessions() as session, session.begin():
        viewing = await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=customer,
                                      starts_at=local(4, 10), settings=SETTINGS)
        assert viewing.agent_id == ids["agent"] and viewing.ends_at - viewing.starts_at == timedelta(minutes=30)
    async with any_sessions() as session:
        slots = await viewings.free_slots(session, ids["agent"], on_day=date(2026, 3, 4), settings=SETTINGS)
        rows = await session.scalar(select(func.count()).select_from(ViewingSlot))
    # 30 minutes of viewing + 30 of buffer = four 15-minute blocks; 09:30 would run into 10:00's block.
    assert rows == 4
    assert local(4, 10) not in slots and local(4, 10, 30) not in slots and local(4, 9, 30) not in slots
    assert local(4, 9) in slots and local(4, 11) in slots


async def test_a_taken_or_unworked_time_cannot_be_booked(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    first, second = await _customers(any_sessions)
    async with any_sessions() as session, session.begin():
        await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=first, starts_at=local(4, 10),
                            settings=SETTINGS)
    async with any_sessions() as session, session.begin():
        with pytest.raises(viewings.SlotTaken):
            await viewings.book(session, listing_id=ids["S-HD-301"], customer_id=second, starts_at=local(4, 10, 30),
                                settings=SETTINGS)
        with pytest.raises(viewings.SlotTaken):
            await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=second, starts_at=local(8, 10),
                                settings=SETTINGS)


async def test_concurrent_double_booking_exactly_one_wins(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    customers = await _customers(any_sessions, 2)
    gate = asyncio.Event()

    async def attempt(customer_id: int) -> str:
        async with any_sessions() as session:
            try:
                async with session.begin():
                    # Both read the slot as free before either writes: the database must decide.
                    assert local(5, 15) in await viewings.free_slots(session, ids["agent"], on_day=date(2026, 3, 5),
                                                                     settings=SETTINGS)
                    await asyncio.sleep(0)
                    await gate.wait()
                    await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=customer_id,
                                        starts_at=local(5, 15), settings=SETTINGS)
                return "won"
            except viewings.SlotTaken:
                return "taken"

    tasks = [asyncio.create_task(attempt(c)) for c in customers]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert sorted(results) == ["taken", "won"]
    async with any_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Viewing)) == 1


async def test_reschedule_frees_the_old_time_and_cancel_frees_everything(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    (customer,) = await _customers(any_sessions, 1)
    async with any_sessions() as session, session.begin():
        viewing = await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=customer,
                                      starts_at=local(4, 10), settings=SETTINGS)
        viewing_id = viewing.id
    async with any_sessions() as session, session.begin():
        # Half an hour later overlaps its own blocks: allowed, because they are its own.
        change = await viewings.reschedule(session, viewing_id, local(4, 10, 30), settings=SETTINGS)
        assert change.previous_start == local(4, 10)
    async with any_sessions() as session:
        slots = await viewings.free_slots(session, ids["agent"], on_day=date(2026, 3, 4), settings=SETTINGS)
        assert local(4, 9) in slots and local(4, 10, 30) not in slots and local(4, 11, 30) in slots
    async with any_sessions() as session, session.begin():
        change = await viewings.cancel(session, viewing_id)
        assert change.viewing.status == "cancelled" and change.viewing.cancelled_by == "customer"
    async with any_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ViewingSlot)) == 0
        with pytest.raises(viewings.ViewingError):
            await viewings.cancel(session, viewing_id)


async def test_outcome_only_after_the_viewing(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    (customer,) = await _customers(any_sessions, 1)
    async with any_sessions() as session, session.begin():
        viewing = await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=customer,
                                      starts_at=local(2, 14), settings=SETTINGS)
        with pytest.raises(viewings.ViewingError):
            await viewings.record_outcome(session, viewing.id, "offer")
    frozen_clock.set(local(2, 15))
    async with any_sessions() as session, session.begin():
        viewing = await viewings.record_outcome(session, viewing.id, "offer")
        assert (viewing.status, viewing.outcome) == ("done", "offer")
        with pytest.raises(viewings.ViewingError):
            await viewings.record_outcome(session, viewing.id, "maybe")


async def test_reminders_are_scheduled_moved_and_cancelled_with_the_viewing(sessions, frozen_clock) -> None:
    from storage.models import Reminder

    ids = await seed(sessions)
    first, second = await _customers(sessions)
    async with sessions() as session, session.begin():
        soon = await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=first, starts_at=local(2, 10),
                                   settings=SETTINGS)
        later = await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=second, starts_at=local(4, 10),
                                    settings=SETTINGS)
    async with sessions() as session:
        rows = (await session.scalars(select(Reminder).order_by(Reminder.id))).all()
    by_viewing = {v: sorted((r.kind, r.recipient_staff_id is not None) for r in rows if r.subject_id == v)
                  for v in (soon.id, later.id)}
    # Booked an hour ahead: the 1 h reminders go at once (due now), there is no separate 24 h one.
    assert by_viewing[soon.id] == [("survey", False), ("viewing_1h", False), ("viewing_1h", True),
                                   ("viewing_interest", False)]
    assert all(r.due_at == frozen_clock.now() for r in rows if r.subject_id == soon.id and r.kind == "viewing_1h")
    assert by_viewing[later.id] == [("survey", False), ("viewing_1h", False), ("viewing_1h", True),
                                    ("viewing_24h", False), ("viewing_24h", True), ("viewing_interest", False)]
    payload = next(r.payload for r in rows if r.subject_id == later.id and r.kind == "viewing_24h")
    assert payload["listing"] == "R-WJ-201" and payload["agent"] == "Wang Li" and "Wangjing" in payload["address"]
    survey_reminder = next(r for r in rows if r.subject_id == later.id and r.kind == "survey")
    assert survey_reminder.due_at == local(4, 11, 30)
    assert {r.due_at for r in rows if r.subject_id == later.id and r.kind == "viewing_24h"} == {local(3, 10)}
    async with sessions() as session, session.begin():
        await viewings.reschedule(session, later.id, local(4, 15), settings=SETTINGS)
        await viewings.cancel(session, soon.id)
    async with sessions() as session:
        pending = (await session.scalars(select(Reminder).where(Reminder.status == "pending"))).all()
    assert {r.subject_id for r in pending} == {later.id}
    assert {r.due_at for r in pending if r.kind == "viewing_1h"} == {local(4, 14)}
    async with sessions() as session:
        from storage.models import Survey

        assert [s.subject_id for s in (await session.scalars(select(Survey))).all()] == [later.id]


async def test_a_listing_without_an_agent_goes_to_the_least_booked_agent(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    first, second = await _customers(any_sessions)
    async with any_sessions() as session, session.begin():
        # Two upcoming bookings for the first agent, none for the second (lower id first would pick the first).
        await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=first, starts_at=local(4, 10),
                            agent_id=ids["agent"], settings=SETTINGS)
        await viewings.book(session, listing_id=ids["R-WJ-201"], customer_id=second, starts_at=local(4, 14),
                            agent_id=ids["agent"], settings=SETTINGS)
        listing = await session.get(Listing, ids["S-HD-301"])
        assert listing is not None
        listing.agent_id = None
        chosen = await viewings.agent_for_listing(session, listing, settings=SETTINGS)
        assert chosen is not None and chosen.id == ids["agent2"]
        # A cancelled booking no longer counts: with equal loads the lower id wins again.
        for viewing in (await session.scalars(select(Viewing).where(Viewing.agent_id == ids["agent"]))).all():
            await viewings.cancel(session, viewing.id, by="agent")
        chosen = await viewings.agent_for_listing(session, listing, settings=SETTINGS)
        assert chosen is not None and chosen.id == ids["agent"]
