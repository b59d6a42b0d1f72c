"""The outbox: every outgoing message is a row written in the transaction that caused it.

Rows hold a channel-neutral reply (`dialogs.replies.Reply.to_payload()`) and the channel that delivers it: the
Telegram sender renders and delivers 'telegram' rows within Telegram's limits (by chat id), the web chat 'web'
rows (by customer id: the rows are the visitor's mailbox). Nothing is sent from inside a business transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import dialect_insert
from storage.models import PRIORITY_BOT, Conversation, Customer, Message, OutboxMessage

QUEUED_KEY = "outbox_channels"  # session.info: the channels this transaction queued rows for


def queued_channels(session: AsyncSession) -> set[str]:
    """The channels this session's transaction queued outbox rows for (a channel may deliver them before commit
    returns: `storage.unit_of_work.Workplace.before_commit`)."""
    return session.info.get(QUEUED_KEY, set())


def _queued(session: AsyncSession, channel: str) -> None:
    session.info.setdefault(QUEUED_KEY, set()).add(channel)


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int | None,
    payload: dict[str, Any],
    priority: int = PRIORITY_BOT,
    channel: str = "telegram",
    message_id: int | None = None,
    customer_id: int | None = None,
    staff_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Queue one reply. With a dedupe_key, a second call with the same key queues nothing and returns None.
    Without one, the row is inserted with the transaction's next flush (its id is set then): one flush less per
    reply on the hot path (issue 17)."""
    row = OutboxMessage(
        channel=channel,
        chat_id=chat_id,
        method=str(payload.get("kind", "say")),
        payload=payload,
        priority=priority,
        message_id=message_id,
        customer_id=customer_id,
        staff_id=staff_id,
        dedupe_key=dedupe_key,
    )
    _queued(session, channel)
    if dedupe_key is None:
        session.add(row)  # inserted with the transaction's next flush (its commit at the latest), in this order
        return row
    if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def reachable(customer: Customer) -> bool:
    """Whether anything can be delivered to the customer: they did not block the bot, and they have an address in
    their channel (a customer staff entered from a phone call or a visit has none until they write to us)."""
    if customer.unreachable_at is not None:
        return False
    if customer.channel == "web":
        return customer.web_visitor_id is not None
    return customer.chat_id is not None


async def queue_to_customer(
    session: AsyncSession, conversation: Conversation, customer: Customer, payload: dict[str, Any], *,
    text: str, sender: str, priority: int, staff_id: int | None = None, kind: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Message:
    """The one way to send a customer something: recorded in the conversation's history and queued in the outbox.

    A customer who cannot be reached (blocked the bot, or has no chat yet) still gets the history row, marked
    failed, so staff see what could not be delivered; nothing is queued for them.
    """
    message = Message(
        conversation_id=conversation.id, direction="out", sender=sender, staff_id=staff_id,
        kind=kind or str(payload.get("kind", "say")), text=text, payload={**payload, **(extra or {})},
        delivery_status="pending" if reachable(customer) else "failed",
    )
    session.add(message)
    await session.flush()
    if reachable(customer):
        telegram = customer.channel == "telegram"
        await enqueue(session, chat_id=customer.chat_id if telegram else None, payload=payload, priority=priority,
                      channel=customer.channel, message_id=message.id, customer_id=customer.id, staff_id=staff_id)
    return message


def outbox_row(chat_id: int | None, payload: dict[str, Any], priority: int, *, dedupe_key: str | None = None,
               customer_id: int | None = None, staff_id: int | None = None, channel: str = "telegram",
               broadcast_id: int | None = None) -> dict[str, Any]:
    """One row for `enqueue_many`."""
    now = clock.now()
    return {"channel": channel, "chat_id": chat_id, "method": str(payload.get("kind", "say")), "payload": payload,
            "priority": priority,
            "status": "pending", "attempts": 0, "next_attempt_at": now, "customer_id": customer_id,
            "staff_id": staff_id, "dedupe_key": dedupe_key, "created_at": now, "broadcast_id": broadcast_id}


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Queue many rows at once (reminder bursts); a row whose dedupe_key is already queued is skipped.

    One cached statement run as executemany: compiling a 500-row VALUES list would stall the event loop.
    """
    if not rows:
        return
    for channel in {row["channel"] for row in rows}:
        _queued(session, channel)
    statement = dialect_insert(session)(OutboxMessage).on_conflict_do_nothing(
        index_elements=[OutboxMessage.dedupe_key])
    connection = await session.connection()
    await connection.execute(statement, rows)
