"""Fuzz: generated updates of every kind through the real pipeline never stop the bot (issue 14, "Done when").

Hypothesis draws batches of updates (tests/bot/fuzz_updates.py): messages of every content kind, edits, button
presses with real, mutated and forged data, membership changes, group messages, kinds the bot never asked for,
ids at and beyond the 64-bit bounds, hostile text, unknown and missing fields, broken updates. Each batch goes
through InboundPipeline.accept, directly as the webhook hands it over or through the offline Bot API server and
getUpdates, into one running channel (real Dispatcher, flows, outbox sender over HTTP) on SQLite and, with
TEST_DATABASE_URL, PostgreSQL, with the demo listings loaded so presses reach deep into the flows.

After every batch:
- the channel is up (poller and sender tasks alive) and intake moves for other chats: a canary customer's
  /help, sent after the batch, is answered;
- every update reached an end (done, or failed and dead-lettered): nothing waits or loops;
- every button press that reached the bot as a new update is answered (answerCallbackQuery);
- Telegram refused nothing the bot sent (the offline server checks HTML, UTF-16 lengths, buttons, callback
  answers and answers 400): no 400 apart from an edit of a message that is gone, which the sender answers by
  sending the content as a new message;
- nothing failed inside the bot: no flow raised (that would give the customer an apology), no handler failed
  except on an update Telegram could not have sent (MalformedUpdate), nothing was dropped.

Bounded and reproducible: a fixed number of examples (HOMEDESK_FUZZ_EXAMPLES, default 60 per database),
derandomized, no deadline, no example database; no assertion on time. All examples share one channel (its state
carries over, as in production), so a failing example is shrunk against that state. HOMEDESK_FUZZ_REPORT=1 (with
-s) prints what the examples reached: update kinds, flows, presses, dead letters, Telegram's answers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.types import Update
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.handlers import MalformedUpdate
from bot.sender import EDIT_GONE, NOT_MODIFIED
from storage.demo import seed_demo
from storage.models import InboundUpdate, OutboxMessage
from storage.updates import fits_int64
from tests.bot import fuzz_updates as fz
from tests.bot.conftest import eventually
from tests.botapi import BotApiServer
from tests.botapi.files import tiny_png

EXAMPLES = int(os.environ.get("HOMEDESK_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example, HealthCheck.filter_too_much],
)
# aiogram warns (with the whole update) about kinds it does not know; the pipeline handles them as done.
pytestmark = pytest.mark.filterwarnings("ignore:Detected unknown update type:RuntimeWarning")
UPDATE_KINDS = frozenset(Update.model_fields) - {"update_id"}
FRESH_IDS_FROM = 5_000_000_001  # generated update ids; the offline server's own start at 100_000_001
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup"})
CANARY_REPLY = "Here is what I can do"


class Records(logging.Handler):
    """Every record of the bot's own loggers (bot, dialogs, storage) at WARNING and above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in ("bot", "dialogs", "storage"):
            self.records.append(record)


def unexpected(records: list[logging.LogRecord]) -> list[str]:
    """Errors the fuzz must not cause. An update Telegram could not have sent (a private message without its
    sender) fails in its handler by design (MalformedUpdate) and ends in the dead letters; anything else logged
    at ERROR is a defect."""
    malformed = {record.args[0] for record in records
                 if record.exc_info and isinstance(record.exc_info[1], MalformedUpdate) and record.args}
    found = []
    for record in records:
        if record.levelno < logging.ERROR or (record.exc_info and isinstance(record.exc_info[1], MalformedUpdate)):
            continue
        if "it is in the dead letters" in record.msg and record.args and record.args[0] in malformed:
            continue
        error = f" ({record.exc_info[1]!r})" if record.exc_info else ""
        found.append(f"{record.name}: {record.getMessage()[:500]}{error}")
    return found


