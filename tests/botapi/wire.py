"""Wire-level pieces of the offline Bot API server: limits and error texts as Telegram words them,
the error type, request records, chat state and helpers that read form or JSON parameters."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
TEXT_BUTTON_IN_INLINE_KEYBOARD = (
    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)
TOO_LONG = "Bad Request: message is too long"
BAD_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
INLINE_KEYBOARD_EXPECTED = "Bad Request: inline keyboard expected"
# The kinds of reply_markup: exactly one per request.
MARKUP_KINDS = ("inline_keyboard", "keyboard", "remove_keyboard", "force_reply")
STALE_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """A Bot API error answer: HTTP status = error_code, like Telegram."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class ApiCall:
    """One Bot API request as the server saw it. status stays None for a request left hanging."""

    method: str
    params: dict[str, Any]
    at: float
    status: int | None = None
    description: str | None = None
    hung: bool = False
    via_webhook_reply: bool = False


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None
    methods: frozenset[str] | None
    until: float | None = None

    def applies(self, method: str) -> bool:
        # getUpdates is left alone unless named: a failing long poll would swallow the fault
        # meant for the send under test.
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods


@dataclass(slots=True)
class QueuedUpdate:
    update_id: int
    payload: Any
    chat_id: int | None
    replay: bool = False
    returned: bool = False


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class ChatState:
    """Everything the server knows about one chat."""

    chat: dict
    next_message_id: int = 1
    messages: dict[int, dict] = field(default_factory=dict)  # both directions, by message_id
    bot_messages: list[dict] = field(default_factory=list)
    activity: list[tuple[str, dict]] = field(default_factory=list)  # ("sent" | "edited", message)
    # The same events with a copy of the message as it read at that moment (later edits leave it alone), and
    # the reply keyboard each message set or removed: what a transcript shows.
    history: list[tuple[str, dict]] = field(default_factory=list)
    keyboard_log: list[tuple[int, dict | None]] = field(default_factory=list)  # (message_id, keyboard or None)
    deleted: set[int] = field(default_factory=set)
    reply_keyboard: dict | None = None
    callback_answers: list[dict] = field(default_factory=list)
    blocked: bool = False
    waiters: list[asyncio.Future] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.chat["id"]

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def notify(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


# -- request parameter helpers: form values arrive as strings, JSON bodies as typed values ----------


def int_param(params: dict, key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Bad Request: invalid {key} specified") from error


def float_param(params: dict, key: str) -> float | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Bad Request: invalid {key} specified") from error


def json_param(params: dict, key: str, error: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, error) from exc
    return value


def flag_param(params: dict, key: str) -> bool:
    return params.get(key) in (True, "true", "True", "1", 1)


def set_or_drop(message: dict, key: str, value: Any) -> None:
    if value:
        message[key] = value
    else:
        message.pop(key, None)


def mime_type(extension: str) -> str:
    return {
        "pdf": "application/pdf",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "txt": "text/plain",
        "csv": "text/csv",
        "mp4": "video/mp4",
    }.get(extension.lower(), "application/octet-stream")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
