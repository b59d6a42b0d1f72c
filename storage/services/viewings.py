"""Viewing slots and bookings: one rule for the bot and the console.

Free slots are the agent's working hours (Staff.working_hours, in the agent's or the company's time zone)
minus existing bookings, minus the travel buffer around them, minus time off, over the next 14 days.

A booking occupies a run of BLOCK_MINUTES blocks from its start to the end of its travel buffer, one
ViewingSlot row per block. Because every booking also blocks its own trailing buffer, two bookings can only
coexist when the gap between them is at least the buffer, and the primary key (agent_id, slot_start) makes
the database refuse a second booking of an occupied block, even when two customers press at the same moment.

Functions work inside the caller's transaction; callers commit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Listing, Staff, StaffTimeOff, Survey, Viewing, ViewingSlot
from storage.services import reminders, surveys
from storage.settings import Settings
from storage.vocabulary import StaffRole

VIEWING_MINUTES = 30
BLOCK_MINUTES = 15
SLOT_STEP_MINUTES = 30  # offered start times are on the hour and the half hour
HORIZON_DAYS = 14
MIN_LEAD = timedelta(hours=1)  # nobody can be at a flat in five minutes
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# What an agent can record after a viewing, and the status/outcome each leaves behind.
OUTCOMES: dict[str, tuple[str, str | None]] = {
    "done": ("done", None),
    "no_show": ("no_show", None),
    "interested": ("done", "interested"),
    "offer": ("done", "offer"),
    "not_interested": ("done", "not_interested"),
    "signed": ("done", "signed"),  # a contract was signed: the console goes on to the new deal (storage.services.deals)
}


class ViewingError(Exception):
    """The change is not allowed (past, cancelled, outside working hours...); the message says why."""


class SlotTaken(ViewingError):
    """Someone else booked an overlapping time first."""


@dataclass(frozen=True)
class Change:
    """What a booking change did, for callers that notify people."""

    viewing: Viewing
    previous_start: datetime | None = None


def agent_timezone(agent: Staff, company: ZoneInfo) -> ZoneInfo:
    """The agent's own zone, else the company's (TIMEZONE)."""
    try:
        return ZoneInfo(agent.timezone) if agent.timezone else company
    except (ValueError, KeyError):
        return company


def blocks_for(starts_at: datetime, buffer_minutes: int) -> list[datetime]:
    """Block starts a viewing at `starts_at` occupies: the viewing itself plus the travel buffer after it."""
    count = math.ceil((VIEWING_MINUTES + max(buffer_minutes, 0)) / BLOCK_MINUTES)
    first = _floor_block(starts_at)
    return [first + timedelta(minutes=BLOCK_MINUTES * i) for i in range(count)]


def _floor_block(at: datetime) -> datetime:
    at = at.astimezone(UTC).replace(second=0, microsecond=0)
    return at - timedelta(minutes=at.minute % BLOCK_MINUTES)


def _working_intervals(agent: Staff, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    out = []
    for pair in (agent.working_hours or {}).get(WEEKDAYS[day.weekday()], []) or []:
        try:
            opens, closes = time.fromisoformat(pair[0]), time.fromisoformat(pair[1])
        except (ValueError, TypeError, IndexError):
            continue  # a malformed entry is skipped rather than taking booking down
        start = datetime.combine(day, opens, tz).astimezone(UTC)
        end = datetime.combine(day, closes, tz).astimezone(UTC)
        if end > start:
            out.append((start, end))
    return out


async def free_slots(
    session: AsyncSession,
    agent_id: int,
    *,
    now: datetime | None = None,
    days: int = HORIZON_DAYS,
    on_day: date | None = None,
    ignore_viewing_id: int | None = None,
    ignore_bookings: bool = False,
    settings: Settings,
) -> list[datetime]:
    """Start times (UTC) a viewing can be booked at, soonest first; `on_day` limits to one local day.

    `ignore_viewing_id` treats that viewing's own blocks as free (when it is being rescheduled);
    `ignore_bookings` treats every booking as free (the times the agent works and is not away).
    """
    agent = await session.get(Staff, agent_id)
    if agent is None or not agent.is_active:
        return []
    now = now or clock.now()
    tz = agent_timezone(agent, settings.tz)
    today = now.astimezone(tz).date()
    horizon_end = datetime.combine(today + timedelta(days=days), time(0), tz).astimezone(UTC)
    taken_query = select(ViewingSlot.slot_start).where(
        ViewingSlot.agent_id == agent_id, ViewingSlot.slot_start >= now - timedelta(days=1),
        ViewingSlot.slot_start < horizon_end + timedelta(days=1),
    )
    if ignore_viewing_id is not None:
        taken_query = taken_query.where(ViewingSlot.viewing_id != ignore_viewing_id)
    taken = set() if ignore_bookings else {_floor_block(at) for at in (await session.scalars(taken_query)).all()}
    time_off = (
        await session.execute(
            select(StaffTimeOff.starts_at, StaffTimeOff.ends_at).where(
                StaffTimeOff.staff_id == agent_id, StaffTimeOff.ends_at > now, StaffTimeOff.starts_at < horizon_end
            )
        )
    ).all()
    earliest = now + MIN_LEAD
    step = timedelta(minutes=SLOT_STEP_MINUTES)
    length = timedelta(minutes=VIEWING_MINUTES)
    slots: list[datetime] = []
    day_range = [on_day] if on_day is not None else [today + timedelta(days=i) for i in range(days)]
    for day in day_range:
        if not today <= day < today + timedelta(days=days):
            continue
        for opens, closes in _working_intervals(agent, day, tz):
            start = opens
            while start + length <= closes:
                if (
                    start >= earliest
                    and not any(s < start + length and start < e for s, e in time_off)
                    and not any(block in taken for block in blocks_for(start, agent.travel_buffer_minutes))
                ):
                    slots.append(start)
                start += step
    return sorted(set(slots))


async def free_days(session: AsyncSession, agent_id: int, *, now: datetime | None = None,
                    settings: Settings) -> list[date]:
    """Local days in the next two weeks with at least one free slot."""
    agent = await session.get(Staff, agent_id)
    if agent is None:
        return []
    tz = agent_timezone(agent, settings.tz)
    days: list[date] = []
    for slot in await free_slots(session, agent_id, now=now, settings=settings):
        day = slot.astimezone(tz).date()
        if day not in days:
            days.append(day)
    return days


async def takes_viewings(session: AsyncSession, agent: Staff, *, now: datetime | None = None,
                         settings: Settings) -> bool:
    """Whether the agent can take viewings in the next two weeks: active, with working hours, not away all
    that time. Bookings do not count: a fully booked agent still takes viewings (and can arrange one)."""
    if not agent.is_active:
        return False
    return bool(await free_slots(session, agent.id, now=now, ignore_bookings=True, settings=settings))


async def viewing_agents(session: AsyncSession, *, now: datetime | None = None, settings: Settings) -> list[Staff]:
    """Every agent who can take viewings in the next two weeks (takes_viewings), fewest upcoming bookings first."""
    now = now or clock.now()
    agents = (
        await session.scalars(
            select(Staff).where(Staff.is_active.is_(True), Staff.role == StaffRole.AGENT).order_by(Staff.id)
        )
    ).all()
    load = dict(
        (
            await session.execute(
                select(Viewing.agent_id, func.count()).where(Viewing.status == "booked", Viewing.starts_at > now)
                .group_by(Viewing.agent_id)
            )
        ).tuples().all()
    )
    able = [agent for agent in agents if await takes_viewings(session, agent, now=now, settings=settings)]
    return sorted(able, key=lambda agent: (load.get(agent.id, 0), agent.id))


async def agent_for_listing(session: AsyncSession, listing: Listing, *, now: datetime | None = None,
                            settings: Settings) -> Staff | None:
    """Who shows the listing: its own agent when they take viewings (takes_viewings), else the agent who takes
    viewings with the fewest upcoming bookings; None when no agent takes viewings at all (nobody can be booked)."""
    if listing.agent_id is not None:
        agent = await session.get(Staff, listing.agent_id)
        if agent is not None and await takes_viewings(session, agent, now=now, settings=settings):
            return agent
    agents = await viewing_agents(session, now=now, settings=settings)
    return agents[0] if agents else None


async def _claim(session: AsyncSession, viewing: Viewing, buffer_minutes: int) -> None:
    """Insert the slot rows inside a savepoint; a taken block means someone else was first."""
    try:
        async with session.begin_nested():
            for block in blocks_for(viewing.starts_at, buffer_minutes):
                session.add(ViewingSlot(agent_id=viewing.agent_id, slot_start=block, viewing_id=viewing.id))
            await session.flush()
    except IntegrityError as exc:
        raise SlotTaken("this time was just taken") from exc


async def book(
    session: AsyncSession,
    *,
    listing_id: int,
    customer_id: int,
    starts_at: datetime,
    agent_id: int | None = None,
    now: datetime | None = None,
    settings: Settings,
) -> Viewing:
    """Book a viewing; raises SlotTaken when the time is no longer free, ViewingError when it never was."""
    now = now or clock.now()
    listing = await session.get(Listing, listing_id)
    if listing is None or listing.status != "active":
        raise ViewingError("listing not available")
    agent = await session.get(Staff, agent_id) if agent_id else await agent_for_listing(session, listing, now=now,
                                                                                          settings=settings)
    if agent is None:
        raise ViewingError("no agent for this listing")
    starts_at = starts_at.astimezone(UTC)
    if starts_at not in await free_slots(session, agent.id, now=now, settings=settings,
                                         on_day=starts_at.astimezone(agent_timezone(agent, settings.tz)).date()):
        raise SlotTaken("this time is not free")
    viewing = Viewing(
        listing_id=listing.id, customer_id=customer_id, agent_id=agent.id, starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=VIEWING_MINUTES), status="booked",
    )
    try:
        async with session.begin_nested():
            session.add(viewing)
            await session.flush()
            await _claim(session, viewing, agent.travel_buffer_minutes)
    except IntegrityError as exc:  # pragma: no cover - the claim converts its own; this is the viewing row
        raise SlotTaken("this time was just taken") from exc
    await _schedule_reminders(session, viewing, now, settings)
    return viewing


async def reschedule(
    session: AsyncSession, viewing_id: int, new_start: datetime, *, now: datetime | None = None, settings: Settings
) -> Change:
    """Move a booked viewing; its old time is freed only if the new one can be taken."""
    now = now or clock.now()
    viewing = await _changeable(session, viewing_id, now)
    agent = await session.get(Staff, viewing.agent_id)
    if agent is None:  # the foreign key forbids it; a broken database must not book into nowhere
        raise ViewingError("the viewing's agent is gone")
    new_start = new_start.astimezone(UTC)
    free = await free_slots(session, agent.id, now=now, settings=settings, ignore_viewing_id=viewing.id,
                            on_day=new_start.astimezone(agent_timezone(agent, settings.tz)).date())
    if new_start not in free:
        raise SlotTaken("this time is not free")
    previous = viewing.starts_at
    async with session.begin_nested():  # a failed claim restores the old slot rows too
        await session.execute(delete(ViewingSlot).where(ViewingSlot.viewing_id == viewing.id))
        viewing.starts_at = new_start
        viewing.ends_at = new_start + timedelta(minutes=VIEWING_MINUTES)
        await session.flush()
        await _claim(session, viewing, agent.travel_buffer_minutes)
    await _cancel_reminders(session, viewing)
    await _schedule_reminders(session, viewing, now, settings)
    return Change(viewing, previous)


async def cancel(
    session: AsyncSession, viewing_id: int, *, by: str = "customer", now: datetime | None = None
) -> Change:
    """Cancel a booked viewing and free its time."""
    now = now or clock.now()
    viewing = await _changeable(session, viewing_id, now)
    await session.execute(delete(ViewingSlot).where(ViewingSlot.viewing_id == viewing.id))
    viewing.status = "cancelled"
    viewing.cancelled_at = now
    viewing.cancelled_by = by
    await session.flush()
    await _cancel_reminders(session, viewing)
    return Change(viewing, viewing.starts_at)


async def record_outcome(
    session: AsyncSession, viewing_id: int, outcome: str, *, note: str | None = None, now: datetime | None = None
) -> Viewing:
    """The agent says how it went: done, no_show, interested, offer or not_interested."""
    if outcome not in OUTCOMES:
        raise ViewingError(f"unknown outcome {outcome!r}")
    now = now or clock.now()
    viewing = await session.get(Viewing, viewing_id)
    if viewing is None or viewing.status == "cancelled":
        raise ViewingError("viewing not found or cancelled")
    if viewing.starts_at > now:
        raise ViewingError("the viewing has not happened yet")
    status, result = OUTCOMES[outcome]
    viewing.status = status
    if result is not None or status == "no_show":
        viewing.outcome = result
    if note:
        viewing.note = note
    await session.flush()
    return viewing


async def _changeable(session: AsyncSession, viewing_id: int, now: datetime) -> Viewing:
    viewing = await session.get(Viewing, viewing_id)
    if viewing is None or viewing.status != "booked":
        raise ViewingError("viewing not found or no longer booked")
    if viewing.starts_at <= now:
        raise ViewingError("the viewing has already started")
    return viewing


async def upcoming(session: AsyncSession, customer_id: int, *, now: datetime | None = None) -> Sequence[Viewing]:
    """The customer's booked viewings that have not started yet, soonest first."""
    now = now or clock.now()
    return (
        await session.scalars(
            select(Viewing)
            .where(Viewing.customer_id == customer_id, Viewing.status == "booked", Viewing.starts_at > now)
            .order_by(Viewing.starts_at)
        )
    ).all()


