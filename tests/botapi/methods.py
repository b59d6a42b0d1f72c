"""The Bot API methods of the offline server: validation as Telegram does it, and the records
every successful call leaves behind. Mixed into BotApiServer, which owns the state used here."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from typing import Any

from .files import StoredFile, image_size, tiny_png
from .html_text import EntityParseError, parse_html, utf16_length
from .wire import (
    BAD_FILE,
    BAD_MARKUP,
    CHAT_ACTIONS,
    COMMAND_NAME,
    INLINE_KEYBOARD_EXPECTED,
    MARKUP_KINDS,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    STALE_QUERY,
    TEXT_BUTTON_IN_INLINE_KEYBOARD,
    TOO_LONG,
    ApiError,
    ChatState,
    Upload,
    flag_param,
    float_param,
    int_param,
    json_param,
    mime_type,
    set_or_drop,
)


class BotApiMethods:
    """Handlers for Bot API methods, each ``async (params, files) -> result`` raising ApiError.
    The state they read and write (chats, files, limiter, queues) belongs to BotApiServer."""

    # -- shared validation ----------------------------------------------------------------------------

    def _target_chat(self, params: dict) -> ChatState:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError) as error:
            raise ApiError(400, "Bad Request: chat not found") from error
        state = self._chats.get(chat_id)
        if state is None:
            # Any positive id is a user who may have started the bot; groups must be registered.
            if chat_id <= 0:
                raise ApiError(400, "Bad Request: chat not found")
            state = self._chat_state(chat_id, create=True)
        if state.blocked:
            if chat_id < 0:
                raise ApiError(403, "Forbidden: bot was kicked from the group chat")
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return state

    def _formatted(
        self, params: dict, text_key: str, entities_key: str, limit: int, too_long: str
    ) -> tuple[str, list | None]:
        raw = params.get(text_key)
        text = "" if raw is None else str(raw)
        entities = json_param(params, entities_key, f"Bad Request: can't parse {entities_key} JSON object")
        parse_mode = params.get("parse_mode")
        if entities is None and parse_mode and text:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    text, entities = parse_html(text)
                except EntityParseError as error:
                    raise ApiError(400, f"Bad Request: can't parse entities: {error}") from error
            elif mode not in ("markdown", "markdownv2"):
                raise ApiError(400, "Bad Request: unsupported parse_mode")
            # Markdown modes are passed through unparsed: Homedesk sends HTML.
        if utf16_length(text) > limit:  # Telegram counts UTF-16 code units: an emoji outside the BMP is two
            raise ApiError(400, too_long)
        return text, entities or None

    def _reply_markup(self, params: dict, *, inline_only: bool = False) -> tuple[dict | None, dict | None]:
        """Validate reply_markup; return (inline keyboard to echo in the Message, other markup).

        One markup is one kind: an inline keyboard, or a change of the reply keyboard (a keyboard, its removal,
        a forced reply), never two at once. Edits take only an inline keyboard (inline_only): a reply keyboard
        can neither be attached nor removed by editing a message, as in Telegram."""
        markup = json_param(params, "reply_markup", "Bad Request: can't parse reply keyboard markup JSON object")
        if markup is None:
            return None, None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        kinds = [kind for kind in MARKUP_KINDS if kind in markup]
        if len(kinds) > 1:
            raise ApiError(400, f"{BAD_MARKUP}: it has both {kinds[0]} and {kinds[1]}")
        if inline_only and kinds != ["inline_keyboard"]:
            raise ApiError(400, INLINE_KEYBOARD_EXPECTED)
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            return markup, None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ApiError(400, "Bad Request: can't parse keyboard markup JSON object")
            for row in rows:
                for button in row:
                    text = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(text, str) or not text:
                        raise ApiError(400, "Bad Request: can't parse keyboard button: Text must be non-empty")
            return None, markup
        if "remove_keyboard" in markup or "force_reply" in markup:
            return None, markup
        raise ApiError(400, BAD_MARKUP)

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
        if not button["text"]:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
        actions = set(button) - {"text"}
        if not actions:
            raise ApiError(400, TEXT_BUTTON_IN_INLINE_KEYBOARD)
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not data or len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")

    def _apply_keyboard(self, state: ChatState, other_markup: dict | None) -> None:
        if other_markup is None:
            return
        if "keyboard" in other_markup:
            state.reply_keyboard = other_markup
        elif other_markup.get("remove_keyboard"):
            state.reply_keyboard = None
        else:
            return
        # Called just before the message is delivered: it takes the next id.
        state.keyboard_log.append((state.next_message_id, state.reply_keyboard))

    def _reply_to(self, state: ChatState, params: dict) -> dict | None:
        reply_parameters = json_param(params, "reply_parameters", "Bad Request: can't parse reply parameters")
        message_id = None
        allow_missing = flag_param(params, "allow_sending_without_reply")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow_missing = allow_missing or bool(reply_parameters.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = int_param(params, "reply_to_message_id")
        if message_id is None:
            return None
        original = state.messages.get(int(message_id))
        if original is None or original["message_id"] in state.deleted:
            if allow_missing:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {key: value for key, value in original.items() if key != "reply_to_message"}

    def _admit(self, state: ChatState) -> None:
        """Apply flood control to one outgoing message; raises 429 without recording it."""
        if self._limiter is None:
            return
        retry_after = self._limiter.acquire(state.id, self.clock())
        if retry_after is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _deliver_bot_message(
        self, state: ChatState, content: dict, inline_markup: dict | None, reply_to: dict | None
    ) -> dict:
        message: dict[str, Any] = {
            "message_id": state.allocate_message_id(),
            "from": self.bot_user,
            "chat": state.chat,
            "date": int(self.clock()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if inline_markup is not None:
            message["reply_markup"] = inline_markup
        state.messages[message["message_id"]] = message
        state.bot_messages.append(message)
        state.activity.append(("sent", message))
        state.history.append(("sent", copy.deepcopy(message)))
        self._all_sent.append(message)
        self.receipts.append((state.id, message["message_id"], self.clock()))
        state.notify()
        return message

    def _editable_message(self, params: dict, missing: str) -> tuple[ChatState, dict]:
        if params.get("inline_message_id"):
            raise ApiError(400, missing)  # inline mode is not part of Homedesk
        state = self._target_chat(params)
        message_id = int_param(params, "message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = state.messages.get(message_id)
        if message is None or message_id in state.deleted:
            raise ApiError(400, missing)
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return state, message

    def _record_edit(self, state: ChatState, message: dict) -> dict:
        message["edit_date"] = int(self.clock())
        state.activity.append(("edited", message))
        state.history.append(("edited", copy.deepcopy(message)))
        state.notify()
        return message

    # -- media ----------------------------------------------------------------------------------------

    def _upload_for(self, value: Any, key: str, files: dict[str, Upload]) -> Upload | None:
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, f"Bad Request: file {value} not found in the request")
            return upload
        if value is None:
            return files.get(key)
        return None

    def _photo_from(self, value: Any, key: str, files: dict[str, Upload]) -> list[dict]:
        upload = self._upload_for(value, key, files)
        if upload is not None:
            if image_size(upload.data) is None:
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            return self._store_photo(upload.data)
        if value is None or value == "":
            raise ApiError(400, "Bad Request: there is no photo in the request")
        value = str(value)
        if value.startswith(("http://", "https://")):
            # Offline: a URL photo becomes a placeholder image instead of being downloaded.
            return self._store_photo(tiny_png())
        sizes = self._photo_sets.get(value)
        if sizes is None:
            raise ApiError(400, BAD_FILE)
        return sizes

    def store_photo(self, data: bytes) -> list[dict]:
        """Keep a photo and return its PhotoSize list (used for customer photos too)."""
        return self._store_photo(data)

    def _store_photo(self, data: bytes) -> list[dict]:
        extension = "png" if data[:4] == b"\x89PNG" else "jpg"
        sizes = self.files.photo_sizes(data, extension)
        for size in sizes:
            self._photo_sets[size["file_id"]] = sizes
        return sizes

    def store_media(self, kind: str, data: bytes, extension: str, fields: dict) -> dict:
        """Keep a non-photo file (document, voice, sticker, video) and return its Telegram object."""
        stored: StoredFile = self.files.add(data, kind, extension)
        obj = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(data), **fields}
        self._media[stored.file_id] = (kind, obj)
        return obj

    def _media_from(self, kind: str, value: Any, key: str, files: dict[str, Upload]) -> dict:
        upload = self._upload_for(value, key, files)
        if upload is not None:
            extension = upload.filename.rpartition(".")[2] if "." in upload.filename else "bin"
            fields: dict[str, Any] = {}
            if kind == "document":
                fields = {"file_name": upload.filename, "mime_type": mime_type(extension)}
            elif kind == "video":
                fields = {"width": 1280, "height": 720, "duration": 1, "mime_type": "video/mp4"}
            return self.store_media(kind, upload.data, extension, fields)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        value = str(value)
        if value.startswith(("http://", "https://")):
            name = value.rstrip("/").rpartition("/")[2] or "file"
            fields = {"file_name": name, "mime_type": "application/octet-stream"} if kind == "document" else {}
            if kind == "video":
                fields = {"width": 1280, "height": 720, "duration": 1}
            return self.store_media(kind, b"", "bin", fields)
        known = self._media.get(value)
        if known is None:
            raise ApiError(400, BAD_FILE)
        if known[0] != kind:
            raise ApiError(400, f"Bad Request: can't use file of type {known[0].title()} as {kind.title()}")
        return known[1]

    # -- Bot API methods --------------------------------------------------------------------------------

    async def _get_me(self, params: dict, files: dict) -> dict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict, files: dict) -> list:
        if self._webhook is not None:
            raise ApiError(
                409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first"
            )
        offset = int_param(params, "offset") or 0
        limit = min(100, max(1, int_param(params, "limit") or 100))
        timeout = max(0, int_param(params, "timeout") or 0)
        assert self._updates_event is not None and self._closing is not None
        # A newer getUpdates terminates an older one still waiting, exactly like Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_event.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            if self._webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            batch = self._collect(offset, limit)
            if batch or self._closing.is_set():
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self._updates_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), remaining)

    def _collect(self, offset: int, limit: int) -> list:
        pending = self._pending
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            offset = 0
        # Confirm: everything below offset was processed by the bot and is forgotten...
        while pending and pending[0].update_id < offset and (pending[0].returned or not pending[0].replay):
            pending.popleft()
        batch = []
        for entry in pending:
            if len(batch) >= limit:
                break
            if entry.update_id < offset and (entry.returned or not entry.replay):
                continue
            # ...except a deliberate redelivery, which is handed out once regardless of offset.
            entry.returned = True
            self._mark_delivered(entry)
            batch.append(entry.payload)
        return batch

    async def _send_message(self, params: dict, files: dict) -> dict:
        state = self._target_chat(params)
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT_LENGTH, TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        inline, other = self._reply_markup(params)
        reply_to = self._reply_to(state, params)
        self._admit(state)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        self._apply_keyboard(state, other)
        return self._deliver_bot_message(state, content, inline, reply_to)

    def _caption(self, params: dict) -> dict:
        caption, entities = self._formatted(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH, "Bad Request: message caption is too long"
        )
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    async def _send_photo(self, params: dict, files: dict) -> dict:
        state = self._target_chat(params)
        content = self._caption(params)
        inline, other = self._reply_markup(params)
        reply_to = self._reply_to(state, params)
        photo = self._photo_from(params.get("photo"), "photo", files)
        self._admit(state)
        self._apply_keyboard(state, other)
        return self._deliver_bot_message(state, {"photo": photo, **content}, inline, reply_to)

    async def _send_document(self, params: dict, files: dict) -> dict:
        state = self._target_chat(params)
        content = self._caption(params)
        inline, other = self._reply_markup(params)
        reply_to = self._reply_to(state, params)
        document = self._media_from("document", params.get("document"), "document", files)
        self._admit(state)
        self._apply_keyboard(state, other)
        return self._deliver_bot_message(state, {"document": document, **content}, inline, reply_to)

    async def _send_media_group(self, params: dict, files: dict) -> list[dict]:
        state = self._target_chat(params)
        media = json_param(params, "media", "Bad Request: can't parse media JSON object")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media specified")
        reply_to = self._reply_to(state, params)
        contents = []
        for item in media:
            if not isinstance(item, dict):
                raise ApiError(400, "Bad Request: can't parse InputMedia JSON object")
            kind = item.get("type")
            content = self._caption(item)
            if kind == "photo":
                content["photo"] = self._photo_from(item.get("media"), "", files)
            elif kind in ("document", "video"):
                content[kind] = self._media_from(kind, item.get("media"), "", files)
            else:
                raise ApiError(400, f"Bad Request: unsupported media type {kind!r} in media group")
            contents.append(content)
        # One admission for the whole album; Homedesk only needs albums to be accepted.
        self._admit(state)
        group_id = str(next(self._media_group_ids))
        return [
            self._deliver_bot_message(state, {"media_group_id": group_id, **content}, None, reply_to)
            for content in contents
        ]

    async def _send_location(self, params: dict, files: dict) -> dict:
        state = self._target_chat(params)
        latitude, longitude = float_param(params, "latitude"), float_param(params, "longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise ApiError(400, "Bad Request: wrong latitude specified")
        if longitude is None or not -180 <= longitude <= 180:
            raise ApiError(400, "Bad Request: wrong longitude specified")
        inline, other = self._reply_markup(params)
        reply_to = self._reply_to(state, params)
        self._admit(state)
        self._apply_keyboard(state, other)
        location = {"latitude": latitude, "longitude": longitude}
        return self._deliver_bot_message(state, {"location": location}, inline, reply_to)

    async def _send_chat_action(self, params: dict, files: dict) -> bool:
        state = self._target_chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((state.id, action))
        return True

    async def _edit_message_text(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT_LENGTH, TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        inline, _ = self._reply_markup(params, inline_only=True)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        if text == message["text"] and entities == message.get("entities") and inline == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        set_or_drop(message, "entities", entities)
        set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _edit_message_caption(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        content = self._caption(params)
        inline, _ = self._reply_markup(params, inline_only=True)
        if (
            content.get("caption") == message.get("caption")
            and content.get("caption_entities") == message.get("caption_entities")
            and inline == message.get("reply_markup")
        ):
            raise ApiError(400, NOT_MODIFIED)
        set_or_drop(message, "caption", content.get("caption"))
        set_or_drop(message, "caption_entities", content.get("caption_entities"))
        set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _edit_message_media(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no media in the message to edit")
        media = json_param(params, "media", "Bad Request: can't parse InputMedia JSON object")
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise ApiError(400, "Bad Request: can't parse InputMedia JSON object")
        content = self._caption(media)
        photo = self._photo_from(media.get("media"), "", files)
        inline, _ = self._reply_markup(params, inline_only=True)
        unchanged = (
            message.get("photo") == photo
            and content.get("caption") == message.get("caption")
            and inline == message.get("reply_markup")
        )
        if unchanged:
            raise ApiError(400, NOT_MODIFIED)
        message["photo"] = photo
        set_or_drop(message, "caption", content.get("caption"))
        set_or_drop(message, "caption_entities", content.get("caption_entities"))
        set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _edit_message_reply_markup(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        inline, _ = self._reply_markup(params, inline_only=True)
        if inline == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _delete_message(self, params: dict, files: dict) -> bool:
        state = self._target_chat(params)
        message_id = int_param(params, "message_id")
        if message_id is None or message_id not in state.messages or message_id in state.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        state.deleted.add(message_id)
        state.notify()
        return True

    async def _answer_callback_query(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query = self._open_callbacks.pop(query_id, None)
        if query is None:
            raise ApiError(400, STALE_QUERY)
        answer = {
            "callback_query_id": query_id,
            "chat_id": query["chat_id"],
            "message_id": query["message_id"],
            "data": query["data"],
            "text": None if text is None else str(text),
            "show_alert": flag_param(params, "show_alert"),
            "url": params.get("url"),
            "cache_time": int_param(params, "cache_time") or 0,
        }
        self.answered_callbacks.append(answer)
        state = self._chats.get(query["chat_id"])
        if state is not None:
            state.callback_answers.append(answer)
            state.notify()
        return True

    async def _get_file(self, params: dict, files: dict) -> dict:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return stored.as_file()

    async def _set_my_commands(self, params: dict, files: dict) -> bool:
        commands = json_param(params, "commands", "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: dict, files: dict) -> list:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict, files: dict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    @staticmethod
    def _commands_key(params: dict) -> tuple[str, str]:
        scope = json_param(params, "scope", "Bad Request: can't parse scope JSON object") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _accept_settings(self, params: dict, files: dict) -> bool:
        return True
