"""Replays a conversation script through the offline Bot API server and the real Telegram channel.

Every customer action waits until the bot has *finished* with it, not for a fixed time: the update is stored and
handled (inbound_updates leaves 'received'), nothing is left in the outbox, and every button press is answered.
So "bot says nothing" is exact, and what the bot sent for one action is known before the next one starts.
Each failure raises ReplayFailure with the whole transcript so far.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import FrozenClock
from storage.events import EventBus
from storage.models import InboundUpdate, OutboxMessage
from tests.botapi import BotApiServer, Customer
from tests.replay.language import language_problems
from tests.replay.script import LANGUAGES, Script, Step

# Bot API methods the outbox sender makes; anything else (answering a button) is the dispatcher's.
OUTBOX_METHODS = ("send", "edit", "delete")
SETTLE_TIMEOUT = 15.0  # a safety net only: settling is detected, not waited for
DURATION = re.compile(r"^(\d+(?:\.\d+)?)$")
UNITS = {"second": "seconds", "minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}


class ReplayFailure(AssertionError):
    """A script's expectation did not hold; the message carries the whole transcript."""


@dataclass
class Seen:
    """One bot message as it arrived: 'sent' or 'edited', a copy of the message at that moment."""

    number: int  # index into the transcript's bot events, for "on message N"
    kind: str
    message: dict
    keyboard: dict | None  # the reply keyboard shown right after it
    keyboard_changed: bool

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    @property
    def text(self) -> str:
        return str(self.message.get("text") or self.message.get("caption") or "")

    def buttons(self) -> list[str]:
        rows = (self.message.get("reply_markup") or {}).get("inline_keyboard") or []
        return [button["text"] for row in rows for button in row]


def keyboard_labels(keyboard: dict | None) -> list[str]:
    if not keyboard:
        return []
    return [b if isinstance(b, str) else str(b.get("text")) for row in keyboard.get("keyboard", []) for b in row]


@dataclass
class World:
    """What hooks act on: the database, the clock, the bus, the server and the customer, ids by name."""

    api: BotApiServer
    sessions: async_sessionmaker[AsyncSession]
    clock: FrozenClock
    bus: EventBus
    customer: Customer
    ids: dict[str, Any] = field(default_factory=dict)
    extra_chats: dict[str, Customer] = field(default_factory=dict)


Hook = Callable[..., Awaitable[None]]


