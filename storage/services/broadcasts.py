"""Notices to owners (broadcasts): written once in English and Chinese, sent to an audience of owners through the
outbox, each owner in their language.

Life of a notice (`Broadcast.status`, storage.vocabulary.BROADCAST_STATUSES):
- `schedule` (console, inside `act(request)`): texts and audience checked, the audience counted, the row written
  `scheduled` for a moment (now, or later).
- `tick` (the scheduler, every few seconds, and at once when a notice is scheduled for now):
  1. a due notice starts (`queueing`), unless it is not urgent and the company's quiet hours (QUIET_HOURS in
     TIMEZONE) are on: it is held until the morning (`held_until`);
  2. a `queueing` notice gets its outbox rows in batches of `BATCH` owners (keyset on the customer id, one unit of
     work per batch, the event loop free in between), one row per owner whatever the number of homes, with
     PRIORITY_BROADCAST (below agent replies, bot replies and reminders) and the dedupe key
     `broadcast:<id>:<customer>` (a batch run twice after a crash queues nothing twice). Owners who blocked the
     bot get a failed row at once ('forbidden: ...'): recorded as blocked, nothing is sent. The listing-alert
     opt-out (`Customer.notify_new_listings`) does not apply: this is a service notice. The last batch makes the
     notice `sending`;
  3. a `sending` notice is `done` when none of its rows is pending or being sent; while quiet hours are on, a
     notice that is not urgent has its pending rows moved to the morning (`next_attempt_at`), so a long notice
     started at 20:55 stops at 21:00 and goes on at 08:00.
- `cancel` (console): a notice still scheduled, queueing or sending is `cancelled`; its pending rows become
  `cancelled` in the same transaction (rows a sender holds at that moment still go out: at most the sender's
  `max_in_flight_broadcast`). The tick sweeps any pending row of a recently cancelled notice again (a row that was
  in flight and came back after a 429, say).
Each recipient's status is their outbox row's (storage/repositories/broadcasts.py reads it): queued, sent, failed,
blocked or cancelled. The sender (bot/sender.py) marks blocked customers and fails their other pending rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import rows_changed
from storage.events import broadcast_changed
from storage.models import PRIORITY_BROADCAST, Broadcast, Customer, OutboxMessage
from storage.outbox import enqueue_many, outbox_row
from storage.outbox_rows import UNFINISHED
from storage.services import audiences
from storage.services.reminders import after_quiet_hours, parse_window
from storage.unit_of_work import Work, Workplace
from storage.vocabulary import BROADCAST_ACTIVE

BATCH = 1000  # owners per unit of work while queueing: ~1 s for 20,000 rows, the loop free between batches
MAX_TEXT = 4000  # characters per language (a Telegram message holds 4096)
PAST_GRACE = timedelta(minutes=5)  # a time this close to now (the form took a while) means now
SWEEP_CANCELLED = timedelta(days=1)
BLOCKED_ERROR = "forbidden: the customer blocked the bot before this notice"
NO_CHAT_ERROR = "no chat: the customer has no Telegram chat"
CANCELLED_ERROR = "cancelled with the notice"
NOTICE_KIND = "broadcast"  # work.texts.customer_notice kind (dialogs/notices.py)


class BroadcastError(ValueError):
    """A refusal staff read (translated by the console, staff_console/errors.py)."""


def language_of(customer_language: str | None) -> str:
    """Which of the notice's two texts a customer reads."""
    return "zh" if customer_language == "zh" else "en"


def _text(value: str, *, chinese: bool) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        raise BroadcastError(f"write the notice in {'Chinese' if chinese else 'English'}")
    if len(text) > MAX_TEXT:
        raise BroadcastError(f"the {'Chinese' if chinese else 'English'} text is longer than {MAX_TEXT} characters")
    return text


