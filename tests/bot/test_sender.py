"""The outbox sender against the offline Bot API server: limits, 429 storms, outages, blocked users, bad
requests, splitting, edits, media, several senders at once, priorities."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.channel import create_bot
from bot.limits import SendLimiter
from bot.sender import OutboxSender
from dialogs.replies import Album, AskContact, Choice, Location, Photo, Say
from storage import clock
from storage.events import EventBus
from storage.models import PRIORITY_AGENT, PRIORITY_BROADCAST, Customer, Message, OutboxMessage
from storage.outbox import enqueue
from storage.repositories import conversations, customers
from tests.bot.conftest import TOKEN, eventually, fast_limiter
from tests.botapi import BotApiServer
from tests.botapi.files import tiny_png
from tests.workplace import workplace_for


@asynccontextmanager
async def running_sender(server: BotApiServer, sessions, bus: EventBus | None = None,
                         limiter: SendLimiter | None = None, **options: Any) -> AsyncIterator[OutboxSender]:
    bot = create_bot(TOKEN, server.base_url)
    options = {"poll_interval": 0.02, "backoff_base": 0.01, "backoff_cap": 0.05, **options}
    sender = OutboxSender(bot, workplace_for(sessions, bus), limiter or fast_limiter(), **options)
    task = asyncio.create_task(sender.run())
    try:
        yield sender
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()


async def queue(sessions, chat_id: int, *replies, **kwargs: Any) -> list[int]:
    rows = []
    async with sessions() as session, session.begin():
        for reply in replies:
            rows.append(await enqueue(session, chat_id=chat_id, payload=reply.to_payload(), **kwargs))
    return [row.id for row in rows]  # inserted, in order, when the transaction committed


async def outbox_rows(sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def all_settled(sessions) -> bool:
    return all(row.status in ("sent", "failed") for row in await outbox_rows(sessions))


async def settle(sessions, timeout: float = 30.0) -> list[OutboxMessage]:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await all_settled(sessions):
        assert loop.time() < deadline, "outbox did not settle"
        await asyncio.sleep(0.05)
    return await outbox_rows(sessions)


def texts(server: BotApiServer, chat_id: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in server.sent(chat_id)]


async def test_replies_keep_telegram_limits_and_never_see_a_429(limited_api, sessions):
    """Ten chats, three messages each; the server enforces Telegram's limits, ours are the defaults."""
    for chat in range(1, 11):
        await queue(sessions, 5000 + chat, *[Say(f"chat {chat} message {n}") for n in range(3)])
    async with running_sender(limited_api, sessions, limiter=SendLimiter()):
        rows = await settle(sessions)
    assert {row.status for row in rows} == {"sent"}
    assert limited_api.too_many_requests == 0
    for chat in range(1, 11):
        assert texts(limited_api, 5000 + chat) == [f"chat {chat} message {n}" for n in range(3)]


async def test_a_429_storm_loses_nothing_and_duplicates_nothing(api, any_sessions):
    sessions = any_sessions
    for chat in range(1, 6):
        await queue(sessions, 6000 + chat, *[Say(f"{chat}-{n}") for n in range(4)])
    api.fail_next(12, 429, retry_after=1, methods=["sendMessage"])
    async with running_sender(api, sessions) as sender:
        rows = await settle(sessions)
    assert {row.status for row in rows} == {"sent"}
    assert api.too_many_requests == 12
    assert sender.stats["rate_limited"] == 12
    assert all(row.attempts == 0 for row in rows), "a 429 is not a failed attempt"
    for chat in range(1, 6):
        assert texts(api, 6000 + chat) == [f"{chat}-{n}" for n in range(4)]  # once each, in order


class VirtualTime:
    """The server's clock: runs 200 times faster than the wall clock, so a 60-second outage is short."""

    def __init__(self) -> None:
        self.start = asyncio.get_running_loop().time()

    def __call__(self) -> float:
        return 1_700_000_000 + (asyncio.get_running_loop().time() - self.start) * 200


