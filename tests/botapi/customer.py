"""The customer side of the offline Bot API server: a Telegram user in a private chat with the bot.

Every action builds a real Update (unique increasing update_id, Message with message_id, date,
chat, from with language_code, ...) and queues it for the bot. Reading helpers look at what the
bot sent to this chat, as the user would see it (edits applied, deleted messages gone).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .files import tiny_png

if TYPE_CHECKING:
    from .server import BotApiServer, ChatState

MessageMatch = str | Callable[[dict], bool]

# Minimal but recognisable file bodies for media the customer sends.
_WEBP_STICKER = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
_OGG_VOICE = b"OggS\x00\x02" + bytes(22) + b"\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"


def _message_text(message: dict) -> str:
    return message.get("text") or message.get("caption") or ""


def _describe(message: dict) -> str:
    if "text" in message or "caption" in message:
        return repr(_message_text(message)[:80])
    kinds = [key for key in ("photo", "document", "location", "sticker", "voice") if key in message]
    return f"<{kinds[0] if kinds else 'message'}>"


class Customer:
    """A Telegram user talking to the bot. Create through ``server.customer(...)``."""

    def __init__(
        self,
        server: BotApiServer,
        user_id: int,
        first_name: str = "Alice",
        language_code: str = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
        phone: str = "+8613800138000",
    ) -> None:
        self.server = server
        self.user_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.phone = phone
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            self.user["last_name"] = last_name
        if username:
            self.user["username"] = username
        self.user["language_code"] = language_code
        self._state: ChatState = server.register_customer(self)
        # Index into the chat's activity at the customer's last action: wait_for looks after it.
        self._mark = 0
        self._last_query_id: str | None = None

    @property
    def chat_id(self) -> int:
        return self.user_id

    # -- actions -----------------------------------------------------------------------------------

    def _send(self, content: dict) -> dict:
        self._mark = len(self._state.activity)
        return self.server.incoming_message(self.chat_id, self.user, content)

    def send_text(self, text: str) -> dict:
        """Type and send a text message; a leading /command gets its bot_command entity like in Telegram."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1 and not text[1].isspace():
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._send(content)

    def send_command(self, command: str, args: str | None = None) -> dict:
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {args}" if args else command
        return self._send({"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]})

    def send_photo(self, data: bytes | None = None, caption: str | None = None) -> dict:
        """Send a photo (a small generated PNG by default); getFile and download work for every size."""
        content: dict[str, Any] = {"photo": self.server.store_photo(data if data is not None else tiny_png())}
        if caption:
            content["caption"] = caption
        return self._send(content)

    def send_document(
        self, data: bytes = b"%PDF-1.4\n%test\n", file_name: str = "document.pdf", mime_type: str = "application/pdf"
    ) -> dict:
        extension = file_name.rpartition(".")[2] if "." in file_name else "bin"
        document = self.server.store_media(
            "document", data, extension, {"file_name": file_name, "mime_type": mime_type}
        )
        return self._send({"document": document})

    def send_location(self, latitude: float, longitude: float) -> dict:
        return self._send({"location": {"latitude": latitude, "longitude": longitude}})

    def send_contact(
        self, phone: str | None = None, own: bool = True, first_name: str | None = None, last_name: str | None = None
    ) -> dict:
        """Share a contact; own=True is the customer's own card (contact.user_id = the customer's id)."""
        contact: dict[str, Any] = {
            "phone_number": phone or self.phone,
            "first_name": first_name or (self.first_name if own else "Friend"),
        }
        if last_name or (own and self.last_name):
            contact["last_name"] = last_name or self.last_name
        if own:
            contact["user_id"] = self.user_id
        return self._send({"contact": contact})

    def send_sticker(self, emoji: str = "\U0001f44d") -> dict:
        sticker = self.server.store_media(
            "sticker",
            _WEBP_STICKER,
            "webp",
            {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji},
        )
        return self._send({"sticker": sticker})

    def send_voice(self, duration: int = 2) -> dict:
        voice = self.server.store_media("voice", _OGG_VOICE, "oga", {"duration": duration, "mime_type": "audio/ogg"})
        return self._send({"voice": voice})

    def tap(self, label: str) -> dict:
        """Tap a button of the current reply keyboard: shares contact/location for request buttons,
        otherwise sends the label as text."""
        keyboard = self.reply_keyboard()
        if keyboard is None:
            raise LookupError(f"no reply keyboard is shown to customer {self.user_id}")
        for row in keyboard["keyboard"]:
            for button in row:
                text = button if isinstance(button, str) else button.get("text")
                if text != label:
                    continue
                if isinstance(button, dict) and button.get("request_contact"):
                    return self.send_contact(own=True)
                if isinstance(button, dict) and button.get("request_location"):
                    return self.send_location(31.2304, 121.4737)
                return self.send_text(label)
        labels = [b if isinstance(b, str) else b.get("text") for row in keyboard["keyboard"] for b in row]
        raise LookupError(f"no reply keyboard button {label!r}; shown: {labels}")

    def block_bot(self) -> dict:
        """Block the bot, as in Telegram: sends to this chat answer 403 from now on, and the bot gets a
        my_chat_member update (member -> kicked). Returns the update."""
        self.server.block_chat(self.chat_id)
        return self._membership("member", "kicked")

    def unblock_bot(self) -> dict:
        """Unblock the bot (Telegram's "Restart"/unblock without writing): sends work again and the bot gets a
        my_chat_member update (kicked -> member). Returns the update."""
        self.server.unblock_chat(self.chat_id)
        return self._membership("kicked", "member")

    def _membership(self, old: str, new: str) -> dict:
        def member(status: str) -> dict[str, Any]:
            entry: dict[str, Any] = {"user": self.server.bot_user, "status": status}
            if status == "kicked":
                entry["until_date"] = 0
            return entry

        self._mark = len(self._state.activity)
        return self.server.push_update({"my_chat_member": {
            "chat": self._state.chat, "from": self.user, "date": int(self.server.clock()),
            "old_chat_member": member(old), "new_chat_member": member(new)}}, self.chat_id)

    def press(self, label: str, search_last: int = 1) -> dict:
        """Press the inline button with exactly this label in the latest bot message that has an inline
        keyboard (or in the latest ``search_last`` such messages, newest first)."""
        keyboards = [m for m in reversed(self.messages()) if m.get("reply_markup", {}).get("inline_keyboard")]
        if not keyboards:
            raise LookupError(f"no bot message with an inline keyboard in chat {self.chat_id}")
        seen: list[str] = []
        for message in keyboards[:search_last]:
            for row in message["reply_markup"]["inline_keyboard"]:
                for button in row:
                    if button.get("text") != label:
                        seen.append(button.get("text"))
                        continue
                    if "callback_data" not in button:
                        raise LookupError(f"button {label!r} is not a callback button: {button}")
                    return self._press(message, button["callback_data"])
        raise LookupError(f"no inline button labelled {label!r}; available: {seen}")

    def press_data(self, data: str, message_id: int | None = None) -> dict:
        """Send a callback query with arbitrary (possibly forged) data for a bot message."""
        if message_id is None:
            last = self.last_message()
            if last is None:
                raise LookupError(f"the bot has sent nothing to chat {self.chat_id}")
            message = last
        else:
            found = self._state.messages.get(message_id)
            if found is None:
                raise LookupError(f"no message {message_id} in chat {self.chat_id}")
            message = found
        return self._press(message, data)

    def _press(self, message: dict, data: str) -> dict:
        self._mark = len(self._state.activity)
        update = self.server.callback_query(self.chat_id, self.user, message, data)
        self._last_query_id = update["callback_query"]["id"]
        return update

    # -- what the customer sees --------------------------------------------------------------------

    def messages(self) -> list[dict]:
        """Bot messages in this chat, oldest first, current state, deleted ones left out."""
        deleted = self._state.deleted
        return [m for m in self._state.bot_messages if m["message_id"] not in deleted]

    def last_message(self) -> dict | None:
        deleted = self._state.deleted
        for message in reversed(self._state.bot_messages):
            if message["message_id"] not in deleted:
                return message
        return None

    def texts(self) -> list[str]:
        return [_message_text(m) for m in self.messages()]

    def buttons(self) -> list[str]:
        """Labels of the latest inline keyboard, row by row."""
        for message in reversed(self.messages()):
            rows = message.get("reply_markup", {}).get("inline_keyboard")
            if rows:
                return [button["text"] for row in rows for button in row]
        return []

    def reply_keyboard(self) -> dict | None:
        """The reply keyboard currently shown (None if never sent or removed)."""
        return self._state.reply_keyboard

    def callback_answers(self) -> list[dict]:
        return list(self._state.callback_answers)

    async def wait_for(
        self, match: MessageMatch, timeout: float = 5.0, *, since_last_action: bool = True  # noqa: ASYNC109
    ) -> dict:
        """Wait until a bot message (new or edited) satisfies match: a substring of its text/caption,
        or a predicate on the Message dict. Only looks at activity after the customer's last action
        unless since_last_action=False. Raises TimeoutError listing what did arrive."""
        if isinstance(match, str):
            needle = match

            def matches(message: dict) -> bool:
                return needle in _message_text(message)
        else:
            matches = match
        state = self._state
        position = self._mark if since_last_action else 0
        start = position

        def scan() -> dict | None:
            nonlocal position
            activity = state.activity
            while position < len(activity):
                message = activity[position][1]
                position += 1
                if message["message_id"] not in state.deleted and matches(message):
                    return message
            return None

        def describe_arrivals() -> str:
            return ", ".join(_describe(message) for _, message in state.activity[start:]) or "nothing"

        return await self._wait(scan, timeout, lambda: f"no bot message matching {match!r}; got {describe_arrivals()}")

    async def wait_for_callback_answer(self, timeout: float = 5.0) -> dict:  # noqa: ASYNC109
        """Wait for the bot to answer this customer's latest button press; returns the answer record."""
        query_id = self._last_query_id
        if query_id is None:
            raise LookupError(f"customer {self.user_id} has not pressed any button")

        def scan() -> dict | None:
            for answer in reversed(self._state.callback_answers):
                if answer["callback_query_id"] == query_id:
                    return answer
            return None

        return await self._wait(scan, timeout, lambda: "the bot did not answer the callback query")

    async def _wait(
        self, scan: Callable[[], dict | None], timeout: float, failure: Callable[[], str]  # noqa: ASYNC109
    ) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = scan()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"customer {self.user_id}: {failure()} within {timeout} s")
            waiter = loop.create_future()
            self._state.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                continue
