"""A customer typing: worth telling staff only while a person owns the conversation.

The web chat sends "typing" while the visitor types (Telegram does not tell a bot). Only a conversation in human
mode has someone reading it who waits for the answer: while the bot answers, nobody is there; while the
customer waits in the queue, nobody owns it yet and "typing" would only be noise in every console (a queued
customer's words arrive as messages, which raise attention already). So the event is published only for open
conversations in human mode, and it is never stored: it is a hint that expires by itself in the console.
"""

from __future__ import annotations

from sqlalchemy import select

from storage.events import customer_typing
from storage.models import Conversation
from storage.unit_of_work import Work
from storage.vocabulary import ConversationMode


async def customer_is_typing(work: Work, customer_id: int) -> bool:
    """Publish "typing" for the customer's open conversation if a person owns it; True when published."""
    conversation = await work.session.scalar(
        select(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.status == "open")
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation is None or conversation.mode != ConversationMode.HUMAN:
        return False
    work.publish(customer_typing(conversation))
    return True
