"""Outbox row transitions for the sender: claim, release, sent, failed, crash recovery.

pending --claim--> sending --sent--> sent
                      |------retry--> pending (next_attempt_at later)
                      |------fail---> failed
sending with an expired lease --recover--> pending
The sender renews the leases of the rows it holds, so a lease can be short: a row whose sender died is
pending again within one lease.

Each channel claims its own rows: the Telegram sender `claim`s 'telegram' rows; the web chat takes 'web' rows
with `deliver_web`, straight from pending to sent (it publishes them to the visitor's sockets after commit, and
the rows stay as the visitor's mailbox, read again when a visitor comes back).
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import rows_changed, run_core
from storage.models import Message, OutboxMessage

UNFINISHED = ("pending", "sending")
RATE_LIMITED = "429:"  # how the error of a row waiting out Telegram's retry_after starts


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    chat_id: int
    payload: dict[str, Any]
    attempts: int
    message_id: int | None
    customer_id: int | None
    priority: int = 1


async def claim(session: AsyncSession, *, now: datetime, lease: timedelta, limit: int,
                waiting_too: bool = False, channel: str = "telegram",
                priority_below: int | None = None) -> list[ClaimedRow]:
    """Atomically take up to `limit` due rows, at most one per chat: the chat's oldest unfinished row.

    Only the head of each chat is claimable, so row N+1 of a chat never goes before row N is sent or failed,
    and a chat never has two rows in flight. PostgreSQL skips rows another sender holds (SKIP LOCKED);
    SQLite runs the single UPDATE ... RETURNING under its database write lock.
    `waiting_too`: rows backing off after a failed attempt count as due as well (the sender's probe while
    Telegram is failing); rows waiting out a 429 never do. `priority_below`: only rows of a priority below this
    (the sender leaves broadcasts alone while it holds as many of them as it wants at a time).
    """
    statement = _claim_statement(session.get_bind().dialect.name, limit, waiting_too, priority_below is not None)
    values: dict[str, Any] = {"claim_now": now, "claim_lease_until": now + lease, "claim_channel": channel}
    if priority_below is not None:
        values["claim_priority_below"] = priority_below
    result = await run_core(session, statement, values)
    rows = sorted(result.all(), key=lambda r: (r.priority, r.id))
    return [ClaimedRow(r.id, r.chat_id, r.payload, r.attempts, r.message_id, r.customer_id, r.priority)
            for r in rows]


@functools.lru_cache(maxsize=64)
def _claim_statement(dialect: str, limit: int, waiting_too: bool, below: bool) -> Any:
    """The claim as a statement built once per shape: building it (two aliases, a correlated EXISTS, a subquery)
    cost more of the sender's time than running it (py-spy, issue 17); the values are bound at execution."""
    candidate = aliased(OutboxMessage, name="candidate")
    older = aliased(OutboxMessage, name="older")
    earlier_unfinished = exists().where(
        and_(older.chat_id == candidate.chat_id, older.status.in_(UNFINISHED), older.id < candidate.id)
    )
    heads = (
        select(candidate.id)
        .where(candidate.status == "pending", _due(candidate, bindparam("claim_now"), waiting_too),
               candidate.channel == bindparam("claim_channel"), ~earlier_unfinished)
        .order_by(candidate.priority, candidate.id)
        .limit(limit)
    )
    if below:
        heads = heads.where(candidate.priority < bindparam("claim_priority_below"))
    if dialect == "postgresql":
        heads = heads.with_for_update(skip_locked=True, of=candidate)
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(heads.scalar_subquery()), OutboxMessage.status == "pending")
        .values(status="sending", lease_until=bindparam("claim_lease_until"))
        .returning(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.payload, OutboxMessage.attempts,
                   OutboxMessage.message_id, OutboxMessage.customer_id, OutboxMessage.priority)
        .execution_options(synchronize_session=False)
    )


async def due_exists(session: AsyncSession, *, now: datetime, waiting_too: bool = False, channel: str = "telegram",
                     priority_below: int | None = None) -> bool:
    """Whether `claim` could find a row (a read, so a sender with nothing to claim costs no write transaction:
    on SQLite every write waits its turn at the process's write gate, the sender's own outcomes included)."""
    values: dict[str, Any] = {"due_now": now, "due_channel": channel}
    if priority_below is not None:
        values["due_priority_below"] = priority_below
    return await session.scalar(_due_exists_statement(waiting_too, priority_below is not None), values) is not None