async def schedule(work: Work, *, text_en: str, text_zh: str, audience: Mapping[str, Sequence[str]],
                   urgent: bool = False, at: datetime | None = None) -> Broadcast:
    """Check and store a notice to send at `at` (aware; None = now). Refusals raise BroadcastError or
    audiences.AudienceError with a sentence for staff."""
    english, chinese = _text(text_en, chinese=False), _text(text_zh, chinese=True)
    now = clock.now()
    if at is not None and at.tzinfo is None:
        raise ValueError("the time must be timezone-aware")
    if at is not None and at < now - PAST_GRACE:
        raise BroadcastError("the time to send is in the past")
    stored = await audiences.parse(work.session, audience)
    counted = await audiences.count(work.session, stored)
    if counted.owners == 0:
        raise BroadcastError("no owner matches this audience")
    broadcast = Broadcast(text_en=english, text_zh=chinese, audience=stored, urgent=urgent, status="scheduled",
                          scheduled_at=max(at or now, now), created_by=work.actor.staff_id,
                          estimated=counted.owners, recipients=0, cursor=0, created_at=now, updated_at=now)
    work.session.add(broadcast)
    await work.session.flush()
    await work.audit("broadcast_schedule", target_type="broadcast", target_id=broadcast.id,
                     details={"audience": stored, "urgent": urgent, "owners": counted.owners,
                              "at": broadcast.scheduled_at.isoformat()})
    work.publish(broadcast_changed(broadcast, due=broadcast.scheduled_at <= now))
    return broadcast


async def cancel(work: Work, broadcast_id: int) -> int:
    """Stop a notice that has not finished going out; returns how many recipients it no longer reaches."""
    session = work.session
    broadcast = await session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update())
    if broadcast is None:
        raise BroadcastError("no such notice")
    if broadcast.status not in BROADCAST_ACTIVE:
        raise BroadcastError("this notice can no longer be cancelled")
    now = clock.now()
    broadcast.status = "cancelled"
    broadcast.cancelled_at = now
    broadcast.cancelled_by = work.actor.staff_id
    stopped = await _cancel_pending(session, [broadcast_id])
    await work.audit("broadcast_cancel", target_type="broadcast", target_id=broadcast_id,
                     details={"stopped": stopped, "queued": broadcast.recipients})
    work.publish(broadcast_changed(broadcast, stopped=stopped))
    return stopped


async def _cancel_pending(session: AsyncSession, broadcast_ids: list[int]) -> int:
    if not broadcast_ids:
        return 0
    return await rows_changed(session, update(OutboxMessage).where(
        OutboxMessage.broadcast_id.in_(broadcast_ids), OutboxMessage.status == "pending")
        .values(status="cancelled", error=CANCELLED_ERROR, lease_until=None)
        .execution_options(synchronize_session=False))


# ---- the tick --------------------------------------------------------------------------------------------------