async def for_agent(
    session: AsyncSession, agent_id: int, *, since: datetime, until: datetime
) -> Sequence[Viewing]:
    return (
        await session.scalars(
            select(Viewing)
            .where(Viewing.agent_id == agent_id, Viewing.starts_at >= since, Viewing.starts_at < until)
            .order_by(Viewing.starts_at)
        )
    ).all()


# ---- reminders and the after-viewing survey --------------------------------------------------------------

# Kinds this module schedules; dialogs.reminders' tick renders them. Viewing reminders carry starts_at, address,
# listing (ref code) and agent (name); the survey reminder carries survey_id (storage.services.surveys).
REMINDER_KINDS = ("viewing_24h", "viewing_1h")
SURVEY_KIND = "survey"
INTEREST_KIND = "viewing_interest"  # "are you still interested?" next to the rating (dialogs.flows.viewings)
SURVEY_DELAY = timedelta(hours=1)


async def _schedule_reminders(session: AsyncSession, viewing: Viewing, now: datetime, settings: Settings) -> None:
    """24 h and 1 h before, to customer and agent; a booking inside a window gets that reminder at once.

    When both windows have already begun (a booking an hour ahead) only the 1 h reminder is sent, once.
    An hour after the viewing the customer gets the rating survey and the "still interested?" question.
    """
    listing = await session.get(Listing, viewing.listing_id)
    agent = await session.get(Staff, viewing.agent_id)
    stamp = viewing.starts_at.strftime("%Y%m%d%H%M")
    payload = {
        "viewing_id": viewing.id, "starts_at": viewing.starts_at.isoformat(),
        "address": ", ".join(p for p in (listing.address, listing.district_name) if p) if listing else "",
        # The parts too, so the reminder names the district in its reader's language (dialogs.reminders).
        "street": listing.address if listing else "", "district": listing.district_name if listing else "",
        "listing": listing.ref_code if listing else "", "agent": agent.name if agent else "",
    }
    for kind, before in (("viewing_24h", timedelta(hours=24)), ("viewing_1h", timedelta(hours=1))):
        if kind == "viewing_24h" and viewing.starts_at - timedelta(hours=1) <= now:
            continue
        recipients = (("customer", {"recipient_customer_id": viewing.customer_id}),
                      ("staff", {"recipient_staff_id": viewing.agent_id}))
        for who, recipient in recipients:
            await reminders.schedule(
                session, kind=kind, due_at=viewing.starts_at - before, subject_type="viewing",
                subject_id=viewing.id, payload=payload, expires_at=viewing.starts_at,
                dedupe_key=f"viewing:{viewing.id}:{kind}:{who}:{stamp}",
                quiet_hours=kind == "viewing_24h",  # the last reminder is never held back to the morning
                settings=settings, **recipient,
            )
    survey = await _survey(session, viewing)
    after = viewing.ends_at + SURVEY_DELAY
    survey.sent_at = after
    for kind, extra in ((SURVEY_KIND, {"survey_id": survey.id}), (INTEREST_KIND, {})):
        await reminders.schedule(
            session, kind=kind, due_at=after, recipient_customer_id=viewing.customer_id, subject_type="viewing",
            subject_id=viewing.id, payload={**payload, **extra}, dedupe_key=f"viewing:{viewing.id}:{kind}:{stamp}",
            settings=settings,
        )


async def _survey(session: AsyncSession, viewing: Viewing) -> Survey:
    survey = await surveys.create_survey(session, subject_type="viewing", subject_id=viewing.id,
                                         customer_id=viewing.customer_id, staff_id=viewing.agent_id)
    if survey is None:  # rescheduled: the viewing already has its survey
        survey = await session.scalar(
            select(Survey).where(Survey.subject_type == "viewing", Survey.subject_id == viewing.id)
        )
    if survey is None:
        raise ViewingError("the viewing's survey could not be created")
    return survey


async def _cancel_reminders(session: AsyncSession, viewing: Viewing) -> None:
    await reminders.cancel_for(session, "viewing", viewing.id, kinds=(*REMINDER_KINDS, SURVEY_KIND, INTEREST_KIND))
    if viewing.status == "cancelled":  # nothing to rate: drop the unanswered survey
        await session.execute(
            delete(Survey).where(Survey.subject_type == "viewing", Survey.subject_id == viewing.id,
                                 Survey.answered_at.is_(None))
        )
