"""Reminders: rows with a due time, claimed atomically by whichever process ticks first, sent exactly once.

Stable API (other packages rely on these signatures):

    await schedule(session, *, kind, due_at, recipient_staff_id=None, recipient_customer_id=None,
                   subject_type=None, subject_id=None, payload=None, dedupe_key=None,
                   expires_at=None, quiet_hours=True, settings) -> Reminder | None
        Queue one reminder. `dedupe_key` makes a second call with the same key a no-op (returns None).
        A due time in the past means "as soon as possible" (a viewing booked 3 h ahead still gets its
        1 h reminder; its 24 h one is due at once). `expires_at`: the reminder is dropped instead of sent
        after that moment (e.g. the viewing's start) and is not even created when that moment has passed.
        With `quiet_hours` (the default) a due time inside the recipient's night (QUIET_HOURS in their
        time zone: Staff.timezone, else TIMEZONE) moves to the morning; `settings` give both.
    await cancel_for(session, subject_type, subject_id, kinds=None) -> int
        Cancel pending reminders whose cause is gone (viewing cancelled, ticket closed); returns how many.
    await claim_due(session, *, worker, limit=500, now=None) -> list[Reminder]
        Atomically claim due rows (one UPDATE ... RETURNING; FOR UPDATE SKIP LOCKED on PostgreSQL).
    await mark_sent(session, reminders, now=None) / await defer(session, reminder, until) /
    await drop(session, reminder, now=None)

Exactly once: the tick claims, renders the outbox rows and marks the reminders sent in ONE transaction, so
a crash rolls all of it back and the rows are simply claimed again after a restart. A claim that was
committed but never finished (a worker killed between two transactions) is taken over after
CLAIM_LEASE. Outbox rows carry `reminder:<id>` dedupe keys as a second guard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage import clock
from storage.db import rows_changed
from storage.models import Reminder, Staff
from storage.settings import Settings

CLAIM_LEASE = timedelta(minutes=5)


def parse_window(value: str) -> tuple[time, time]:
    """'21:00-08:00' -> (21:00, 08:00); a window may wrap past midnight."""
    try:
        start, end = (part.strip() for part in value.split("-", 1))
        return time.fromisoformat(start), time.fromisoformat(end)
    except ValueError as exc:
        raise ValueError(f"time window {value!r} must look like 21:00-08:00") from exc


def in_window(local: time, window: tuple[time, time]) -> bool:
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(at: datetime, tz: ZoneInfo, window: tuple[time, time]) -> datetime:
    """`at` itself, or the end of the quiet window it falls into (the next morning), in the same tz as `at`."""
    local = at.astimezone(tz)
    if not in_window(local.time().replace(tzinfo=None), window):
        return at
    start, end = window
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) >= start:
        day += timedelta(days=1)  # late evening: wait for tomorrow morning
    morning = datetime.combine(day, end, tzinfo=tz)
    return morning.astimezone(at.tzinfo)


async def recipient_timezone(session: AsyncSession, staff_id: int | None, company: ZoneInfo) -> ZoneInfo:
    """The staff member's own zone, else the company's (customers have no zone of their own yet)."""
    if staff_id is not None:
        zone = await session.scalar(select(Staff.timezone).where(Staff.id == staff_id))
        if zone:
            try:
                return ZoneInfo(zone)
            except (ValueError, KeyError):
                pass
    return company


async def schedule(
    session: AsyncSession,
    *,
    kind: str,
    due_at: datetime,
    recipient_staff_id: int | None = None,
    recipient_customer_id: int | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    expires_at: datetime | None = None,
    quiet_hours: bool = True,
    settings: Settings,
) -> Reminder | None:
    """Queue a reminder (see the module docstring). Returns None when deduplicated or already expired."""
    if (recipient_staff_id is None) == (recipient_customer_id is None):
        raise ValueError("a reminder has exactly one recipient: a staff member or a customer")
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        return None
    if quiet_hours:
        zone = await recipient_timezone(session, recipient_staff_id, settings.tz)
        due_at = after_quiet_hours(max(due_at, now), zone, parse_window(settings.quiet_hours))
    body = dict(payload or {})
    if expires_at is not None:
        body["expires_at"] = expires_at.isoformat()
    body["quiet_hours"] = quiet_hours
    if dedupe_key is not None and await session.scalar(select(Reminder.id).where(Reminder.dedupe_key == dedupe_key)):
        return None
    row = Reminder(
        kind=kind, due_at=due_at, recipient_staff_id=recipient_staff_id, recipient_customer_id=recipient_customer_id,
        subject_type=subject_type, subject_id=subject_id, payload=body, dedupe_key=dedupe_key, status="pending",
        created_at=now,
    )
    try:
        async with session.begin_nested():  # two writers with the same key: the database keeps one
            session.add(row)
    except IntegrityError:
        return None
    return row


async def cancel_for(
    session: AsyncSession, subject_type: str, subject_id: int, kinds: Iterable[str] | None = None
) -> int:
    """Cancel the pending reminders of a subject whose cause is gone. Sent ones are history and stay."""
    conditions = [Reminder.subject_type == subject_type, Reminder.subject_id == subject_id,
                  Reminder.status.in_(("pending", "claimed"))]
    if kinds is not None:
        conditions.append(Reminder.kind.in_(list(kinds)))
    return await rows_changed(
        session, update(Reminder).where(*conditions).values(status="cancelled", cancelled_at=clock.now())
        .execution_options(synchronize_session=False)
    )


async def claim_due(
    session: AsyncSession, *, worker: str, limit: int = 500, now: datetime | None = None
) -> list[Reminder]:
    """Claim up to `limit` due reminders for this worker, atomically: two workers never get the same row.

    PostgreSQL: the inner SELECT locks its rows with FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint
    batches without waiting. SQLite: the statement runs under the database's single write lock.
    Stale claims (older than CLAIM_LEASE, their worker died after committing the claim) are taken over.
    """
    now = now or clock.now()
    # Stale claims go back to pending first (rare, and a separate statement keeps the main one on its index).
    await session.execute(
        update(Reminder).where(Reminder.status == "claimed", Reminder.claimed_at < now - CLAIM_LEASE)
        .values(status="pending", claimed_at=None, claimed_by=None).execution_options(synchronize_session=False)
    )
    due = and_(Reminder.status == "pending", Reminder.due_at <= now)
    picked = select(Reminder.id).where(due).order_by(Reminder.due_at, Reminder.id).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    statement = (
        update(Reminder)
        .where(Reminder.id.in_(picked.scalar_subquery()), due)
        .values(status="claimed", claimed_at=now, claimed_by=worker[:64])
        .returning(Reminder)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    rows = list((await session.scalars(statement)).all())
    rows.sort(key=lambda r: (r.due_at, r.id))
    return rows


async def mark_sent(session: AsyncSession, reminders: Sequence[Reminder], now: datetime | None = None) -> None:
    if not reminders:
        return
    now = now or clock.now()
    await session.execute(
        update(Reminder).where(Reminder.id.in_([r.id for r in reminders]), Reminder.status == "claimed")
        .values(status="sent", sent_at=now).execution_options(synchronize_session=False)
    )
    for reminder in reminders:  # the UPDATE above did it; keep the objects in step without dirtying them
        set_committed_value(reminder, "status", "sent")
        set_committed_value(reminder, "sent_at", now)


async def defer(session: AsyncSession, reminder: Reminder, until: datetime) -> None:
    """Give a claimed reminder back with a later due time (it fell into the recipient's night)."""
    await session.execute(
        update(Reminder).where(Reminder.id == reminder.id, Reminder.status == "claimed")
        .values(status="pending", due_at=until, claimed_at=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(reminder, "status", "pending")
    set_committed_value(reminder, "due_at", until)


async def drop(session: AsyncSession, reminder: Reminder, now: datetime | None = None) -> None:
    """A claimed reminder that no longer makes sense (expired, recipient gone) is cancelled, not sent."""
    now = now or clock.now()
    await session.execute(
        update(Reminder).where(Reminder.id == reminder.id, Reminder.status == "claimed")
        .values(status="cancelled", cancelled_at=now).execution_options(synchronize_session=False)
    )
    set_committed_value(reminder, "status", "cancelled")


def is_expired(reminder: Reminder, now: datetime) -> bool:
    raw = (reminder.payload or {}).get("expires_at")
    return bool(raw) and datetime.fromisoformat(str(raw)) <= now


async def pending_for(session: AsyncSession, subject_type: str, subject_id: int) -> list[Reminder]:
    rows = await session.scalars(
        select(Reminder).where(Reminder.subject_type == subject_type, Reminder.subject_id == subject_id,
                               Reminder.status == "pending").order_by(Reminder.due_at, Reminder.id)
    )
    return list(rows.all())
