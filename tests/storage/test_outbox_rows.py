"""Each channel takes its own outbox rows: the Telegram sender never claims a web visitor's, and the web chat
delivers web rows (pending -> sent, the history message with them) without touching Telegram's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dialogs.replies import Say
from storage import clock, outbox_rows
from storage.db import transaction
from storage.models import PRIORITY_AGENT, Message, OutboxMessage
from storage.outbox import queue_to_customer
from storage.repositories import conversations, customers


async def _both(sessions) -> tuple[int, int]:
    async with transaction(sessions) as session:
        telegram, _ = await customers.get_or_create(session, telegram_user_id=10, chat_id=10)
        web, _ = await customers.get_or_create(session, channel="web", external_id="visitor-1")
        for customer in (telegram, web):
            conversation = await conversations.current(session, customer)
            for n in range(2):
                await queue_to_customer(session, conversation, customer, Say(f"{customer.channel} {n}").to_payload(),
                                        text=f"{customer.channel} {n}", sender="bot", priority=PRIORITY_AGENT)
        return telegram.id, web.id


async def test_web_rows_have_the_web_channel_and_no_chat(any_sessions) -> None:
    _, web_id = await _both(any_sessions)
    async with any_sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.channel, r.chat_id) for r in rows] == [("telegram", 10), ("telegram", 10), ("web", None), ("web", None)]
    assert {r.customer_id for r in rows if r.channel == "web"} == {web_id}


async def test_the_telegram_claim_never_takes_web_rows(any_sessions) -> None:
    await _both(any_sessions)
    async with transaction(any_sessions) as session:
        claimed = await outbox_rows.claim(session, now=clock.now(), lease=timedelta(seconds=30), limit=50)
    assert [row.payload["text"] for row in claimed] == ["telegram 0"]  # the chat's head only, never a web row


async def test_the_web_chat_delivers_web_rows_once_with_their_history(any_sessions) -> None:
    telegram_id, web_id = await _both(any_sessions)
    async with transaction(any_sessions) as session:
        taken = await outbox_rows.deliver_web(session, now=clock.now(), limit=50)
    async with transaction(any_sessions) as session:
        again = await outbox_rows.deliver_web(session, now=clock.now(), limit=50)
    assert [row.payload["text"] for row in taken] == ["web 0", "web 1"] and again == []
    assert {row.customer_id for row in taken} == {web_id}
    assert all(row.sender == "bot" and row.conversation_id for row in taken)
    async with any_sessions() as session:
        statuses = dict((await session.execute(select(OutboxMessage.channel, OutboxMessage.status)
                                               .where(OutboxMessage.status == "sent"))).all())
        delivered = (await session.scalars(select(Message.delivery_status).where(Message.text.like("web %")))).all()
        telegram_left = (await session.scalars(select(OutboxMessage.status).where(
            OutboxMessage.customer_id == telegram_id))).all()
    assert statuses == {"web": "sent"} and delivered == ["sent", "sent"] and telegram_left == ["pending", "pending"]


async def test_the_web_chat_can_deliver_one_visitor_at_a_time(any_sessions) -> None:
    _, web_id = await _both(any_sessions)
    async with transaction(any_sessions) as session:
        assert await outbox_rows.deliver_web(session, now=clock.now(), limit=50, customer_id=web_id + 100) == []
        assert len(await outbox_rows.deliver_web(session, now=clock.now(), limit=50, customer_id=web_id)) == 2


async def test_a_customer_without_a_chat_gets_history_but_no_outbox_row(any_sessions) -> None:
    """A walk-in staff entered (no Telegram chat, no web identity yet): what is sent to them is in the history,
    marked failed, and nothing waits in the outbox for a sender that could never deliver it."""
    from storage.models import Customer

    async with transaction(any_sessions) as session:
        walk_in = Customer(first_name="Walk-in", phone="13800000000", tags=[])
        session.add(walk_in)
        await session.flush()
        conversation = await conversations.current(session, walk_in)
        message = await queue_to_customer(session, conversation, walk_in, Say("Your repair is R-1").to_payload(),
                                          text="Your repair is R-1", sender="system", priority=PRIORITY_AGENT)
    async with any_sessions() as session:
        assert (await session.get(Message, message.id)).delivery_status == "failed"
        assert (await session.scalars(select(OutboxMessage))).all() == []
