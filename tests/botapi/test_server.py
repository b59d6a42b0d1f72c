"""The offline Bot API server, checked with the real aiogram 3 client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.botapi import BotApiServer, RateLimits, parse_html, tiny_png
from tests.botapi.html_text import EntityParseError

TOKEN = "123456789:TEST-botapi-token"
REPO_ROOT = Path(__file__).resolve().parents[2]


class ManualClock:
    """Seconds that move only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _QuickCloseSession(AiohttpSession):
    # aiogram waits 250 ms on close for TLS connections to drain; these are plain local sockets.
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(server: BotApiServer, token: str = TOKEN) -> Bot:
    return Bot(token, session=_QuickCloseSession(api=TelegramAPIServer.from_base(server.base_url)))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def server(clock: ManualClock) -> AsyncIterator[BotApiServer]:
    async with BotApiServer(token=TOKEN, clock=clock) as instance:
        yield instance


@pytest.fixture
async def bot(server: BotApiServer) -> AsyncIterator[Bot]:
    instance = make_bot(server)
    yield instance
    await instance.session.close()


def inline(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data) for text, data in row] for row in rows]
    )


# -- identity and message shapes -------------------------------------------------------------------


async def test_get_me_and_urls_follow_telegram(server: BotApiServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456789, True, "homedesk_test_bot")

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.base_url}/bot{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # Method names are case-insensitive and GET with a query string works, like Telegram.
        async with http.get(f"{server.base_url}/bot{TOKEN}/GETME") as response:
            assert (await response.json())["result"]["id"] == 123456789
        async with http.post(f"{server.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": 5}) as response:
            body = await response.json()
            assert response.status == 400
            assert body["description"] == "Bad Request: message text is empty"

    stranger = make_bot(server, "999:wrong")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_send_message_returns_real_message_and_records_plain_text(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer(first_name="Alice", language_code="en")
    alice.send_text("hi")
    markup = inline([("Rent", "deal:rent"), ("Buy", "deal:buy")])

    first = await bot.send_message(
        alice.chat_id, "<b>Welcome</b>, Tom &amp; Jerry &lt;3", parse_mode="HTML", reply_markup=markup
    )
    second = await bot.send_message(alice.chat_id, "plain")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id) == (2, 3)  # the customer's "hi" was message 1
    assert first.text == "Welcome, Tom & Jerry <3"
    assert first.entities[0].type == "bold" and (first.entities[0].offset, first.entities[0].length) == (0, 7)
    assert first.from_user.id == 123456789 and first.chat.first_name == "Alice"
    assert first.reply_markup.model_dump() == markup.model_dump()
    recorded = server.sent(alice.chat_id)
    assert [m["text"] for m in recorded] == ["Welcome, Tom & Jerry <3", "plain"]
    assert alice.last_message()["text"] == "plain"
    assert alice.buttons() == ["Rent", "Buy"]
    assert server.all_sent() == recorded


async def test_reply_keyboard_is_tracked_not_echoed(server: BotApiServer, bot: Bot) -> None:
    bob = server.customer(first_name="Bob", language_code="zh-hans")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="分享手机号", request_contact=True)], [KeyboardButton(text="跳过")]]
    )
    message = await bot.send_message(bob.chat_id, "请分享手机号", reply_markup=keyboard)
    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    assert bob.reply_keyboard()["keyboard"][1][0]["text"] == "跳过"

    update = bob.tap("分享手机号")
    assert update["message"]["contact"]["user_id"] == bob.user_id
    await bot.send_message(bob.chat_id, "谢谢", reply_markup=ReplyKeyboardRemove())
    assert bob.reply_keyboard() is None


# -- updates the customer produces -------------------------------------------------------------------


