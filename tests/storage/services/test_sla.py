"""SLA clocks with a frozen clock: business hours, weekends, holidays, make-up workdays, pauses and breaches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialogs.reminders import tick
from storage.models import Holiday, Reminder, SlaPolicy, StaffNotification, Ticket
from storage.services import sla, tickets
from tests import factories
from tests.workplace import SETTINGS, workplace_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def calendar(exceptions: dict[date, bool] | None = None) -> sla.Calendar:
    return sla.Calendar.parse("09:00-18:00", "mon-fri", SHANGHAI, exceptions)


def test_business_minutes_skip_nights_and_weekends() -> None:
    cal = calendar()
    assert cal.add(local(2026, 3, 2, 9), 540) == local(2026, 3, 2, 18)
    assert cal.add(local(2026, 3, 2, 17), 120) == local(2026, 3, 3, 10)
    assert cal.add(local(2026, 3, 6, 17), 120) == local(2026, 3, 9, 10)  # Friday -> Monday
    assert cal.add(local(2026, 3, 7, 12), 30) == local(2026, 3, 9, 9, 30)  # asked on Saturday
    assert cal.add(local(2026, 3, 2, 20), 0) == local(2026, 3, 3, 9)  # after hours: the clock starts next morning
    assert cal.between(local(2026, 3, 6, 17), local(2026, 3, 9, 10)) == 120


def test_holidays_and_make_up_workdays() -> None:
    cal = calendar({date(2026, 3, 3): False, date(2026, 3, 7): True})
    assert not cal.is_workday(date(2026, 3, 3)) and cal.is_workday(date(2026, 3, 7))
    assert cal.add(local(2026, 3, 2, 17), 120) == local(2026, 3, 4, 10)  # Tuesday is a holiday
    assert cal.add(local(2026, 3, 6, 17), 120) == local(2026, 3, 7, 10)  # Saturday is a make-up workday
    assert cal.between(local(2026, 3, 2, 9), local(2026, 3, 5, 9)) == 2 * 540


def test_business_days_parse_lists_and_ranges() -> None:
    assert calendar().days == frozenset(range(5))
    assert sla.Calendar.parse("09:00-18:00", "mon,wed,sat", SHANGHAI).days == frozenset({0, 2, 5})


async def _repair(session, priority: str = "normal", category: str = "plumbing") -> Ticket:
    person = await factories.customer(session)
    return await tickets.create_ticket(session, kind="repair", category=category, customer_id=person.id,
                                       priority=priority, description="x", settings=SETTINGS)


async def test_default_deadlines_in_business_days(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        ticket = await _repair(session)
        assert ticket.first_response_due_at == local(2026, 3, 2, 18)
        assert ticket.resolve_due_at == local(2026, 3, 10, 18)  # 7 business days
        complaint = await tickets.create_ticket(session, kind="complaint", category="other",
                                                customer_id=ticket.customer_id, settings=SETTINGS)
        assert complaint.resolve_due_at == local(2026, 3, 4, 18)  # 3 business days
        emergency = await _repair(session, priority="emergency")
        assert emergency.first_response_due_at == frozen_clock.now() + timedelta(hours=1)
        assert emergency.resolve_due_at == frozen_clock.now() + timedelta(hours=24)  # around the clock


async def test_holiday_table_and_admin_policy(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        session.add(Holiday(day=date(2026, 3, 3), name="test holiday", is_workday=False))
        session.add(SlaPolicy(kind="repair", category="electrical", priority=None, first_response_minutes=120,
                              resolve_minutes=540, business_hours=True))
        await session.flush()
        plumbing = await _repair(session)
        electrical = await _repair(session, category="electrical")
    assert plumbing.resolve_due_at == local(2026, 3, 11, 18)  # one day later because of the holiday
    assert electrical.first_response_due_at == local(2026, 3, 2, 11)
    assert electrical.resolve_due_at == local(2026, 3, 2, 18)


async def test_waiting_for_the_customer_pauses_the_clock(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        ticket = await _repair(session)
        frozen_clock.set(local(2026, 3, 2, 10).astimezone(UTC))
        await tickets.change_status(session, ticket, "waiting_customer", staff=tech, settings=SETTINGS)
        calendar = await sla.load_calendar(session, SETTINGS)
        before = await sla.status(session, ticket, None, calendar)
        frozen_clock.set(local(2026, 3, 3, 10).astimezone(UTC))
        during = await sla.status(session, ticket, None, calendar)
        assert during["resolution"].paused and during["resolution"].minutes_left == before["resolution"].minutes_left
        await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)
    # Waited Monday 10-18 and Tuesday 9-10: 540 business minutes added to the resolution deadline.
    assert ticket.resolve_due_at == local(2026, 3, 11, 18)
    assert ticket.sla_paused_at is None
    assert ticket.first_response_due_at == local(2026, 3, 2, 18)  # already answered, not shifted


async def test_scan_warns_at_80_percent_then_records_breach_once(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        lead = await factories.staff(session, name="Lead", lead=True)
        tech = await factories.staff(session, name="Tech", chat_id=777)
        ticket = await _repair(session, priority="emergency")
        ticket.assignee_id = tech.id  # assigned without a first response yet
        ticket_id = ticket.id
    frozen_clock.advance(minutes=50)
    await tick(workplace_for(sessions))
    async with sessions() as session:
        kinds = [(r.kind, r.recipient_staff_id) for r in (await session.scalars(select(Reminder))).all()]
    assert ("sla_80", tech.id) in kinds and not any(k == "sla_breach" for k, _ in kinds)
    frozen_clock.advance(minutes=15)
    await tick(workplace_for(sessions))
    await tick(workplace_for(sessions))  # repeated ticks do not repeat the alert
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        breaches = (await session.scalars(select(Reminder).where(Reminder.kind == "sla_breach"))).all()
        notes = (await session.scalars(select(StaffNotification).where(StaffNotification.staff_id == lead.id))).all()
    assert ticket.first_response_breached and not ticket.resolution_breached
    assert sorted(r.recipient_staff_id for r in breaches) == sorted([tech.id, lead.id])
    assert all(r.status == "sent" for r in breaches)
    assert len([n for n in notes if "missed" in n.text]) == 1
