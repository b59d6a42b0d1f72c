"""my_chat_member: blocking the bot marks the customer unreachable, unblocking it (without writing) makes
them reachable again, so what is queued for them afterwards (reminders, alerts, agent replies) is delivered."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from dialogs.replies import Say
from storage.models import PRIORITY_REMINDER, Customer, InboundUpdate
from storage.outbox import queue_to_customer
from storage.repositories import conversations


async def handled(sessions, update: dict) -> None:
    for _ in range(1500):
        async with sessions() as session:
            row = await session.get(InboundUpdate, update["update_id"])
        if row is not None and row.status == "done":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"update {update['update_id']} was not handled")


async def unreachable_at(sessions, user_id: int):
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == user_id))
    return customer.unreachable_at


async def remind(sessions, user_id: int, text: str) -> None:
    """What a reminder or an alert does: queue_to_customer, which skips an unreachable customer."""
    async with sessions() as session, session.begin():
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == user_id))
        conversation = await conversations.current(session, customer)
        await queue_to_customer(session, conversation, customer, Say(text).to_payload(), text=text, sender="bot",
                                priority=PRIORITY_REMINDER)


async def test_unblocking_the_bot_makes_the_customer_reachable_again(api, make_any_channel, any_sessions):
    sessions = any_sessions
    async with make_any_channel(api) as channel:
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        await ann.wait_for("Hello Ann")

        await handled(sessions, ann.block_bot())
        assert await unreachable_at(sessions, ann.user_id) is not None
        await remind(sessions, ann.user_id, "Reminder while blocked")

        await handled(sessions, ann.unblock_bot())
        assert await unreachable_at(sessions, ann.user_id) is None, "unblocking is noticed without a message"
        await remind(sessions, ann.user_id, "Reminder after unblocking")
        channel.sender.wake()
        await ann.wait_for("Reminder after unblocking", timeout=20)
    assert not any("while blocked" in text for text in ann.texts())