@functools.lru_cache(maxsize=8)
def _due_exists_statement(waiting_too: bool, below: bool) -> Any:
    """Built once per shape, as the claim is: the sender asks after every commit it is woken by."""
    query = select(OutboxMessage.id).where(OutboxMessage.status == "pending",
                                           OutboxMessage.channel == bindparam("due_channel"),
                                           _due(OutboxMessage, bindparam("due_now"), waiting_too))
    if below:
        query = query.where(OutboxMessage.priority < bindparam("due_priority_below"))
    return query.limit(1)


@dataclass(frozen=True)
class WebRow:
    """A web chat row taken for delivery, with what the page shows about its author."""

    id: int
    customer_id: int
    payload: dict[str, Any]
    message_id: int | None
    conversation_id: int | None
    sender: str  # bot | agent | system (rows without a history message, e.g. reminders: bot)
    staff_id: int | None


async def deliver_web(session: AsyncSession, *, now: datetime, limit: int,
                      customer_id: int | None = None) -> list[WebRow]:
    """Take up to `limit` due web rows (of one customer, or of everyone), oldest first: pending -> sent, and their
    history messages are marked sent. Several instances never take the same row (SKIP LOCKED on PostgreSQL, the
    write lock on SQLite)."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.channel == "web", OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if customer_id is not None:
        due = due.where(OutboxMessage.customer_id == customer_id)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()), OutboxMessage.status == "pending")
        .values(status="sent", sent_at=now, lease_until=None, error=None)
        .returning(OutboxMessage.id, OutboxMessage.customer_id, OutboxMessage.payload, OutboxMessage.message_id)
        .execution_options(synchronize_session=False)
    )
    rows = sorted(result.all(), key=lambda r: r.id)
    if not rows:
        return []
    authors: dict[int, tuple[int, str, int | None]] = {}
    message_ids = [r.message_id for r in rows if r.message_id is not None]
    if message_ids:
        found = await session.execute(
            update(Message).where(Message.id.in_(message_ids)).values(delivery_status="sent")
            .returning(Message.id, Message.conversation_id, Message.sender, Message.staff_id)
            .execution_options(synchronize_session=False)
        )
        authors = {m.id: (m.conversation_id, m.sender, m.staff_id) for m in found.all()}
    taken = []
    for r in rows:
        conversation_id, sender, staff_id = authors.get(r.message_id or 0, (None, "bot", None))
        taken.append(WebRow(r.id, r.customer_id, r.payload, r.message_id, conversation_id, sender, staff_id))
    return taken


async def web_pending(session: AsyncSession, now: datetime) -> bool:
    """Whether any web row is due (a read, so an idle web chat costs no write transaction)."""
    return await session.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.channel == "web", OutboxMessage.next_attempt_at <= now)
        .limit(1)
    ) is not None


def _due(row: Any, now: Any, waiting_too: bool) -> ColumnElement[bool]:
    due = row.next_attempt_at <= now
    if not waiting_too:
        return due
    return or_(due, and_(row.error.is_not(None), ~row.error.startswith(RATE_LIMITED)))


async def recover_expired(session: AsyncSession, now: datetime, keep: Collection[int] = ()) -> int:
    """Return rows whose sender died (lease expired while 'sending') to pending; `keep`: rows the caller
    itself still holds (their lease ran out while the database was away), which it will finish."""
    condition = and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now)
    if keep:
        condition = and_(condition, OutboxMessage.id.not_in(list(keep)))
    return await rows_changed(
        session, update(OutboxMessage).where(condition).values(status="pending", lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def renew(session: AsyncSession, row_ids: Collection[int], *, until: datetime) -> None:
    """Extend the leases of rows the caller is still delivering (it is alive; they are not to be recovered)."""
    if row_ids:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.status == "sending")
            .values(lease_until=until).execution_options(synchronize_session=False)
        )


async def release_waiting(session: AsyncSession, now: datetime) -> int:
    """Telegram answers again after an outage: every row backing off after a failed attempt is due now (rows
    waiting out a 429 keep waiting). Returns how many."""
    return await rows_changed(
        session, update(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at > now,
               OutboxMessage.error.is_not(None), ~OutboxMessage.error.startswith(RATE_LIMITED))
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, row_id: int, *, at: datetime, error: str | None,
                  count_attempt: bool) -> None:
    values: dict[str, Any] = {"status": "pending", "lease_until": None, "next_attempt_at": at, "error": error}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
                          .execution_options(synchronize_session=False))


async def save_progress(session: AsyncSession, row_id: int, payload: dict[str, Any]) -> None:
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(payload=payload)
                          .execution_options(synchronize_session=False))


async def mark_sent(session: AsyncSession, row: ClaimedRow, *, now: datetime,
                    telegram_message_id: int | None) -> int | None:
    """Row sent; its history message shows it. Returns the conversation id (for the live event)."""
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row.id)
        .values(status="sent", sent_at=now, lease_until=None, error=None,
                telegram_message_id=telegram_message_id)
        .execution_options(synchronize_session=False)
    )
    return await _update_message(session, row.message_id, "sent", telegram_message_id)


_outbox, _messages = cast(Table, OutboxMessage.__table__), cast(Table, Message.__table__)
# mark_many_sent's two UPDATEs, one row per parameter set (executemany), built once.
_ROW_SENT = (update(_outbox).where(_outbox.c.id == bindparam("row_id"))
             .values(status="sent", sent_at=bindparam("row_sent_at"), lease_until=None, error=None,
                     telegram_message_id=bindparam("row_telegram_id")))
_MESSAGE_SENT = (update(_messages).where(_messages.c.id == bindparam("message_id"))
                 .values(delivery_status="sent", telegram_message_id=bindparam("message_telegram_id")))

_CONVERSATIONS_OF = (select(_messages.c.id, _messages.c.conversation_id)
                     .where(_messages.c.id.in_(bindparam("message_ids", expanding=True))))


async def mark_many_sent(session: AsyncSession, sent: list[tuple[ClaimedRow, int | None]],
                         now: datetime) -> list[tuple[ClaimedRow, int | None, int | None]]:
    """Bulk form of mark_sent (two executemany UPDATEs and one SELECT for any number of rows).

    Returns (row, conversation_id, telegram_message_id) for the live events.
    """
    if not sent:
        return []
    await run_core(session, _ROW_SENT, [{"row_id": row.id, "row_sent_at": now, "row_telegram_id": telegram_id}
                                        for row, telegram_id in sent])
    linked = [(row.message_id, telegram_id) for row, telegram_id in sent if row.message_id is not None]
    conversations: dict[int, int] = {}
    if linked:
        await run_core(session, _MESSAGE_SENT, [{"message_id": message_id, "message_telegram_id": telegram_id}
                                                for message_id, telegram_id in linked])
        found = await run_core(session, _CONVERSATIONS_OF, {"message_ids": [message_id for message_id, _ in linked]})
        conversations = {message_id: conversation_id for message_id, conversation_id in found.all()}
    return [(row, conversations.get(row.message_id) if row.message_id else None, telegram_id)
            for row, telegram_id in sent]


async def mark_failed(session: AsyncSession, row: ClaimedRow, *, error: str) -> int | None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row.id)
        .values(status="failed", lease_until=None, error=error[:2000])
        .execution_options(synchronize_session=False)
    )
    return await _update_message(session, row.message_id, "failed", None)


async def fail_chat(session: AsyncSession, chat_id: int, *, error: str) -> list[tuple[int, int | None]]:
    """Fail every pending row of a chat (it blocked the bot); returns (message_id, conversation_id) pairs."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending")
        .values(status="failed", error=error[:2000], lease_until=None)
        .returning(OutboxMessage.message_id)
        .execution_options(synchronize_session=False)
    )
    failed: list[tuple[int, int | None]] = []
    for (message_id,) in result.all():
        if message_id is not None:
            failed.append((message_id, await _update_message(session, message_id, "failed", None)))
    return failed


async def _update_message(session: AsyncSession, message_id: int | None, status: str,
                          telegram_message_id: int | None) -> int | None:
    if message_id is None:
        return None
    values: dict[str, Any] = {"delivery_status": status}
    if telegram_message_id is not None:
        values["telegram_message_id"] = telegram_message_id
    result = await session.execute(
        update(Message).where(Message.id == message_id).values(**values).returning(Message.conversation_id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()
