"""Inbound: /start in the user's language, per-chat order under load, once per update_id, malformed
updates, forged buttons, escaping, groups, media kinds, crash recovery. Real HTTP, real Dispatcher."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select

from storage.models import Customer, InboundUpdate, Message, OutboxMessage
from storage.updates import store
from tests.bot.conftest import eventually

HELLO_ZH = "您好！我是 Homedesk 智能助理"


async def test_start_answers_in_english_and_chinese(api, make_channel):
    async with make_channel(api):
        ann = api.customer(first_name="Ann", language_code="en")
        li = api.customer(first_name="李雷", language_code="zh-hans")
        ann.send_command("start")
        li.send_command("start")
        english = await ann.wait_for("Hello Ann")
        chinese = await li.wait_for(HELLO_ZH)
    assert "What can I do for you?" in english["text"]
    assert chinese["text"].startswith("李雷，")
    assert english["reply_markup"]["inline_keyboard"], "the main menu comes with buttons"


async def test_language_button_switches_language(api, make_channel):
    async with make_channel(api):
        ann = api.customer(first_name="Ann", language_code="en")
        ann.send_command("language")
        await ann.wait_for("Choose your language")
        ann.press("简体中文")
        await ann.wait_for("语言已设置为简体中文")
        answer = await ann.wait_for_callback_answer()
        ann.send_command("help")
        await ann.wait_for("我可以为您做这些")
    assert answer["callback_query_id"]


EXPECTED = {"help": "Here is what I can do", "language": "Choose your language", "start": "Hello"}


async def test_each_chat_is_handled_in_order_under_concurrent_load(api, make_channel, sessions):
    chats = 20
    per_chat = 15
    rng = random.Random(7)
    customers = [api.customer(first_name=f"C{i}") for i in range(chats)]
    plans = {c.chat_id: [rng.choice(list(EXPECTED)) for _ in range(per_chat)] for c in customers}
    async with make_channel(api, handler_concurrency=8) as channel:
        # Interleave: message k of every chat before message k+1 of any chat, all queued at once.
        for k in range(per_chat):
            for customer in customers:
                customer.send_command(plans[customer.chat_id][k])
        await eventually(lambda: sum(len(c.messages()) for c in customers) >= chats * per_chat, timeout=90,
                         what="every reply")
        await channel.sender.drain()
    for customer in customers:
        texts = customer.texts()
        assert len(texts) == per_chat, f"chat {customer.chat_id} got {len(texts)} replies"
        for command, text in zip(plans[customer.chat_id], texts, strict=True):
            assert EXPECTED[command] in text, (command, text)
    async with sessions() as session:
        # History records every chat's inbound messages in the order they were sent.
        for customer in customers:
            rows = await session.scalars(
                select(Message.text).join(Customer, Customer.telegram_user_id == customer.user_id)
                .where(Message.direction == "in").order_by(Message.id)
                .where(Message.conversation_id.in_(select_conversations(customer.user_id)))
            )
            assert [t.lstrip("/") for t in rows] == plans[customer.chat_id]
        # Delivery kept the outbox order per chat: Telegram message ids grow with outbox ids.
        sent = (await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.id, OutboxMessage.telegram_message_id)
            .order_by(OutboxMessage.id)
        )).all()
    by_chat: dict[int, list[int]] = {}
    for chat_id, _, telegram_id in sent:
        by_chat.setdefault(chat_id, []).append(telegram_id)
    assert all(ids == sorted(ids) and len(set(ids)) == len(ids) for ids in by_chat.values())


def select_conversations(user_id: int):
    from storage.models import Conversation

    return select(Conversation.id).join(Customer, Customer.id == Conversation.customer_id).where(
        Customer.telegram_user_id == user_id
    )


async def test_a_duplicated_update_is_handled_once(api, make_any_channel, any_sessions):
    sessions = any_sessions
    async with make_any_channel(api) as channel:
        ann = api.customer(first_name="Ann")
        update = ann.send_command("help")
        await ann.wait_for("Here is what I can do")
        api.push_update_duplicate(update["update_id"])
        api.push_update_duplicate(update["update_id"])
        ann.send_command("language")  # a later update proves the duplicates went through the poller
        await ann.wait_for("Choose your language")
        await channel.sender.drain()
    assert len(ann.texts()) == 2
    async with sessions() as session:
        handled = await session.scalar(select(func.count()).select_from(Message).where(
            Message.update_id == update["update_id"]))
        status = await session.scalar(select(InboundUpdate.status).where(
            InboundUpdate.update_id == update["update_id"]))
    assert handled == 1
    assert status == "done"


async def test_malformed_updates_are_stored_as_failed_and_polling_goes_on(api, make_channel, sessions):
    async with make_channel(api):
        api.push_raw_update({"update_id": 5, "message": {"text": "no chat, no date, no id"}})
        api.push_raw_update({"no_update_id": True})
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        await ann.wait_for("Hello Ann")
    async with sessions() as session:
        row = await session.get(InboundUpdate, 5)
    assert row is not None and row.status == "failed"
    assert "invalid update" in (row.error or "")


async def test_forged_and_stale_callback_data_is_answered_as_expired(api, make_channel):
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        await ann.wait_for("Hello Ann")
        for forged in ("r|nosuchflow:do-something", "garbage-without-prefix", "r|a|b"):
            ann.press_data(forged)
            await ann.wait_for("This button has expired")
            answer = await ann.wait_for_callback_answer()
            assert answer["callback_query_id"]


async def test_customer_text_is_shown_literally_not_as_html(api, make_channel):
    async with make_channel(api):
        mallory = api.customer(first_name="<b>Bold</b> & <i>co</i>")
        mallory.send_command("start")
        message = await mallory.wait_for("Hello")
    assert "<b>Bold</b> & <i>co</i>" in message["text"]
    assert not message.get("entities"), "nothing the customer typed may turn into formatting"


async def test_group_messages_are_not_handled_as_customers(api, make_channel, sessions):
    api.register_chat({"id": -100200, "type": "group", "title": "Neighbours"})
    user = {"id": 4242, "is_bot": False, "first_name": "Grace", "language_code": "en"}
    async with make_channel(api) as channel:
        api.incoming_message(-100200, user, {"text": "anyone selling a flat?"})
        api.incoming_message(-100200, user, {"text": "/start", "entities": [
            {"type": "bot_command", "offset": 0, "length": 6}]})
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        await ann.wait_for("Hello Ann")
        await eventually(lambda: bool(api.sent(-100200)), what="the group notice")
        await channel.sender.drain()
    group_texts = [m.get("text", "") for m in api.sent(-100200)]
    assert len(group_texts) == 1 and "private chat" in group_texts[0] and "私聊" in group_texts[0]
    async with sessions() as session:
        assert await session.scalar(select(Customer).where(Customer.telegram_user_id == 4242)) is None


async def test_photos_locations_contacts_and_stickers_become_dialog_events(api, make_channel, sessions):
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        ann.send_photo(caption="my leaking tap")
        ann.send_location(31.23, 121.47)
        ann.send_contact(own=True)
        ann.send_sticker()
        await ann.wait_for("Stickers, voice and other messages")
    async with sessions() as session:
        rows = (await session.execute(
            select(Message.kind, Message.text, Message.payload)
            .where(Message.direction == "in").order_by(Message.id)
        )).all()
    kinds = [row.kind for row in rows]
    assert kinds == ["photo", "location", "contact", "unsupported"]
    assert rows[0].text == "my leaking tap" and rows[0].payload["photo_file_ids"]
    assert rows[1].payload["location"] == [31.23, 121.47]
    assert rows[2].payload["phone"] == ann.phone
    assert rows[3].text == "[sticker]"


async def test_updates_stored_before_a_crash_are_handled_on_start(api, make_channel, sessions):
    ann = api.customer(first_name="Ann")
    # As if the previous process stored the update and died before handling it: Telegram will not resend it.
    raw = {"update_id": 77, "message": {
        "message_id": 1, "date": 1700000000,
        "chat": {"id": ann.chat_id, "type": "private", "first_name": "Ann"},
        "from": ann.user, "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
    async with sessions() as session, session.begin():
        assert await store(session, [{"update_id": 77, "chat_id": ann.chat_id, "payload": raw,
                                      "status": "received"}]) == {77}
    async with make_channel(api):
        await ann.wait_for("Here is what I can do", since_last_action=False)
    async with sessions() as session:
        assert (await session.get(InboundUpdate, 77)).status == "done"


async def test_blocking_the_bot_marks_the_customer_unreachable(api, make_channel, sessions):
    async with make_channel(api):
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        await ann.wait_for("Hello Ann")
        member = {"user": api.bot_user, "status": "member"}
        update = api.push_update({"my_chat_member": {
            "chat": {"id": ann.chat_id, "type": "private", "first_name": "Ann"}, "from": ann.user,
            "date": 1700000000, "old_chat_member": member,
            "new_chat_member": {**member, "status": "kicked", "until_date": 0}}}, ann.chat_id)

        async def handled() -> bool:
            async with sessions() as session:
                row = await session.get(InboundUpdate, update["update_id"])
                return row is not None and row.status == "done"

        for _ in range(200):
            if await handled():
                break
            await asyncio.sleep(0.02)
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.telegram_user_id == ann.user_id))
    assert customer.unreachable_at is not None
