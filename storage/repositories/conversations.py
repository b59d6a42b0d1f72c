"""Conversations and their messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Conversation, Customer, Message
from storage.repositories.customers import OPEN_CONVERSATION
from storage.vocabulary import ConversationMode


async def current(session: AsyncSession, customer: Customer) -> Conversation:
    """The customer's open conversation; a closed one is never reopened, a fresh one starts with the bot."""
    loaded = session.info.get(OPEN_CONVERSATION, {}).pop(customer.id, None)  # read with the customer just now
    if loaded is not None and loaded.status == "open" and loaded in session:
        return loaded
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.customer_id == customer.id, Conversation.status == "open")
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation is None:
        conversation = Conversation(customer_id=customer.id, status="open", mode=ConversationMode.BOT, slots={})
        session.add(conversation)
        await session.flush()
    return conversation


async def record(
    session: AsyncSession,
    conversation: Conversation,
    *,
    direction: str,
    sender: str,
    text: str,
    kind: str = "text",
    payload: dict[str, Any] | None = None,
    staff_id: int | None = None,
    update_id: int | None = None,
    private_note: bool = False,
    delivery_status: str | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        direction=direction,
        sender=sender,
        text=text,
        kind=kind,
        payload=payload or {},
        staff_id=staff_id,
        update_id=update_id,
        private_note=private_note,
        delivery_status=delivery_status,
    )
    session.add(message)
    now = clock.now()
    if direction == "in":
        conversation.last_customer_message_at = now
    elif sender == "agent":
        conversation.last_agent_message_at = now
    await session.flush()
    return message


async def history(session: AsyncSession, conversation_id: int, limit: int = 200) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(limit)
    )
    return list(reversed(rows.all()))
