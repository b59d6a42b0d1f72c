"""Putting customers in the queue the way the bot does (storage services, commit, then publish), and signing a
staff member in through the browser."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import transaction
from storage.events import EventBus, conversation_changed, message_new
from storage.models import Conversation, Message
from storage.repositories import conversations, customers
from storage.services import handoff

_users = itertools.count(9000)


async def sign_in(context, base: str, email: str, path: str, password: str):  # noqa: ANN001, ANN201
    """A new page of `context` signed in as `email` and landed on `path` with its live channel on."""
    from tests.conftest import TIMEOUT_MS

    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login?next={path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{path}")
    await page.wait_for_selector("#live-state.on")
    return page


async def waiting_customer(
    sessions: async_sessionmaker[AsyncSession], bus: EventBus | None = None, *, name: str = "Carol",
    text: str = "I need a person", language: str = "en",
) -> Conversation:
    user_id = next(_users)
    async with transaction(sessions) as session:
        customer, _ = await customers.get_or_create(session, telegram_user_id=user_id, chat_id=user_id,
                                                    first_name=name, language=language)
        conversation = await conversations.current(session, customer)
        await conversations.record(session, conversation, direction="in", sender="customer", text=text)
        await handoff.request_handoff(session, conversation, "asked")
        event = conversation_changed(conversation, queued=True)
    if bus is not None:
        await bus.publish(event)
    return conversation


async def customer_writes(
    sessions: async_sessionmaker[AsyncSession], bus: EventBus, conversation_id: int, text: str,
    payload: dict | None = None,
) -> Message:
    async with transaction(sessions) as session:
        conversation = await session.get(Conversation, conversation_id)
        message = await conversations.record(session, conversation, direction="in", sender="customer", text=text,
                                             payload=payload)
    await bus.publish(message_new(message, mode=conversation.mode))
    return message
