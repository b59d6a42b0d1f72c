"""A web chat visitor's mailbox: the web outbox rows already delivered to them, read again when they come back
(what they missed while away or across a reload), and what they sent themselves (their side of the transcript)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, Message, OutboxMessage, Staff


@dataclass(frozen=True)
class Delivered:
    """One row the visitor was sent: its id is the message id the page knows (edits and presses refer to it)."""

    id: int
    payload: dict[str, Any]
    sender: str  # bot | agent | system
    staff_name: str | None
    created_at: datetime
    message_id: int | None  # its history message (ordered with what the visitor sent); None for reminders


@dataclass(frozen=True)
class Sent:
    """One message the visitor sent."""

    id: int
    kind: str  # text | photo | location | contact (presses and commands are not messages on the page)
    text: str
    payload: dict[str, Any]  # photo_file_ids, location, phone
    created_at: datetime


def _delivered_query(customer_id: int) -> Any:
    return (
        select(OutboxMessage.id, OutboxMessage.payload, Message.sender, Staff.name, OutboxMessage.created_at,
               OutboxMessage.message_id)
        .outerjoin(Message, Message.id == OutboxMessage.message_id)
        .outerjoin(Staff, Staff.id == Message.staff_id)
        .where(OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "web",
               OutboxMessage.status == "sent")
    )


def _delivered(rows: Any) -> list[Delivered]:
    return [Delivered(row_id, payload, sender or "bot", name, created_at, message_id)
            for row_id, payload, sender, name, created_at, message_id in rows]


async def missed(session: AsyncSession, customer_id: int, after_id: int, limit: int = 500) -> list[Delivered]:
    """Rows delivered to this visitor after the one they saw last, oldest first."""
    rows = await session.execute(_delivered_query(customer_id).where(OutboxMessage.id > after_id)
                                 .order_by(OutboxMessage.id).limit(limit))
    return _delivered(rows.all())


async def recent(session: AsyncSession, customer_id: int, limit: int = 150) -> tuple[list[Delivered], list[Sent]]:
    """The end of the transcript for a page that shows nothing yet: the last rows delivered and what the visitor
    sent since the first of them (both oldest first)."""
    rows = await session.execute(_delivered_query(customer_id).order_by(OutboxMessage.id.desc()).limit(limit))
    delivered = list(reversed(_delivered(rows.all())))
    sent_query = (
        select(Message.id, Message.kind, Message.text, Message.payload, Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.customer_id == customer_id, Message.direction == "in",
               Message.kind.in_(("text", "photo", "location", "contact")))
        .order_by(Message.id.desc()).limit(limit)
    )
    if delivered and len(delivered) == limit:
        sent_query = sent_query.where(Message.created_at >= delivered[0].created_at)
    sent = [Sent(message_id, kind, text, dict(payload or {}), created_at)
            for message_id, kind, text, payload, created_at in (await session.execute(sent_query)).all()]
    return delivered, list(reversed(sent))


async def offered(session: AsyncSession, customer_id: int, message_id: int, token: str) -> bool:
    """Whether this visitor was shown a button with this token on that message (or on an edit of it)."""
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.payload)
        .where(OutboxMessage.customer_id == customer_id, OutboxMessage.channel == "web",
               OutboxMessage.id >= message_id)
        .order_by(OutboxMessage.id).limit(300)
    )
    for row_id, payload in rows.all():
        if row_id != message_id and (payload or {}).get("edit_message_id") != message_id:
            continue
        for line in (payload or {}).get("choices") or []:
            if any(isinstance(button, dict) and button.get("token") == token for button in line):
                return True
    return False