@dataclass
class Rig:
    api: BotApiServer
    channel: Any
    sessions: Any
    canary: Any
    records: Records
    update_ids: itertools.count = field(default_factory=lambda: itertools.count(FRESH_IDS_FROM))
    query_ids: itertools.count = field(default_factory=lambda: itertools.count(9_000_000_000_000_000_001))
    seen: set[int] = field(default_factory=set)
    calls_checked: int = 0
    records_checked: int = 0
    examples: int = 0

    # -- delivering ------------------------------------------------------------------------------------------

    async def deliver(self, batch: list[Any], route: str) -> set[str]:
        """Resolve the markers of each update, then hand the batch over (in chunks, so a press can see the bot's
        answer to what came before it); returns the callback query ids the bot must answer."""
        expected: set[str] = set()
        chunk: list[Any] = []
        for raw in batch:
            if needs_current_state(raw) and chunk:
                await self.hand_over(chunk, route)
                chunk = []
                await self.settle()
            update = self.resolve(raw)
            self.prepare_server(update)
            query_id = self.expect_answer(update)
            if query_id is not None:
                expected.add(query_id)
            chunk.append(update)
        await self.hand_over(chunk, route)
        return expected

    async def hand_over(self, chunk: list[Any], route: str) -> None:
        """Polled: through the server and getUpdates (waits until the poller has stored them); otherwise, or when
        Telegram could not send it so, straight to accept() as the webhook hands an update over."""
        direct: list[Any] = []
        last_polled = None
        for update in chunk:
            if route == "polled" and pollable(update):
                # The server gives it an id of its own; it is new, like the Fresh id it replaces.
                last_polled = self.api.push_update({key: value for key, value in update.items()
                                                    if key != "update_id"})["update_id"]
            else:
                direct.append(update)
        if direct:
            await self.channel.pipeline.accept(direct)
        if last_polled is not None:
            poller = self.channel.poller
            await eventually(lambda: (poller.offset or 0) > last_polled, what="the poller to store the updates")

    def resolve(self, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("callback_query"), dict):
            query = raw["callback_query"]
            presser = query.get("from", {}).get("id") if isinstance(query.get("from"), dict) else None
            message = self.bot_message(presser)
            return {key: (self._press(value, message) if key == "callback_query" else self._plain(value))
                    for key, value in raw.items()}
        return self._plain(raw)

    def _press(self, query: dict, message: dict) -> dict:
        resolved = {}
        for key, value in query.items():
            if isinstance(value, fz.BotMessage):
                resolved[key] = message
            elif isinstance(value, fz.RealButton | fz.Mutated):
                resolved[key] = self.button_data(message, value)
            else:
                resolved[key] = self._plain(value)
        return resolved

    def _plain(self, value: Any) -> Any:
        if isinstance(value, fz.Fresh):
            return next(self.update_ids)
        if isinstance(value, fz.QueryId):
            return str(next(self.query_ids))
        if isinstance(value, fz.Photo):
            return self.api.store_photo(tiny_png())
        if isinstance(value, fz.BotMessage):
            return self.bot_message(None)
        if isinstance(value, fz.RealButton | fz.Mutated):
            return "r|?"
        if isinstance(value, dict):
            return {key: self._plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._plain(item) for item in value]
        return value

    def bot_message(self, chat_id: Any) -> dict:
        """The bot's latest message with buttons in the presser's chat (else its latest), as Telegram attaches it
        to a press. A presser the bot never wrote to (an odd id) presses a message in a regular customer's chat,
        as a forger would; a made-up message when the bot has written to nobody yet."""
        for chat in (chat_id, *fz.REGULARS):
            sent = self.api.sent(chat) if isinstance(chat, int) else []
            with_buttons = [m for m in sent if m.get("reply_markup", {}).get("inline_keyboard")]
            if with_buttons or sent:
                return json.loads(json.dumps((with_buttons or sent)[-1]))
        chat = {"id": chat_id, "type": "private", "first_name": "Fuzz"}
        return {"message_id": 1, "date": fz.NOW, "chat": chat, "from": fz.BOT, "text": "Hello"}

    @staticmethod
    def button_data(message: dict, marker: fz.RealButton | fz.Mutated) -> str:
        buttons = [button["callback_data"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
                   for button in row if "callback_data" in button]
        data = buttons[marker.index % len(buttons)] if buttons else "r|menu:start"
        return mutate(data, marker.how) if isinstance(marker, fz.Mutated) else data

    def prepare_server(self, update: Any) -> None:
        """Make the server know what Telegram would: the chats the bot hears from (so it may answer there), a
        blocked bot (my_chat_member), the press to be answered."""
        for chat in chats_in(update):
            if self.api.chat_state(chat["id"]) is None:
                title = {"first_name": "Fuzz"} if chat.get("type") == "private" else {"title": "Fuzz group"}
                self.api.register_chat({"id": chat["id"], "type": chat.get("type") or "private", **title})
        if not isinstance(update, dict):
            return
        member = update.get("my_chat_member")
        if isinstance(member, dict):
            chat_id = dig(member, "chat", "id")
            status = dig(member, "new_chat_member", "status")
            if isinstance(chat_id, int) and chat_id > 0 and status in ("kicked", "member"):
                (self.api.block_chat if status == "kicked" else self.api.unblock_chat)(chat_id)
        for kind in ("message", "callback_query"):  # writing to a bot one blocked unblocks it
            chat_id = dig(update, kind, "chat", "id") if kind == "message" else dig(update, kind, "message", "chat",
                                                                                      "id")
            if isinstance(chat_id, int) and chat_id > 0 and self.api.chat_state(chat_id) is not None:
                self.api.unblock_chat(chat_id)
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            self.api.open_callback_query(query["id"], dig(query, "message", "chat", "id"), query.get("data"),
                                         dig(query, "message", "message_id"))

    def expect_answer(self, update: Any) -> str | None:
        """The query id the bot must answer: a press that reached it as a new update of its own kind."""
        if not isinstance(update, dict):
            return None
        update_id = update.get("update_id")
        is_int = isinstance(update_id, int) and not isinstance(update_id, bool)
        repeated = is_int and update_id in self.seen
        if is_int:
            self.seen.add(update_id)
        query = update.get("callback_query")
        other_kinds = UPDATE_KINDS & (set(update) - {"callback_query"})
        if repeated or other_kinds or not isinstance(query, dict) or not isinstance(query.get("id"), str):
            return None
        return query["id"]

    # -- waiting and checking ----------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Everything accepted so far is handled and every reply it queued has been delivered."""
        await self.channel.pipeline.join()

        async def outbox_busy() -> int:
            async with self.sessions() as session:
                return int(await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending")))) or 0)

        for _ in range(1500):  # a safety net, not a speed requirement
            if not await outbox_busy():
                break
            self.channel.sender.wake()
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the outbox did not settle")
        await self.channel.sender.drain()

    async def check(self, expected_answers: set[str]) -> None:
        self.examples += 1
        # Intake moves for other chats: a customer who writes after the batch is answered.
        self.canary.send_command("help")
        await self.canary.wait_for(CANARY_REPLY, timeout=30)
        await self.settle()
        for task in self.channel._tasks:
            assert not task.done(), f"{task.get_name()} died: {task.exception() if not task.cancelled() else ''}"
        answered = {answer["callback_query_id"] for answer in self.api.answered_callbacks}
        await eventually(lambda: expected_answers <= {a["callback_query_id"] for a in self.api.answered_callbacks},
                         timeout=30, what=f"answers to {sorted(expected_answers - answered)}")
        refused = [(call.method, call.description) for call in self.api.calls[self.calls_checked:]
                   if call.status == 400 and not harmless(call.method, call.description or "")]
        self.calls_checked = len(self.api.calls)
        assert not refused, f"Telegram refused what the bot sent: {refused}"
        async with self.sessions() as session:
            waiting = list(await session.scalars(select(InboundUpdate.update_id).where(
                InboundUpdate.status == "received")))
        assert not waiting, f"updates left unhandled: {waiting}"
        errors = unexpected(self.records.records[self.records_checked:])
        self.records_checked = len(self.records.records)
        assert not errors, "the bot failed inside:\n" + "\n".join(errors)


def harmless(method: str, description: str) -> bool:
    """A 400 the sender expects and recovers from: the message a press pointed at is gone or cannot be edited
    (it sends the content as a new message), or the edit changes nothing."""
    return method in EDIT_METHODS and any(reason in description for reason in (*EDIT_GONE, NOT_MODIFIED))


def needs_current_state(raw: Any) -> bool:
    query = raw.get("callback_query") if isinstance(raw, dict) else None
    return isinstance(query, dict) and any(isinstance(value, fz.BotMessage | fz.RealButton | fz.Mutated)
                                           for value in query.values())


def pollable(update: Any) -> bool:
    """Can the offline server hand this update out through getUpdates? Only a well-formed JSON object with a
    new id: Telegram's ids grow, and its JSON is valid UTF-8 (no lone surrogates)."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return False
    if not update["update_id"] >= FRESH_IDS_FROM:
        return False
    try:
        json.dumps(update, ensure_ascii=False).encode()
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def chats_in(value: Any) -> list[dict]:
    found: list[dict] = []
    if isinstance(value, dict):
        if (isinstance(value.get("id"), int) and not isinstance(value.get("id"), bool)
                and value.get("type") in ("private", "group", "supergroup", "channel")):
            found.append(value)
        for item in value.values():
            found += chats_in(item)
    elif isinstance(value, list):
        for item in value:
            found += chats_in(item)
    return found


def dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def mutate(data: str, how: str) -> str:
    """A real button's data, forged: numbers beyond 64 bits or negative, cut short, another flow's prefix..."""
    head, _, tail = data.partition("|")
    words = tail.split(":")
    numbers = [index for index, word in enumerate(words) if word.isdigit()]
    if how == "id_beyond_64_bits":
        for index in numbers or [len(words)]:
            words[index:index + 1] = [str(2**64 + 1)]
    elif how == "negative":
        for index in numbers or [len(words)]:
            words[index:index + 1] = ["-" + (words[index] if index < len(words) else "1")]
    elif how == "huge":
        words.append("9" * 60)
    elif how == "nul":
        words.append("\x00")
    elif how == "truncate":
        return data[: max(1, len(data) // 2)]
    elif how == "other_prefix":
        flows = ["menu", "needs", "recommend", "booking", "viewings", "repair", "complaint", "tickets", "survey",
                 "revisit", "handoff"]
        words[0] = flows[(len(data) + len(words)) % len(flows)]
    elif how == "append":
        words.append("extra")
    elif how == "unicode_digits":
        words = [word.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) for word in words]
    return f"{head}|{':'.join(words)}"


@pytest.fixture
async def rig(api, make_any_channel, any_sessions, tmp_path):
    media = tmp_path / "media"
    await seed_demo(any_sessions, media, password="fuzz-demo-password")
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        async with make_any_channel(api, handler_concurrency=4, intake={"retry_base": 0.01, "retry_cap": 0.05},
                                    sender={"media_dir": media}) as channel:
            canary = api.customer(first_name="Canary")
            rig = Rig(api, channel, any_sessions, canary, records)
            yield rig
            if os.environ.get("HOMEDESK_FUZZ_REPORT"):
                await report(rig)
    finally:
        logging.getLogger().removeHandler(records)


async def report(rig: Rig) -> None:
    """What the examples reached (HOMEDESK_FUZZ_REPORT=1, with -s): to see that the fuzz is not hollow."""
    from collections import Counter

    from storage.models import Conversation, DeadLetter, Message

    def counts(rows: Any) -> dict:
        return dict(Counter(str(row)[:40] for row in rows).most_common(25))

    async with rig.sessions() as session:
        print(f"\nexamples {rig.examples}; calls {dict(rig.api.calls_by_method)}")
        print("400s", counts(f"{c.method} {c.description}" for c in rig.api.calls if c.status == 400))
        print("updates", counts(await session.scalars(select(InboundUpdate.status))))
        print("dead letters", counts(re.sub(r"[0-9]+", "N", error) for error in await session.scalars(
            select(DeadLetter.error))))
        print("flows", counts(await session.scalars(select(Conversation.flow))))
        print("inbound", counts(await session.scalars(select(Message.kind).where(Message.direction == "in"))))
        print("presses", counts(payload.get("choice") if isinstance(payload, dict) else repr(payload)
                                for payload in await session.scalars(select(Message.payload).where(
                                    Message.kind == "choice"))))


@FUZZ
@given(batch=fz.batches, route=st.sampled_from(["direct", "polled"]))
async def test_generated_updates_never_stop_the_bot(rig: Rig, batch: list[Any], route: str) -> None:
    expected = await rig.deliver(batch, route)
    await rig.check(expected)


def test_the_strategies_reach_every_kind_and_edge() -> None:
    """The generator is not hollow: each kind of update and each edge is drawn (hypothesis.find stops at the first
    example that has it, and fails when none of a few thousand has)."""
    search = settings(max_examples=3000, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))

    def drawn(strategy: st.SearchStrategy[Any], what: Any) -> None:
        find(strategy, what, settings=search)

    for kind in ("message", "edited_message", "callback_query", "my_chat_member", "inline_query", "poll",
                 "chat_join_request", "channel_post", "future_update_kind"):
        drawn(fz.well_formed, lambda update, kind=kind: isinstance(update.get(kind), dict))
    drawn(fz.updates, lambda update: not isinstance(update, dict) or not isinstance(update.get("update_id"), int))
    drawn(fz.updates, lambda update: isinstance(update, dict) and not fits_int64(update.get("update_id", 0)))
    drawn(fz.texts, lambda text: len(text.encode("utf-16-le", "surrogatepass")) // 2 > 4096)
    drawn(fz.texts, lambda text: "\x00" in text)
    drawn(fz.texts, lambda text: any("\ud800" <= char <= "\udfff" for char in text))
    drawn(fz.texts, lambda text: "<" in text and "&" in text)
    drawn(fz.messages(group=True), lambda message: message["chat"]["type"] in ("group", "supergroup"))
    for content in ("photo", "contact", "location", "venue", "sticker"):
        drawn(fz.messages(), lambda message, content=content: content in message)
    drawn(fz.messages(), lambda message: "from" not in message)
    drawn(fz.users(), lambda user: not fits_int64(user["id"]))
    drawn(fz.callback_data(), lambda data: isinstance(data, fz.Mutated))
    drawn(fz.callback_data(), lambda data: len(str(data).encode("utf-8", "surrogatepass")) > 64)
    drawn(fz.broken(), lambda update: isinstance(update, dict) and isinstance(update.get("message"), dict)
          and "date" not in update["message"])