async def test_a_sixty_second_outage_loses_nothing_and_duplicates_nothing(sessions):
    async with BotApiServer(token=TOKEN, limits=None, clock=VirtualTime()) as server:
        for chat in range(1, 4):
            await queue(sessions, 7000 + chat, *[Say(f"{chat}-{n}") for n in range(5)])
        server.fail_for(60, 500, methods=["sendMessage"])
        async with running_sender(server, sessions) as sender:
            rows = await settle(sessions)
        refused = sum(1 for call in server.calls if call.status == 500)
        assert {row.status for row in rows} == {"sent"}
        assert refused >= 3 and sender.stats["retried"] == refused
        assert max(row.attempts for row in rows) >= 1
        for chat in range(1, 4):
            assert texts(server, 7000 + chat) == [f"{chat}-{n}" for n in range(5)]


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    sender = OutboxSender.__new__(OutboxSender)
    sender.backoff_base, sender.backoff_cap = 1.0, 60.0
    for attempts, ceiling in [(0, 1), (1, 2), (3, 8), (5, 32), (6, 60), (40, 60)]:
        delays = [sender.backoff(attempts) for _ in range(50)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1, "jitter spreads retries out"


async def make_customer(sessions, chat_id: int) -> int:
    async with sessions() as session, session.begin():
        customer, _ = await customers.get_or_create(session, telegram_user_id=chat_id, chat_id=chat_id,
                                                    first_name="Bo")
        conversation = await conversations.current(session, customer)
        for n in range(3):
            message = await conversations.record(session, conversation, direction="out", sender="bot",
                                                 text=f"blocked {n}", delivery_status="pending")
            await enqueue(session, chat_id=chat_id, payload=Say(f"blocked {n}").to_payload(),
                          message_id=message.id, customer_id=customer.id)
        return customer.id


async def test_a_blocked_user_is_marked_unreachable_and_not_retried(api, any_sessions, bus):
    sessions = any_sessions
    customer_id = await make_customer(sessions, 8001)
    await queue(sessions, 8002, Say("to someone else"))
    api.block_chat(8001)
    async with bus.subscribe() as events, running_sender(api, sessions, bus=bus):
        rows = await settle(sessions)
        await asyncio.sleep(0.2)  # a sender that retried would call again now
        statuses = []
        while not events.empty():
            statuses.append(events.get_nowait())
    blocked = [row for row in rows if row.chat_id == 8001]
    assert [row.status for row in blocked] == ["failed"] * 3
    assert all("forbidden" in (row.error or "") for row in blocked)
    assert texts(api, 8002) == ["to someone else"]
    sends_to_blocked = [c for c in api.calls
                        if c.method == "sendMessage" and str(c.params.get("chat_id")) == "8001"]
    assert len(sends_to_blocked) == 1
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        history = list(await session.scalars(
            select(Message.delivery_status).where(Message.direction == "out")))
    assert customer.unreachable_at is not None
    assert history == ["failed"] * 3
    assert sum(1 for e in statuses if e.kind == "message.status" and e.data["status"] == "failed") == 3


async def test_a_bad_request_fails_that_row_only(api, sessions):
    await queue(sessions, 9001, Say("<b>broken markup"), Say("next one"))
    async with running_sender(api, sessions):
        rows = await settle(sessions)
    assert [row.status for row in rows] == ["failed", "sent"]
    assert "Bad Request" in rows[0].error
    assert texts(api, 9001) == ["next one"]


async def test_long_text_is_split_on_lines_with_buttons_on_the_last_part(api, sessions):
    lines = [f"line {n:04d} " + "x" * 60 for n in range(200)]  # about 14,000 characters
    await queue(sessions, 9101, Say("\n".join(lines), choices=[[Choice("OK", "menu:main")]]))
    async with running_sender(api, sessions):
        await settle(sessions)
    parts = api.sent(9101)
    assert len(parts) == 4
    assert "\n".join(m["text"] for m in parts) == "\n".join(lines)
    assert [bool(m.get("reply_markup")) for m in parts] == [False, False, False, True]


async def test_edits_replace_the_message_or_fall_back_to_a_new_one(api, sessions):
    await queue(sessions, 9201, Say("first", choices=[[Choice("Go", "menu:main")]]))
    async with running_sender(api, sessions) as sender:
        await settle(sessions)
        first_id = api.sent(9201)[0]["message_id"]
        await queue(sessions, 9201, Say("edited", edit_message_id=first_id),
                    Say("edited", edit_message_id=first_id),  # not modified: still counts as sent
                    Say("gone", edit_message_id=999))
        sender.wake()
        rows = await settle(sessions)
    assert [row.status for row in rows] == ["sent"] * 4
    assert [m["text"] for m in api.sent(9201)] == ["edited", "gone"]
    assert rows[1].telegram_message_id == first_id


async def test_photos_albums_locations_and_contact_requests(api, sessions, tmp_path):
    picture = tmp_path / "flat.png"
    picture.write_bytes(tiny_png())
    await queue(sessions, 9301,
                Photo(str(picture), caption="<b>2BR</b> in Xuhui", choices=[[Choice("Book", "menu:main")]]),
                Album([str(picture)] * 11, caption="all photos"),
                Location(31.2, 121.4),
                AskContact("May I have your phone?", button="Share my phone", cancel="Cancel"),
                Say("Thanks", remove_keyboard=True))
    async with running_sender(api, sessions, media_dir=tmp_path):
        rows = await settle(sessions)
    assert {row.status for row in rows} == {"sent"}
    methods = [c.method for c in api.calls if c.method.startswith("send")]
    assert methods == ["sendPhoto", "sendMediaGroup", "sendPhoto", "sendLocation", "sendMessage",
                       "sendMessage"]
    sent = api.sent(9301)
    assert sent[0]["caption"] == "2BR in Xuhui" and sent[0]["reply_markup"]["inline_keyboard"]
    assert sum(1 for m in sent if "photo" in m) == 12
    assert api.reply_keyboard(9301) is None, "the contact keyboard was removed again"
    request = next(c for c in api.calls if c.method == "sendMessage")
    assert "request_contact" in str(request.params.get("reply_markup"))


async def test_a_photo_edit_replaces_picture_caption_and_buttons(api, sessions, tmp_path):
    picture = tmp_path / "flat.png"
    picture.write_bytes(tiny_png())
    await queue(sessions, 9351, Photo(str(picture), caption="first flat", choices=[[Choice("Next", "menu:main")]]))
    async with running_sender(api, sessions, media_dir=tmp_path) as sender:
        await settle(sessions)
        first = api.sent(9351)[0]
        first_id, first_photo = first["message_id"], first["photo"][-1]["file_id"]
        await queue(sessions, 9351, Photo(str(picture), caption="second flat", edit_message_id=first_id,
                                          choices=[[Choice("Back", "menu:main")]]))
        sender.wake()
        rows = await settle(sessions)
    assert [row.status for row in rows] == ["sent", "sent"]
    [message] = api.sent(9351)
    assert message["caption"] == "second flat"
    assert message["photo"][-1]["file_id"] != first_photo
    assert message["reply_markup"]["inline_keyboard"][0][0]["text"] == "Back"


async def test_an_edit_that_does_not_fit_the_message_is_sent_as_a_new_one(api, sessions, tmp_path):
    """A card cannot become text, nor a text message a card (Telegram: "there is no text/media in the message to
    edit"): the customer gets the content as a new message instead of nothing."""
    picture = tmp_path / "flat.png"
    picture.write_bytes(tiny_png())
    await queue(sessions, 9361, Photo(str(picture), caption="a card", choices=[[Choice("Why not", "menu:main")]]),
                Say("What is wrong with it?", choices=[[Choice("Back", "menu:main")]]))
    async with running_sender(api, sessions, media_dir=tmp_path) as sender:
        await settle(sessions)
        card_id, question_id = (m["message_id"] for m in api.sent(9361))
        await queue(sessions, 9361, Photo(str(picture), caption="the card again", edit_message_id=question_id,
                                          choices=[[Choice("Next", "menu:main")]]),
                    Say("text instead of the card", edit_message_id=card_id))
        sender.wake()
        rows = await settle(sessions)
    assert [row.status for row in rows] == ["sent"] * 4
    sent = api.sent(9361)
    assert [m.get("caption") or m.get("text") for m in sent] == [
        "a card", "What is wrong with it?", "the card again", "text instead of the card"]
    assert "photo" in sent[2] and sent[2]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Next"


async def test_two_senders_never_send_a_row_twice_and_keep_each_chat_in_order(api, any_sessions):
    sessions = any_sessions
    for chat in range(1, 11):
        await queue(sessions, 9400 + chat, *[Say(f"{chat}:{n}") for n in range(10)])
    async with running_sender(api, sessions), running_sender(api, sessions):
        rows = await settle(sessions)
    assert {row.status for row in rows} == {"sent"}
    every = Counter(m["text"] for chat in range(1, 11) for m in api.sent(9400 + chat))
    assert len(every) == 100 and set(every.values()) == {1}
    for chat in range(1, 11):
        assert texts(api, 9400 + chat) == [f"{chat}:{n}" for n in range(10)]


async def test_agent_replies_go_before_broadcasts(api, sessions):
    await queue(sessions, 9501, *[Say(f"news {n}") for n in range(3)], priority=PRIORITY_BROADCAST)
    await queue(sessions, 9502, Say("agent here"), priority=PRIORITY_AGENT)
    async with running_sender(api, sessions, max_in_flight=1):
        await settle(sessions)
    first = next(c for c in api.calls if c.method == "sendMessage")
    assert first.params["text"] == "agent here"


async def test_rows_left_sending_by_a_dead_sender_are_sent_after_the_lease(api, sessions):
    ids = await queue(sessions, 9601, Say("was in flight"), Say("after it"))
    async with sessions() as session, session.begin():
        row = await session.get(OutboxMessage, ids[0])
        row.status = "sending"
        row.lease_until = clock.now() - timedelta(seconds=1)
    async with running_sender(api, sessions):
        await eventually(lambda: len(api.sent(9601)) == 2, what="both messages")
    assert texts(api, 9601) == ["was in flight", "after it"]


async def test_a_lease_shorter_than_a_request_is_renewed_so_nothing_is_sent_twice(api, any_sessions):
    """Short leases bring a dead sender's rows back quickly; a live sender renews the leases of the rows it
    holds, so its own lease recovery (or another sender) never takes a row whose request is still out."""
    sessions = any_sessions
    for chat in range(1, 4):
        await queue(sessions, 9700 + chat, *[Say(f"{chat}:{n}") for n in range(2)])
    api.set_latency(1.5)  # every request outlives the lease
    async with running_sender(api, sessions, lease_seconds=0.6):
        rows = await settle(sessions)
    assert {row.status for row in rows} == {"sent"}
    received = Counter(m["text"] for chat in range(1, 4) for m in api.sent(9700 + chat))
    assert len(received) == 6 and set(received.values()) == {1}, received