class Replay:
    def __init__(self, script: Script, world: World, hooks: dict[str, Hook],
                 ticks: Callable[[World], Awaitable[None]]) -> None:
        self.script = script
        self.world = world
        self.hooks = hooks
        self.ticks = ticks
        self.customer = world.customer
        self.transcript: list[str] = []
        self.seen: list[Seen] = []  # every bot message event so far
        self.since_action: list[Seen] = []  # events since the customer's last action
        self.cursor = 0  # index into since_action: "bot says" looks from here on
        self.reply: Seen | None = None
        self.step: Step | None = None
        self._history_index = 0
        self._answer_index = 0
        self._call_index = 0
        self._keyboard_index = 0
        self._update_ids: list[int] = []
        self._failed_after = 0  # outbox rows up to this id that failed were reported already
        self.language = script.language  # what the automatic check expects; `bot now speaks zh` changes it
        self.known_defect_seen: list[str] = []
        # Bot messages whose language is checked when the next step acts (after any `bot now speaks` line).
        self.unchecked: list[Seen] = []  # language problems recorded under a `known defect:` header

    # -- running -------------------------------------------------------------------------------------

    async def run(self) -> None:
        for step in self.script.steps:
            self.step = step
            if step.kind in ("action", "hook"):
                self._check_languages()
            if step.kind == "action":
                await self._act(step)
            elif step.kind == "hook":
                await self._hook(step)
            elif step.kind == "expect":
                self._expect(step)
            else:
                self._check(step)
        self._check_languages()

    def fail(self, reason: str) -> None:
        script = self.script
        where = self.step.where(script) if self.step else script.path.name
        lines = [f"replay {script.test_id} ({script.title or script.journey}) failed at {where}", f"  {reason}",
                 "transcript:"]
        lines += [f"  {line}" for line in self.transcript] or ["  (nothing yet)"]
        raise ReplayFailure("\n".join(lines))

    # -- customer actions ----------------------------------------------------------------------------

    async def _act(self, step: Step) -> None:
        verb, args = step.verb, list(step.args)
        customer = self.customer
        self.transcript.append(f"> {step.source.strip()}")
        if verb == "waits":
            await self._wait(args)
            return
        optional = args[-2:] == ["if", "offered"]
        if optional:
            args = args[:-2]
        update = None
        problems = []
        for attempt in _alternatives(args) if verb in ("presses", "taps") else [args]:
            try:
                update = self._perform(customer, verb, attempt)
                break
            except (LookupError, ValueError) as error:
                problems.append(str(error))
        if update is None:
            if optional:
                self.transcript.append("    (not offered: skipped)")
                return  # the bot's last answer still counts as the reply to the last action
            self.fail(f"the customer cannot do that: {'; '.join(problems)}")
            return
        self._begin_action()
        self._update_ids = [update["update_id"]]
        await self.settle()

    def _perform(self, customer: Customer, verb: str, args: list[str]) -> dict:
        if verb == "says":
            (text,) = _exactly(args, 1, 'says "text"')
            return customer.send_text(text)
        if verb == "presses":
            return self._press(customer, args)
        if verb == "taps":
            (label,) = _exactly(args, 1, 'taps "label"')
            return customer.tap(label)
        if verb == "shares":
            return self._share(customer, args)
        if verb == "sends":
            kind, *rest = args or ["?"]
            if kind == "photo":
                return customer.send_photo(caption=rest[0] if rest else None)
            if kind == "sticker":
                return customer.send_sticker()
            if kind == "voice":
                return customer.send_voice()
            if kind == "document":
                return customer.send_document()
            raise ValueError(f"sends photo|sticker|voice|document, not {kind!r}")
        raise ValueError(f"unknown action {verb!r}")

    def _press(self, customer: Customer, args: list[str]) -> dict:
        if args[:1] == ["data"]:
            (data,) = _exactly(args[1:], 1, 'presses data "payload"')
            return customer.press_data(data)
        label, *where = args
        if not where:
            return customer.press(label)
        if where == ["anywhere"]:
            return customer.press(label, search_last=len(customer.messages()))
        if len(where) == 3 and where[:2] == ["on", "message"] and where[2].isdigit():
            number = int(where[2])
            if not 1 <= number <= len(self.seen):
                raise LookupError(f"there is no message {number} in the transcript")
            message_id = self.seen[number - 1].message_id
            current = self.world.api.chat_state(customer.chat_id)
            message = current.messages.get(message_id) if current else None
            if message is None or message_id in current.deleted:  # type: ignore[union-attr]
                raise LookupError(f"message {number} is no longer in the chat")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                for button in row:
                    if button.get("text") == label and "callback_data" in button:
                        return customer.press_data(button["callback_data"], message_id=message_id)
            raise LookupError(f"message {number} has no button {label!r} (now: {_buttons_now(message)})")
        raise ValueError('presses "label" [on message N | anywhere]')

    @staticmethod
    def _share(customer: Customer, args: list[str]) -> dict:
        if args[:1] == ["contact"]:
            return customer.send_contact(phone=args[1] if len(args) > 1 else None)
        if args[:3] == ["someone", "else's", "contact"]:
            return customer.send_contact(phone=args[3] if len(args) > 3 else "+8613911112222", own=False)
        if args[:1] == ["location"] and len(args) == 3:
            return customer.send_location(float(args[1]), float(args[2]))
        raise ValueError('shares contact ["phone"] | someone else\'s contact "phone" | location LAT LON')

    async def _wait(self, args: list[str]) -> None:
        """Time passes: the clock moves and the scheduled jobs run once, as `homedesk run` would."""
        self._begin_action()
        if args:
            if len(args) != 2 or not DURATION.match(args[0]):
                self.fail("waits N seconds|minutes|hours|days")
            unit = UNITS.get(args[1].rstrip("s"))
            if unit is None:
                self.fail(f"unknown unit {args[1]!r}")
            self.world.clock.advance(**{unit: float(args[0])})
            await self.ticks(self.world)
        self._update_ids = []
        await self.settle()

    def _begin_action(self) -> None:
        self.since_action = []
        self.cursor = 0
        self.reply = None

    # -- hooks ---------------------------------------------------------------------------------------

    async def _hook(self, step: Step) -> None:
        hook = self.hooks.get(step.verb)
        if hook is None:
            self.fail(f"no hook {step.verb!r}; known: {', '.join(sorted(self.hooks))}")
            return
        self.transcript.append(f"> {step.source.strip()}")
        try:
            await hook(self.world, *step.args)
        except (LookupError, ValueError, TypeError) as error:
            self.fail(f"the hook failed: {error!r}")
        # What the world did may make the bot speak (a staff reply, a ticket update): it belongs to this step.
        self._begin_action()
        self._update_ids = []
        await self.settle()

    # -- settling and recording ----------------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until the bot is done with everything it was given, then record what it sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        quiet = 0
        while True:
            busy = await self._busy()
            self._observe()
            if busy is None:
                quiet += 1
                if quiet >= 2:  # twice in a row, a sender tick apart
                    break
            else:
                quiet = 0
                if loop.time() > deadline:
                    self.fail(f"the bot did not finish within {SETTLE_TIMEOUT:.0f} s: {busy}")
            await asyncio.sleep(0.03)
        self._observe()

    async def _busy(self) -> str | None:
        """What the bot is still doing, or None."""
        api, chat_id = self.world.api, self.customer.chat_id
        if api._pending_count():
            return "updates not yet fetched by the bot"
        async with self.world.sessions() as session:
            if self._update_ids:
                rows = (await session.execute(
                    select(InboundUpdate.update_id, InboundUpdate.status, InboundUpdate.error)
                    .where(InboundUpdate.update_id.in_(self._update_ids)))).all()
                if len(rows) < len(self._update_ids):
                    return "update not stored yet"
                for _, status, error in rows:
                    if status == "failed":
                        self.fail(f"the bot failed to handle the update: {error}")
                    if status == "received":
                        return f"update not handled yet{f' (last error: {error})' if error else ''}"
            pending = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_(("pending", "sending"))))
            if pending:
                return f"{pending} outbox message(s) not sent"
            failed = (await session.execute(select(OutboxMessage.id, OutboxMessage.method, OutboxMessage.error)
                                            .where(OutboxMessage.status == "failed",
                                                   OutboxMessage.id > self._failed_after)
                                            .order_by(OutboxMessage.id))).all()
            if failed:
                self._failed_after = failed[-1][0]
                self._observe()
                self.fail("the bot could not deliver: "
                          + "; ".join(f"{method} ({error})" for _, method, error in failed))
        if api.open_callbacks(chat_id):
            return "a button press is not answered (the button still spins)"
        return None

    def _observe(self) -> None:
        api, chat_id = self.world.api, self.customer.chat_id
        state = api.chat_state(chat_id)
        if state is None:
            return
        keyboards = dict(state.keyboard_log[self._keyboard_index:])
        self._keyboard_index = len(state.keyboard_log)
        for kind, message in state.history[self._history_index:]:
            changed = kind == "sent" and message["message_id"] in keyboards
            keyboard = keyboards[message["message_id"]] if changed else state.reply_keyboard
            seen = Seen(len(self.seen) + 1, kind, message, keyboard, changed)
            self.seen.append(seen)
            self.since_action.append(seen)
            self.transcript.extend(self._describe(seen))
            self.unchecked.append(seen)
        self._history_index = len(state.history)
        for answer in state.callback_answers[self._answer_index:]:
            text = answer.get("text")
            self.transcript.append(f"    (button answered{f': {text!r}' if text else ''})")
            if text and self.script.check_every_reply:
                self._language_of(text, "the button answer")
        self._answer_index = len(state.callback_answers)
        calls = api.calls
        for call in calls[self._call_index:]:
            if call.status is None or call.status < 400 or call.method == "getUpdates":
                continue
            if call.status == 429:
                self.transcript.append(f"    (flood control: {call.method} got 429)")
                continue
            self.transcript.append(f"    !! {call.method} rejected: {call.status} {call.description}")
            if not call.method.startswith(OUTBOX_METHODS):
                self.fail(f"Telegram would refuse the bot's {call.method}: {call.description}")
            # A refused send or edit is a failure once the sender gives up on it (its outbox row fails, see
            # _busy); an edit it replaces by a new message (the edited message is gone or of another kind) is not.
        self._call_index = len(calls)

    def _describe(self, seen: Seen) -> list[str]:
        what = "edits" if seen.kind == "edited" else "says"
        kinds = [kind for kind in ("photo", "location", "document", "media_group_id") if kind in seen.message]
        photo = "".join(f" [{'album' if kind == 'media_group_id' else kind}]" for kind in kinds)
        text = seen.text.replace("\n", "\n       ")
        lines = [f"#{seen.number} bot {what} (message {seen.message_id}){photo}: {text}"]
        buttons = seen.buttons()
        if buttons:
            lines.append("    buttons: " + " | ".join(f"[{label}]" for label in buttons))
        if seen.keyboard_changed:
            labels = keyboard_labels(seen.keyboard)
            lines.append("    keyboard: " + (" | ".join(f"[{label}]" for label in labels) if labels else "removed"))
        return lines

    def _check_languages(self) -> None:
        pending, self.unchecked = self.unchecked, []
        if self.script.check_every_reply:
            for seen in pending:
                self._language(seen)

    def _language(self, seen: Seen) -> None:
        self._language_of(seen.text, f"message #{seen.number}")
        for label in [*seen.buttons(), *(keyboard_labels(seen.keyboard) if seen.keyboard_changed else [])]:
            self._language_of(label, f"button [{label}] of message #{seen.number}")

    def _language_of(self, text: str, what: str) -> None:
        problems = language_problems(text, self.language, self.script.names)
        if problems and self.script.known_defect:
            self.known_defect_seen.append(f"{what}: {'; '.join(problems)}")
            self.transcript.append(f"    !! (known defect) {what}: {'; '.join(problems)}")
        elif problems:
            self.fail(f"{what} is not plain {self.language}: {'; '.join(problems)}")

    # -- expectations --------------------------------------------------------------------------------

    def _expect(self, step: Step) -> None:
        verb, args = step.verb, list(step.args)
        if verb in ("says", "sends"):
            self._expect_message(verb, args)
        elif verb == "removes":
            if self.customer.reply_keyboard() is not None:
                self.fail(f"a reply keyboard is still shown: {keyboard_labels(self.customer.reply_keyboard())}")
        elif verb == "keeps":
            if self.customer.reply_keyboard() is None:
                self.fail("no reply keyboard is shown")
        elif verb == "answers":
            if args[:1] != ["the"] or args[1:2] != ["button"] or len(args) != 3:
                self.fail('bot answers the button "text"')
            answers = [a for a in self.customer.callback_answers() if a["callback_query_id"]
                       == self.customer._last_query_id]
            if not answers or args[2] not in (answers[-1].get("text") or ""):
                self.fail(f"the button answer was {answers[-1].get('text') if answers else None!r}")
        elif verb == "chat":
            self._expect_chat(args)
        elif verb == "now":
            if len(args) != 2 or args[0] != "speaks" or args[1] not in LANGUAGES:
                self.fail("bot now speaks en|zh")
            self.language = args[1]

    def _expect_message(self, verb: str, args: list[str]) -> None:
        if args == ["nothing"]:
            if self.since_action:
                self.fail(f"the bot sent {len(self.since_action)} message(s)")
            return
        if verb == "sends" and len(args) == 2 and args[0].isdigit() and args[1] in ("message", "messages"):
            new = [s for s in self.since_action if s.kind == "sent"]
            if len(new) != int(args[0]):
                self.fail(f"the bot sent {len(new)} new message(s), not {args[0]}")
            return
        photo = False
        if verb == "sends":
            if args[:2] != ["a", "photo"]:
                self.fail('bot sends a photo "text" | bot sends N messages | bot says "text"')
            photo, args = True, args[2:]
        needles = [attempt[0] for attempt in _alternatives(args) if len(attempt) == 1]
        if not needles or len(needles) != len(_alternatives(args)):
            self.fail('bot says "text" [or "other text"]')
        needle = " or ".join(repr(n) for n in needles)
        for index in range(self.cursor, len(self.since_action)):
            seen = self.since_action[index]
            if any(n in seen.text for n in needles) and (not photo or "photo" in seen.message):
                self.cursor = index + 1
                self.reply = seen
                return
        arrived = [f"#{s.number}" for s in self.since_action[self.cursor:]]
        self.fail(f"no {'photo' if photo else 'message'} containing {needle} since the last action"
                  f" (unmatched: {', '.join(arrived) or 'none'})")

    def _expect_chat(self, args: list[str]) -> None:
        texts = self.customer.texts()
        if args[:1] == ["shows"] and len(args) == 2:
            if not any(args[1] in text for text in texts):
                self.fail(f"no message in the chat shows {args[1]!r} any more")
        elif args[:3] == ["no", "longer", "shows"] and len(args) == 4:
            if any(args[3] in text for text in texts):
                self.fail(f"the chat still shows {args[3]!r}")
        else:
            self.fail('chat shows "text" | chat no longer shows "text"')

    def _check(self, step: Step) -> None:
        reply = self.reply
        if reply is None:
            self.fail("no reply to check: the 'bot says' line above did not match")
            return
        verb, args = step.verb, list(step.args)
        buttons = reply.buttons()
        if verb == "offers":
            if args[:1] == ["exactly"]:
                if buttons != args[1:]:
                    self.fail(f"buttons are {buttons}, not exactly {args[1:]}")
            else:
                missing = [" or ".join(group) for group in _groups(args) if not set(group) & set(buttons)]
                if missing:
                    self.fail(f"no button {missing} in #{reply.number}; it offers {buttons}")
        elif verb == "has" and args[:2] == ["no", "button"] and len(args) == 3:
            count = buttons.count(args[2])
            if count:
                self.fail(f"#{reply.number} offers [{args[2]}] ({count}x)")
        elif verb == "has" and args in (["a", "photo"], ["photo"]):
            if "photo" not in reply.message:
                self.fail(f"#{reply.number} has no photo")
        elif verb == "has" and args[:1] == ["buttons"] and args[1:2] and args[1].isdigit():
            if len(buttons) != int(args[1]):
                self.fail(f"#{reply.number} has {len(buttons)} buttons")
        elif verb == "is" and args[:1] == ["in"] and len(args) == 2:
            problems = language_problems(reply.text, args[1], self.script.names)
            for label in buttons:
                problems += [f"[{label}]: {p}" for p in language_problems(label, args[1], self.script.names)]
            if problems:
                self.fail(f"#{reply.number} is not plain {args[1]}: {'; '.join(problems)}")
        elif verb == "is" and args == ["new"]:
            if reply.kind != "sent":
                self.fail(f"#{reply.number} is an edit of message {reply.message_id}, not a new message")
        elif verb == "is" and args == ["an", "edit"]:
            if reply.kind != "edited":
                self.fail(f"#{reply.number} is a new message, not an edit")
        elif verb == "edits" and args[:1] == ["message"] and len(args) == 2 and args[1].isdigit():
            number = int(args[1])
            target = self.seen[number - 1].message_id if 1 <= number <= len(self.seen) else None
            if reply.kind != "edited" or reply.message_id != target:
                self.fail(f"#{reply.number} is {'an edit of' if reply.kind == 'edited' else 'new:'} message "
                          f"{reply.message_id}, not an edit of #{number}")
        elif verb == "shows" and args[:1] == ["keyboard"]:
            labels = keyboard_labels(reply.keyboard)
            if not reply.keyboard_changed or any(label not in labels for label in args[1:]):
                self.fail(f"#{reply.number} did not bring the keyboard {args[1:]} (keyboard: {labels})")
        elif verb == "says" and len(args) == 1:
            if args[0] not in reply.text:
                self.fail(f"#{reply.number} does not say {args[0]!r}")
        else:
            self.fail(f"unknown check: {step.source.strip()}")


def _groups(args: list[str]) -> list[list[str]]:
    """'"A", "B" or "C"' -> [["A"], ["B", "C"]]: each group is satisfied by any of its labels."""
    groups: list[list[str]] = []
    joined = False
    for word in args:
        if word == "or":
            joined = True
        elif joined and groups:
            groups[-1].append(word)
            joined = False
        else:
            groups.append([word])
    return groups


def _alternatives(args: list[str]) -> list[list[str]]:
    """'"A" or "B" anywhere' -> [["A", "anywhere"], ["B", "anywhere"]]: the same step with either label."""
    labels, index = [args[0]] if args else [], 1
    while index + 1 < len(args) and args[index] == "or":
        labels.append(args[index + 1])
        index += 2
    return [[label, *args[index:]] for label in labels]


def _exactly(args: list[str], count: int, usage: str) -> list[str]:
    if len(args) != count:
        raise ValueError(usage)
    return args


def _buttons_now(message: dict) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button["text"] for row in rows for button in row]


def duration(amount: float, unit: str) -> timedelta:
    return timedelta(**{UNITS[unit.rstrip("s")]: amount})