async def test_long_poll_delivers_every_kind_of_customer_update(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer(first_name="Alice", language_code="zh-hans")
    alice.send_text("I want a 2-bedroom flat")
    alice.send_command("/start", args="ref42")
    alice.send_photo(caption="crack in the wall")
    alice.send_location(31.2304, 121.4737)
    alice.send_contact("+8613912345678")
    alice.send_contact("+8613000000000", own=False, first_name="Wife")
    alice.send_sticker()
    alice.send_voice()
    await bot.send_message(alice.chat_id, "Pick one", reply_markup=inline([("Viewing", "book:7")]))
    alice.press("Viewing")

    updates = await bot.get_updates(timeout=1)

    assert all(isinstance(update, Update) for update in updates)
    ids = [update.update_id for update in updates]
    assert ids == sorted(ids) and len(set(ids)) == 9
    text, command, photo, location, contact, other_contact, sticker, voice = [u.message for u in updates[:8]]
    callback = updates[8].callback_query
    assert text.text == "I want a 2-bedroom flat" and text.from_user.language_code == "zh-hans"
    assert command.text == "/start ref42" and command.entities[0].type == "bot_command"
    assert command.entities[0].length == len("/start")
    assert photo.photo[-1].width == 4 and photo.photo[-1].height == 3 and photo.caption == "crack in the wall"
    assert (location.location.latitude, location.location.longitude) == (31.2304, 121.4737)
    assert contact.contact.user_id == alice.user_id and contact.contact.phone_number == "+8613912345678"
    assert other_contact.contact.user_id is None and other_contact.contact.first_name == "Wife"
    assert sticker.sticker.width == 512 and voice.voice.duration == 2
    assert isinstance(callback, CallbackQuery)
    assert callback.data == "book:7" and callback.message.text == "Pick one"
    assert callback.from_user.id == alice.user_id

    # Confirming with offset forgets them; the next poll waits and gets only new updates.
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == []
    poll = asyncio.create_task(bot.get_updates(offset=ids[-1] + 1, timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    alice.send_text("still there?")
    woken = await poll
    assert [u.message.text for u in woken] == ["still there?"]


async def test_customer_photo_can_be_fetched_and_downloaded(server: BotApiServer, bot: Bot) -> None:
    picture = tiny_png(8, 6)
    update = server.customer().send_photo(picture)
    largest = update["message"]["photo"][-1]

    file = await bot.get_file(largest["file_id"])
    assert file.file_size == len(picture)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded.read() == picture

    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file")


async def test_duplicate_and_malformed_updates_are_delivered_as_asked(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    first = alice.send_text("one")
    await bot.get_updates(timeout=0)
    second = alice.send_text("two")
    server.push_update_duplicate(first["update_id"])
    server.push_raw_update({"update_id": second["update_id"] + 1000, "message": {"bogus": True}})

    async with aiohttp.ClientSession() as http:
        url = f"{server.base_url}/bot{TOKEN}/getUpdates"
        async with http.post(url, data={"offset": str(first["update_id"] + 1)}) as response:
            result = (await response.json())["result"]
    assert [u["update_id"] for u in result] == [second["update_id"], first["update_id"], second["update_id"] + 1000]
    assert result[1]["message"]["text"] == "one"
    assert result[2] == {"update_id": second["update_id"] + 1000, "message": {"bogus": True}}


async def test_second_poller_terminates_the_first_with_conflict(server: BotApiServer, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    other = make_bot(server)
    try:
        second = asyncio.create_task(other.get_updates(timeout=5))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            await first
        server.customer().send_text("hello")
        assert [u.message.text for u in await second] == ["hello"]
    finally:
        await other.session.close()


# -- validation ---------------------------------------------------------------------------------------


async def test_text_caption_and_button_limits(server: BotApiServer, bot: Bot) -> None:
    chat_id = server.customer().chat_id
    server.set_limits(None)
    assert (await bot.send_message(chat_id, "x" * 4096)).text == "x" * 4096
    # Markup does not count: 4096 visible characters inside a tag are fine.
    assert len((await bot.send_message(chat_id, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")).text) == 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(chat_id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message is too long"):  # UTF-16 code units, not characters
        await bot.send_message(chat_id, "x" * 4095 + "\U0001f600")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(chat_id, BufferedInputFile(tiny_png(), "p.png"), caption="c" * 1025)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(chat_id, "too much data", reply_markup=inline([("Go", "d" * 65)]))
    # 64 bytes is the limit in bytes, not characters: 22 Chinese characters are 66 bytes.
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(chat_id, "wide data", reply_markup=inline([("Go", "房" * 22)]))
    await bot.send_message(chat_id, "just right", reply_markup=inline([("Go", "d" * 64)]))
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(chat_id, "<b></b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100123, "nobody here")
    assert len(server.sent(chat_id)) == 3


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<b>bold</i>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a <div>x</div>", 'Unsupported start tag "div" at byte offset 2'),
        ("price < 5000", 'Unsupported start tag "" at byte offset 6'),
        ("<span>x</span>", 'Unsupported start tag "span" at byte offset 0'),
        ("done</b>", "Unexpected end tag at byte offset 4"),
    ],
)
async def test_malformed_html_is_rejected_like_telegram(
    server: BotApiServer, bot: Bot, markup: str, error: str
) -> None:
    with pytest.raises(TelegramBadRequest) as raised:
        await bot.send_message(server.customer().chat_id, markup, parse_mode="HTML")
    assert raised.value.message == f"Bad Request: can't parse entities: {error}"
    assert server.all_sent() == []


def test_html_parser_builds_entities_in_utf16_units() -> None:
    text, entities = parse_html(
        '😀 <i>你好</i> <a href="https://x.test/a?b=1&amp;c=2">map</a> <pre><code class="language-py">x</code></pre>'
    )
    assert text == "😀 你好 map x"
    assert entities == [
        {"type": "italic", "offset": 3, "length": 2},
        {"type": "text_link", "url": "https://x.test/a?b=1&c=2", "offset": 6, "length": 3},
        {"type": "pre", "language": "py", "offset": 10, "length": 1},
    ]
    assert parse_html('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>')[1][0]["type"] == "spoiler"
    with pytest.raises(EntityParseError):
        parse_html("<br>")


# -- editing ---------------------------------------------------------------------------------------------


async def test_edits_follow_telegram_rules(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    incoming = alice.send_text("hello")["message"]["message_id"]
    sent = await bot.send_message(alice.chat_id, "Choose", reply_markup=inline([("A", "a")]))

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=alice.chat_id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text(text="x", chat_id=alice.chat_id, message_id=incoming)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="Choose", chat_id=alice.chat_id, message_id=sent.message_id, reply_markup=inline([("A", "a")])
        )

    edited = await bot.edit_message_text(text="<i>Chosen</i>: A", chat_id=alice.chat_id,
                                         message_id=sent.message_id, parse_mode="HTML")
    assert isinstance(edited, Message) and edited.text == "Chosen: A" and edited.edit_date is not None
    # An edit that does not repeat the keyboard removes it, as in Telegram.
    assert edited.reply_markup is None and alice.buttons() == []
    assert server.sent(alice.chat_id)[0]["text"] == "Chosen: A"

    with_markup = await bot.edit_message_reply_markup(
        chat_id=alice.chat_id, message_id=sent.message_id, reply_markup=inline([("Undo", "undo")])
    )
    assert with_markup.reply_markup.inline_keyboard[0][0].text == "Undo"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=alice.chat_id, message_id=sent.message_id, reply_markup=inline([("Undo", "undo")])
        )

    assert await bot.delete_message(alice.chat_id, sent.message_id) is True
    assert alice.messages() == [] and server.is_deleted(alice.chat_id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(alice.chat_id, sent.message_id)


async def call_raw(server: BotApiServer, method: str, **params: object) -> tuple[int, dict]:
    """A request aiogram's typed methods would not even build (a reply keyboard on an edit, a mixed markup)."""
    async with aiohttp.ClientSession() as http, http.post(f"{server.base_url}/bot{TOKEN}/{method}",
                                                          json=params) as response:
        return response.status, await response.json()


async def test_an_edit_must_fit_the_message(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    card = await bot.send_photo(alice.chat_id, BufferedInputFile(tiny_png(), "card.png"), caption="Card",
                                reply_markup=inline([("Next", "n")]))
    note = await bot.send_message(alice.chat_id, "Plain text")

    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text(text="Card as text", chat_id=alice.chat_id, message_id=card.message_id)
    with pytest.raises(TelegramBadRequest, match="there is no caption in the message to edit"):
        await bot.edit_message_caption(caption="x", chat_id=alice.chat_id, message_id=note.message_id)
    with pytest.raises(TelegramBadRequest, match="there is no media in the message to edit"):
        await bot.edit_message_media(media=InputMediaPhoto(media=BufferedInputFile(tiny_png(), "p.png")),
                                     chat_id=alice.chat_id, message_id=note.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):  # same caption and buttons
        await bot.edit_message_caption(caption="Card", chat_id=alice.chat_id, message_id=card.message_id,
                                       reply_markup=inline([("Next", "n")]))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):  # same text, no buttons before or after
        await bot.edit_message_text(text="Plain text", chat_id=alice.chat_id, message_id=note.message_id)
    # What failed changed nothing.
    assert [m.get("caption") or m.get("text") for m in alice.messages()] == ["Card", "Plain text"]
    assert alice.buttons() == ["Next"]


async def test_edits_take_only_inline_keyboards(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    note = await bot.send_message(alice.chat_id, "Share your phone", reply_markup=inline([("A", "a")]))
    keyboard = {"keyboard": [[{"text": "Share", "request_contact": True}]], "resize_keyboard": True}
    for method, params in (
        ("editMessageText", {"text": "Changed"}),
        ("editMessageReplyMarkup", {}),
    ):
        for markup in (keyboard, {"remove_keyboard": True}, {"force_reply": True}):
            status, body = await call_raw(server, method, chat_id=alice.chat_id, message_id=note.message_id,
                                          reply_markup=markup, **params)
            assert (status, body["description"]) == (400, "Bad Request: inline keyboard expected"), (method, markup)
    assert alice.texts() == ["Share your phone"] and alice.buttons() == ["A"] and alice.reply_keyboard() is None
    # Sending is where a reply keyboard is shown or removed.
    status, _ = await call_raw(server, "sendMessage", chat_id=alice.chat_id, text="Tap below", reply_markup=keyboard)
    assert status == 200 and alice.reply_keyboard() is not None
    status, _ = await call_raw(server, "sendMessage", chat_id=alice.chat_id, text="Thanks",
                               reply_markup={"remove_keyboard": True})
    assert status == 200 and alice.reply_keyboard() is None


async def test_a_message_carries_inline_buttons_or_a_keyboard_change_not_both(server: BotApiServer) -> None:
    alice = server.customer()
    buttons = [[{"text": "Menu", "callback_data": "menu"}]]
    for other in ({"remove_keyboard": True}, {"keyboard": [[{"text": "Share"}]]}, {"force_reply": True}):
        for method, params in (("sendMessage", {"text": "Not found"}),
                               ("sendPhoto", {"photo": "https://img.test/1.jpg", "caption": "Card"})):
            status, body = await call_raw(server, method, chat_id=alice.chat_id,
                                          reply_markup={"inline_keyboard": buttons, **other}, **params)
            assert status == 400 and body["description"].startswith(
                "Bad Request: can't parse reply keyboard markup JSON object"), (method, other)
    assert alice.messages() == []
    status, body = await call_raw(server, "sendMessage", chat_id=alice.chat_id, text="x", reply_markup={"x": 1})
    assert status == 400


async def test_a_button_press_is_answered_once(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    await bot.send_message(alice.chat_id, "Choose", reply_markup=inline([("A", "a")]))
    query_id = alice.press("A")["callback_query"]["id"]
    assert server.open_callbacks(alice.chat_id) == [{"chat_id": alice.chat_id, "data": "a", "message_id": 1}]
    assert await bot.answer_callback_query(query_id) is True
    assert server.open_callbacks(alice.chat_id) == []
    for text in (None, "Again"):
        with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
            await bot.answer_callback_query(query_id, text=text)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("4000000000000000999")
    assert [a["callback_query_id"] for a in alice.callback_answers()] == [query_id]


async def test_transcript_records_copies_and_keyboard_changes(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    first = await bot.send_message(alice.chat_id, "One", reply_markup=inline([("A", "a")]))
    await bot.send_message(alice.chat_id, "Share", reply_markup=ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Share", request_contact=True)]]))
    await bot.edit_message_text(text="One, edited", chat_id=alice.chat_id, message_id=first.message_id)
    await bot.send_message(alice.chat_id, "Thanks", reply_markup=ReplyKeyboardRemove())
    state = server.chat_state(alice.chat_id)
    assert [(kind, m["text"]) for kind, m in state.history] == [
        ("sent", "One"), ("sent", "Share"), ("edited", "One, edited"), ("sent", "Thanks")]
    assert state.history[0][1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"  # as it was then
    assert [(message_id, bool(keyboard)) for message_id, keyboard in state.keyboard_log] == [(2, True), (3, False)]


async def test_wait_for_sees_new_and_edited_messages(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    old = await bot.send_message(alice.chat_id, "Old news")
    alice.send_text("anything new?")

    # Messages from before the customer's last action do not satisfy a wait unless asked.
    with pytest.raises(TimeoutError, match="got nothing"):
        await alice.wait_for("Old news", timeout=0.01)
    assert (await alice.wait_for("Old news", timeout=0.01, since_last_action=False))["message_id"] == old.message_id

    waiting = asyncio.create_task(alice.wait_for("Listing"))
    await asyncio.sleep(0)
    await bot.send_message(alice.chat_id, "Listing HD-001: 2 rooms")
    assert (await waiting)["text"] == "Listing HD-001: 2 rooms"

    edit_seen = asyncio.create_task(alice.wait_for(lambda m: m.get("edit_date") is not None))
    await asyncio.sleep(0)
    await bot.edit_message_text(text="Old news, updated", chat_id=alice.chat_id, message_id=old.message_id)
    assert (await edit_seen)["message_id"] == old.message_id


# -- callbacks -------------------------------------------------------------------------------------------


async def test_press_answers_and_forged_data(server: BotApiServer, bot: Bot) -> None:
    alice = server.customer()
    await bot.send_message(alice.chat_id, "Old", reply_markup=inline([("Stale", "stale")]))
    await bot.send_message(alice.chat_id, "New", reply_markup=inline([("Yes", "y"), ("No", "n")]))

    with pytest.raises(LookupError, match=r"available: \['Yes', 'No'\]"):
        alice.press("Maybe")
    with pytest.raises(LookupError):
        alice.press("Stale")  # only the latest keyboard by default
    assert alice.press("Stale", search_last=2)["callback_query"]["data"] == "stale"
    update = alice.press("No")
    query_id = update["callback_query"]["id"]

    assert await bot.answer_callback_query(query_id, text="Noted", show_alert=True) is True
    answer = await alice.wait_for_callback_answer(timeout=1)
    assert (answer["text"], answer["show_alert"], answer["data"]) == ("Noted", True, "n")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)

    forged = alice.press_data("admin:delete_all")
    assert forged["callback_query"]["message"]["text"] == "New"
    assert forged["callback_query"]["data"] == "admin:delete_all"


# -- flood control ------------------------------------------------------------------------------------


async def test_private_chat_burst_then_one_per_second(server: BotApiServer, bot: Bot, clock: ManualClock) -> None:
    chat_id = server.customer().chat_id
    for number in range(3):
        await bot.send_message(chat_id, f"burst {number}")
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(chat_id, "one too many")
    assert raised.value.retry_after == 1
    assert server.too_many_requests == 1
    clock.advance(1.0)
    await bot.send_message(chat_id, "after waiting")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(chat_id, "again too soon")
    assert server.too_many_requests == 2
    assert [m["text"] for m in server.sent(chat_id)][-1] == "after waiting"


async def test_global_and_group_limits(server: BotApiServer, bot: Bot, clock: ManualClock) -> None:
    for number in range(30):
        await bot.send_message(1000 + number, "broadcast")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(2000, "the 31st in one second")
    clock.advance(1.0)
    await bot.send_message(2000, "next second")

    server.register_chat({"id": -42, "type": "group", "title": "Agents"})
    for number in range(20):
        clock.advance(1.0)
        await bot.send_message(-42, f"group {number}")
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(-42, "21st this minute")
    assert raised.value.retry_after == 41  # the first group message leaves the window 41 s from now
    assert server.too_many_requests == 2

    server.set_limits(RateLimits(private_burst=None, group_per_minute=None))
    for _ in range(5):
        await bot.send_message(2000, "no per-chat limit now")


# -- fault injection ---------------------------------------------------------------------------------


async def test_fail_next_fail_for_and_block(server: BotApiServer, bot: Bot, clock: ManualClock) -> None:
    server.set_limits(None)
    chat_id = server.customer().chat_id

    server.fail_next(1, status=500)
    with pytest.raises(TelegramServerError):
        await bot.send_message(chat_id, "lost")
    await bot.send_message(chat_id, "delivered")

    server.fail_next(1, status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(chat_id, "throttled")
    assert raised.value.retry_after == 7 and server.too_many_requests == 1

    server.fail_for(10, status=502)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(chat_id, "outage")
    clock.advance(10)
    await bot.send_message(chat_id, "recovered")

    server.block_chat(chat_id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(chat_id, "are you there?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(chat_id, "still blocked")

    assert [m["text"] for m in server.sent(chat_id)] == ["delivered", "recovered"]
    statuses = [call.status for call in server.calls if call.method == "sendMessage"]
    assert statuses == [500, 200, 429, 502, 502, 200, 403, 403]


async def test_hung_request_is_never_answered_nor_delivered(server: BotApiServer) -> None:
    chat_id = server.customer().chat_id
    server.hang_next(1)
    async with aiohttp.ClientSession() as http:
        url = f"{server.base_url}/bot{TOKEN}/sendMessage"
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(url, json={"chat_id": chat_id, "text": "into the void"},
                                 timeout=aiohttp.ClientTimeout(total=0.2)):
                pass
        async with http.post(url, json={"chat_id": chat_id, "text": "second try"}) as response:
            assert response.status == 200
    assert [m["text"] for m in server.sent(chat_id)] == ["second try"]
    assert server.calls[0].hung and server.calls[0].status is None


async def test_hang_for_leaves_every_request_of_the_window_unanswered(server: BotApiServer, bot: Bot,
                                                                       clock: ManualClock) -> None:
    chat_id = server.customer().chat_id
    server.set_limits(None)
    server.hang_for(30)
    for _ in range(2):
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(chat_id, "into the void", request_timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises(TelegramNetworkError):
        await bot.get_me(request_timeout=0.2)  # type: ignore[arg-type]
    clock.advance(31)
    assert (await bot.send_message(chat_id, "after the hang")).text == "after the hang"
    assert [m["text"] for m in server.sent(chat_id)] == ["after the hang"]
    assert [call.hung for call in server.calls] == [True, True, True, False]


async def test_latency_delays_answers(server: BotApiServer, bot: Bot) -> None:
    server.set_latency(0.3)
    with pytest.raises(TelegramNetworkError):
        await bot.get_me(request_timeout=0.05)  # type: ignore[arg-type]
    server.set_latency(0)
    assert (await bot.get_me()).is_bot


# -- other methods ----------------------------------------------------------------------------------


async def test_media_documents_locations_commands(server: BotApiServer, bot: Bot) -> None:
    server.set_limits(None)
    chat_id = server.customer().chat_id
    png = tiny_png(640, 480)
    uploaded = await bot.send_photo(chat_id, BufferedInputFile(png, "flat.png"), caption="<b>HD-7</b>",
                                    parse_mode="HTML")
    assert uploaded.photo[-1].width == 640 and uploaded.caption == "HD-7"
    assert server.file_bytes(uploaded.photo[-1].file_id) == png
    again = await bot.send_photo(chat_id, uploaded.photo[0].file_id)
    assert again.photo == uploaded.photo
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(chat_id, "unknown-file-id")

    album = await bot.send_media_group(chat_id, [
        InputMediaPhoto(media=uploaded.photo[-1].file_id, caption="living room"),
        InputMediaPhoto(media=BufferedInputFile(tiny_png(), "b.png")),
    ])
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    document = await bot.send_document(chat_id, BufferedInputFile(b"%PDF-1.4", "contract.pdf"))
    assert document.document.file_name == "contract.pdf"
    location = await bot.send_location(chat_id, 22.54, 114.06)
    assert location.location.latitude == 22.54
    assert await bot.send_chat_action(chat_id, "typing") is True
    assert server.chat_actions == [(chat_id, "typing")]

    assert await bot.set_my_commands([BotCommand(command="start", description="Start")]) is True
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_aiogram_dispatcher_round_trip(server: BotApiServer) -> None:
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}", reply_markup=inline([("Again", "again")]))

    @router.callback_query(F.data == "again")
    async def again(query: CallbackQuery) -> None:
        await query.answer("once more")
        await query.message.edit_text("echo again")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = make_bot(server)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        alice = server.customer(language_code="zh-hans")
        alice.send_text("你好")
        reply = await alice.wait_for("echo: 你好")
        assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "again"
        alice.press("Again")
        assert (await alice.wait_for("echo again"))["message_id"] == reply["message_id"]
        assert (await alice.wait_for_callback_answer())["text"] == "once more"
    finally:
        await dispatcher.stop_polling()
        await polling


# -- webhook mode ---------------------------------------------------------------------------------------


async def test_webhook_delivery_with_secret_and_reply_method(server: BotApiServer, bot: Bot) -> None:
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update))
        chat_id = update["message"]["chat"]["id"]
        # Answering with a method in the body, as aiogram's webhook handler may do.
        return web.json_response({"method": "sendMessage", "chat_id": chat_id, "text": "via webhook reply"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        alice = server.customer()
        alice.send_text("queued before the webhook")
        assert await bot.set_webhook(hook_url, secret_token="s3cret-token_1") is True
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        alice.send_text("after the webhook")

        reply = await alice.wait_for("via webhook reply", timeout=2)
        await alice.wait_for(lambda m: m["message_id"] > reply["message_id"], timeout=2)
        assert [secret for secret, _ in received] == ["s3cret-token_1", "s3cret-token_1"]
        assert [u["message"]["text"] for _, u in received] == ["queued before the webhook", "after the webhook"]
        info = await bot.get_webhook_info()
        assert info.url == hook_url and info.pending_update_count == 0

        assert await bot.delete_webhook() is True
        alice.send_text("polling again")
        assert [u.message.text for u in await bot.get_updates(timeout=1)] == ["polling again"]
    finally:
        await runner.cleanup()


async def test_aiogram_webhook_handler_with_secret_and_multipart_reply(server: BotApiServer) -> None:
    router = Router()

    @router.message(F.text)
    async def answer_in_response(message: Message) -> object:
        # Returned methods travel back in the webhook response body (multipart), not as a request.
        return message.answer(f"webhook says: {message.text}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = make_bot(server)
    app = web.Application()
    SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token="right-secret"
    ).register(app, path="/tg")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
        assert await bot.set_webhook(url, secret_token="wrong-secret")
        alice = server.customer()
        alice.send_text("hello")
        info = await bot.get_webhook_info()
        for _ in range(200):  # the first delivery attempt is rejected by aiogram's secret check
            if info.last_error_message:
                break
            await asyncio.sleep(0.01)
            info = await bot.get_webhook_info()
        assert info.pending_update_count == 1 and "401" in info.last_error_message
        assert alice.messages() == []

        assert await bot.set_webhook(url, secret_token="right-secret")
        assert (await alice.wait_for("webhook says: hello", timeout=2))["from"]["id"] == 123456789
        reply_calls = [call for call in server.calls if call.via_webhook_reply]
        assert [(call.method, call.status) for call in reply_calls] == [("sendMessage", 200)]
        await bot.delete_webhook()
    finally:
        await runner.cleanup()
        await bot.session.close()


# -- out of process ---------------------------------------------------------------------------------------


async def test_control_api_feeds_updates_and_reports_stats(server: BotApiServer, bot: Bot) -> None:
    async with aiohttp.ClientSession(base_url=server.base_url) as http:
        async with http.post("/_control/push_text", json={"chat_id": 501, "text": "hi", "language_code": "zh-hans"}):
            pass
        async with http.post("/_control/push_batch", json={"items": [{"chat_id": 502, "text": "a"},
                                                                        {"chat_id": 503, "command": "/start"}]}):
            pass
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates] == ["hi", "a", "/start"]
        assert updates[0].message.from_user.language_code == "zh-hans"
        await bot.send_message(501, "hello")
        async with http.post("/_control/fault", json={"kind": "fail_next", "n": 1, "status": 429}):
            pass
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(502, "nope")
        async with http.get("/_control/stats") as response:
            stats = await response.json()
    assert stats["sent_messages"] == 1 and stats["too_many_requests"] == 1
    assert stats["updates_pushed"] == 3 and stats["updates_delivered"] == 3
    assert [receipt[:2] for receipt in stats["receipts"]] == [[501, 2]]


def test_runs_as_a_separate_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.botapi", "--port", "0", "--token", TOKEN, "--no-limits"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")

        async def exercise() -> dict:
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{base_url}/_control/push_text", json={"chat_id": 9, "text": "ping"}):
                    pass
                async with http.post(f"{base_url}/bot{TOKEN}/getUpdates", data={"timeout": "1"}) as response:
                    updates = (await response.json())["result"]
                text = json.dumps({"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]})
                async with http.post(f"{base_url}/bot{TOKEN}/sendMessage",
                                     data={"chat_id": "9", "text": "pong", "reply_markup": text}) as response:
                    assert response.status == 200
                async with http.get(f"{base_url}/_control/stats") as response:
                    return {"updates": updates, "stats": await response.json()}

        outcome = asyncio.run(exercise())
        assert outcome["updates"][0]["message"]["text"] == "ping"
        assert outcome["stats"]["sent_messages"] == 1
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0