async def tick(workplace: Workplace, now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Start due notices, queue the rows of those queueing, finish or hold those sending; returns rows queued."""
    now = now or clock.now()
    await _start_due(workplace, now)
    queued = 0
    async with workplace.open() as work:
        queueing = list((await work.session.scalars(
            select(Broadcast.id).where(Broadcast.status == "queueing").order_by(Broadcast.id))).all())
    for broadcast_id in queueing:
        while True:
            added, finished = await queue_batch(workplace, broadcast_id, batch=batch)
            queued += added
            if finished:
                break
            await asyncio.sleep(0)  # updates, the console and the sender run between batches
    await _settle(workplace, now)
    return queued


def _morning(workplace: Workplace, now: datetime) -> datetime:
    """`now`, or the end of the quiet hours it falls into (customers have no time zone: the company's)."""
    settings = workplace.settings
    return after_quiet_hours(now, settings.tz, parse_window(settings.quiet_hours))


async def _start_due(workplace: Workplace, now: datetime) -> None:
    async with workplace.open() as work:
        due = list((await work.session.scalars(
            select(Broadcast.id).where(Broadcast.status == "scheduled", Broadcast.scheduled_at <= now,
                                       or_(Broadcast.held_until.is_(None), Broadcast.held_until <= now))
            .order_by(Broadcast.scheduled_at, Broadcast.id))).all())
    morning = _morning(workplace, now)
    for broadcast_id in due:
        async with workplace.open() as work:
            broadcast = await work.session.scalar(
                select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update())
            if broadcast is None or broadcast.status != "scheduled":
                continue
            if not broadcast.urgent and morning != now:
                broadcast.held_until = morning
                work.publish(broadcast_changed(broadcast, held_until=morning.isoformat()))
                continue
            broadcast.status = "queueing"
            broadcast.started_at = now
            work.publish(broadcast_changed(broadcast))


async def queue_batch(workplace: Workplace, broadcast_id: int, *, batch: int = BATCH) -> tuple[int, bool]:
    """Queue the rows of the next `batch` owners of a queueing notice in one unit of work.
    Returns (rows queued, whether queueing is over)."""
    async with workplace.open() as work:
        session = work.session
        broadcast = await session.scalar(select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update())
        if broadcast is None or broadcast.status != "queueing":
            return 0, True
        owners = (await session.execute(
            select(Customer.id, Customer.channel, Customer.chat_id, Customer.language, Customer.unreachable_at)
            # The cursor is written into the statement: a prepared statement's generic plan (PostgreSQL, after
            # a few batches) cannot see how far the cursor is and scans every owner again, seconds per batch.
            .where(audiences.condition(broadcast.audience, session.get_bind().dialect.name),
                   Customer.id > bindparam("cursor", broadcast.cursor, literal_execute=True))
            .order_by(Customer.id).limit(batch))).all()
        payloads: dict[str, dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []
        for owner in owners:
            lang = language_of(owner.language)
            if lang not in payloads:
                text = broadcast.text_zh if lang == "zh" else broadcast.text_en
                payloads[lang] = work.texts.customer_notice(NOTICE_KIND, lang, {"text": text}).payload
            telegram = owner.channel == "telegram"
            row = outbox_row(owner.chat_id if telegram else None, payloads[lang], PRIORITY_BROADCAST,
                             channel=owner.channel, customer_id=owner.id, broadcast_id=broadcast.id,
                             dedupe_key=f"broadcast:{broadcast.id}:{owner.id}")
            if owner.unreachable_at is not None or (telegram and owner.chat_id is None):
                row["status"] = "failed"
                row["error"] = BLOCKED_ERROR if owner.unreachable_at is not None else NO_CHAT_ERROR
            rows.append(row)
        await enqueue_many(session, _uniform(rows))
        finished = len(owners) < batch
        if owners:
            broadcast.cursor = owners[-1].id
            broadcast.recipients += len(rows)
        if finished:
            broadcast.status = "sending"
            broadcast.queued_at = clock.now()
            work.publish(broadcast_changed(broadcast, recipients=broadcast.recipients))
        return len(rows), finished


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the same keys (an executemany compiles one statement for all of them)."""
    if any("error" in row for row in rows):
        for row in rows:
            row.setdefault("error", None)
    return rows


async def _settle(workplace: Workplace, now: datetime) -> None:
    morning = _morning(workplace, now)
    async with workplace.open() as work:
        session = work.session
        sending = list((await session.scalars(
            select(Broadcast).where(Broadcast.status == "sending").order_by(Broadcast.id))).all())
        for broadcast in sending:
            unfinished = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.status.in_(UNFINISHED)))
            if not unfinished:
                broadcast.status = "done"
                broadcast.finished_at = now
                work.publish(broadcast_changed(broadcast))
            elif not broadcast.urgent and morning != now:
                held = await rows_changed(session, update(OutboxMessage).where(
                    OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at < morning)
                    .values(next_attempt_at=morning).execution_options(synchronize_session=False))
                if held:
                    broadcast.held_until = morning
                    work.publish(broadcast_changed(broadcast, held_until=morning.isoformat()))
        cancelled = list((await session.scalars(select(Broadcast.id).where(
            Broadcast.status == "cancelled", Broadcast.cancelled_at >= now - SWEEP_CANCELLED))).all())
        await _cancel_pending(session, cancelled)
