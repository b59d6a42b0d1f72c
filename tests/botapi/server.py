"""An offline Telegram Bot API server for tests and benchmarks.

It speaks the real wire format (``{base}/bot{token}/{method}``, JSON / urlencoded /
multipart bodies, ``{"ok": ..}`` envelopes), validates what Telegram validates, enforces
Telegram-like flood limits, records every message the bot sends, and lets tests inject
faults. Customers (see customer.py) feed updates that the bot receives through
getUpdates long polling or, once setWebhook was called, through webhook POSTs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .customer import Customer
from .files import FileStore, StoredFile, image_size, tiny_png
from .html_text import EntityParseError, parse_html
from .limits import RateLimiter, RateLimits

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_TEXT_BUTTON_IN_INLINE_KEYBOARD = (
    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)
_TOO_LONG = "Bad Request: message is too long"
_BAD_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
_STALE_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"


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
class _Fault:
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
class _QueuedUpdate:
    update_id: int
    payload: Any
    chat_id: int | None
    replay: bool = False
    returned: bool = False


@dataclass
class _Webhook:
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


def _int(params: dict, key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Bad Request: invalid {key} specified") from error


def _float(params: dict, key: str) -> float | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Bad Request: invalid {key} specified") from error


def _json_value(params: dict, key: str, error: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, error) from exc
    return value


def _flag(params: dict, key: str) -> bool:
    return params.get(key) in (True, "true", "True", "1", 1)


class BotApiServer:
    """Offline Bot API. Use as ``async with BotApiServer(token=...) as server`` and point the bot
    at ``server.base_url``."""

    def __init__(
        self,
        token: str = "123456789:TEST-homedesk-token",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: RateLimits | None = RateLimits(),  # noqa: B008 - frozen dataclass, safe as default
        clock: Callable[[], float] = time.time,
        bot_first_name: str = "Homedesk Test Bot",
        bot_username: str = "homedesk_test_bot",
        webhook_retry_delay: float = 0.05,
        control_api: bool = True,
    ) -> None:
        bot_id, _, _ = token.partition(":")
        if not bot_id.isdigit():
            raise ValueError("token must look like '<bot id digits>:<secret>'")
        self.token = token
        self.host = host
        self.port = port
        self.clock = clock
        self.bot_user = {"id": int(bot_id), "is_bot": True, "first_name": bot_first_name, "username": bot_username}
        self.webhook_retry_delay = webhook_retry_delay
        self.files = FileStore()

        # Records tests and benchmarks read.
        self.calls: list[ApiCall] = []
        self.calls_by_method: Counter[str] = Counter()
        self.answered_callbacks: list[dict] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.too_many_requests = 0
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.receipts: list[tuple[int, int, float]] = []  # (chat_id, message_id, accepted at)
        self.update_log: dict[int, list] = {}  # update_id -> [chat_id, pushed_at, delivered_at | None]
        self.webhook_deliveries = 0

        self._limiter = RateLimiter(limits) if limits is not None else None
        self._chats: dict[int, ChatState] = {}
        self._customers: dict[int, Customer] = {}
        self._all_sent: list[dict] = []
        self._photo_sets: dict[str, list[dict]] = {}
        self._media: dict[str, tuple[str, dict]] = {}  # file_id -> (kind, Telegram object) for non-photos
        self._open_callbacks: dict[str, dict] = {}

        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._user_ids = itertools.count(700_000_001)
        self._media_group_ids = itertools.count(13_000_000_000_000_001)
        self._updates_by_id: dict[int, Any] = {}
        self._pending: deque[_QueuedUpdate] = deque()
        self._updates_event: asyncio.Event | None = None
        self._poll_generation = 0

        self._faults: list[_Fault] = []
        self._hangs: list[frozenset[str] | None] = []
        self._latency = 0.0

        self._webhook: _Webhook | None = None
        self._webhook_queues: list[asyncio.Queue[_QueuedUpdate]] = []
        self._webhook_tasks: list[asyncio.Task] = []
        self._webhook_inflight: dict[int, _QueuedUpdate] = {}
        self._http: aiohttp.ClientSession | None = None

        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._control_api = control_api
        self.base_url = ""

        self._methods: dict[str, tuple[str, Callable[[dict, dict], Awaitable[Any]]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendMediaGroup": self._send_media_group,
                "sendLocation": self._send_location,
                "sendChatAction": self._send_chat_action,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "getFile": self._get_file,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setMyDescription": self._accept_settings,
                "setMyShortDescription": self._accept_settings,
                "setChatMenuButton": self._accept_settings,
            }.items()
        }

    # -- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> BotApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        self._closing = asyncio.Event()
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        if self._control_api:
            from .control import add_control_routes

            add_control_routes(app, self)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._closing is None or self._closing.is_set():
            return
        self._closing.set()
        assert self._updates_event is not None
        self._updates_event.set()
        await self._stop_webhook_workers()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    # -- configuration and fault injection ------------------------------------------------------------

    def set_limits(self, limits: RateLimits | None) -> None:
        """Replace the flood limits (None switches them off); counters start afresh."""
        self._limiter = RateLimiter(limits) if limits is not None else None

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """The next n matching requests fail with this error. methods: Bot API method names;
        default every method except getUpdates."""
        fault = self._make_fault(status, description, retry_after, methods)
        self._faults.extend(fault for _ in range(n))

    def fail_for(
        self,
        seconds: float,
        status: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Every matching request fails until server.clock() passes now + seconds."""
        fault = self._make_fault(status, description, retry_after, methods)
        fault.until = self.clock() + seconds
        self._faults.append(fault)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._hangs.clear()
        self._latency = 0.0

    def block_chat(self, chat_id: int) -> None:
        """Sends to this chat answer 403 from now on, as after the user blocked the bot."""
        self._chat_state(chat_id, create=True).blocked = True

    def unblock_chat(self, chat_id: int) -> None:
        self._chat_state(chat_id, create=True).blocked = False

    def hang_next(self, n: int = 1, *, methods: Iterable[str] | None = None) -> None:
        """The next n matching requests are read but never answered and have no effect."""
        targets = frozenset(m.lower() for m in methods) if methods is not None else None
        self._hangs.extend(targets for _ in range(n))

    def set_latency(self, seconds: float) -> None:
        """Delay every request by this many seconds before handling it."""
        self._latency = max(0.0, seconds)

    def _make_fault(
        self, status: int, description: str | None, retry_after: int | None, methods: Iterable[str] | None
    ) -> _Fault:
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            )
        targets = frozenset(m.lower() for m in methods) if methods is not None else None
        return _Fault(status, description, retry_after, targets)

    def _take_fault(self, method: str) -> _Fault | None:
        if not self._faults:
            return None
        now = self.clock()
        if any(fault.until is not None and fault.until <= now for fault in self._faults):
            self._faults = [fault for fault in self._faults if fault.until is None or fault.until > now]
        for index, fault in enumerate(self._faults):
            if fault.applies(method):
                if fault.until is None:
                    del self._faults[index]
                return fault
        return None

    def _take_hang(self, method: str) -> bool:
        for index, targets in enumerate(self._hangs):
            if (method != "getupdates") if targets is None else (method in targets):
                del self._hangs[index]
                return True
        return False

    # -- chats, customers and records ---------------------------------------------------------------

    def customer(
        self,
        user_id: int | None = None,
        first_name: str = "Alice",
        language_code: str = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> Customer:
        """A customer with a private chat with the bot (returns the existing one for a known id)."""
        if user_id is not None and user_id in self._customers:
            return self._customers[user_id]
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self._chats:
                user_id = next(self._user_ids)
        return Customer(self, user_id, first_name, language_code, last_name=last_name, username=username)

    def register_customer(self, customer: Customer) -> ChatState:
        self._customers[customer.user_id] = customer
        chat = {"id": customer.user_id, "type": "private", "first_name": customer.first_name}
        if customer.last_name:
            chat["last_name"] = customer.last_name
        if customer.username:
            chat["username"] = customer.username
        state = self._chat_state(customer.user_id, create=True)
        state.chat = chat
        return state

    def register_chat(self, chat: dict) -> ChatState:
        """Make a group or supergroup (negative id) known, e.g. {"id": -100, "type": "group", "title": "Agents"}."""
        state = self._chat_state(chat["id"], create=True)
        state.chat = dict(chat)
        return state

    def chat_state(self, chat_id: int) -> ChatState | None:
        return self._chats.get(chat_id)

    def _chat_state(self, chat_id: int, *, create: bool = False) -> ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            if not create:
                raise KeyError(chat_id)
            chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            if chat_id < 0:
                chat = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
            state = self._chats[chat_id] = ChatState(chat=chat)
        return state

    def sent(self, chat_id: int) -> list[dict]:
        """Messages the bot sent to this chat, in order, in their current (edited) state."""
        state = self._chats.get(chat_id)
        return list(state.bot_messages) if state else []

    def all_sent(self) -> list[dict]:
        return list(self._all_sent)

    def is_deleted(self, chat_id: int, message_id: int) -> bool:
        state = self._chats.get(chat_id)
        return bool(state and message_id in state.deleted)

    def reply_keyboard(self, chat_id: int) -> dict | None:
        state = self._chats.get(chat_id)
        return state.reply_keyboard if state else None

    def file_bytes(self, file_id: str) -> bytes:
        stored = self.files.get(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.data

    def stats(self) -> dict:
        delivered = sum(1 for entry in self.update_log.values() if entry[2] is not None)
        return {
            "sent_messages": len(self._all_sent),
            "too_many_requests": self.too_many_requests,
            "updates_pushed": len(self.update_log),
            "updates_delivered": delivered,
            "pending_updates": self._pending_count(),
            "calls": len(self.calls),
            "calls_by_method": dict(self.calls_by_method),
            "webhook_deliveries": self.webhook_deliveries,
        }

    # -- updates ------------------------------------------------------------------------------------

    def push_update(self, body: dict, chat_id: int | None = None) -> dict:
        """Queue {"update_id": <next id>, **body} for the bot; returns the update."""
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **body}
        self._updates_by_id[update_id] = update
        self._enqueue(_QueuedUpdate(update_id, update, chat_id))
        return update

    def push_raw_update(self, update: Any) -> None:
        """Queue anything as an update, malformed or not, exactly as given."""
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int):
            # Offsets still need to move past it, so it takes an id slot of its own.
            update_id = next(self._update_ids)
        self._enqueue(_QueuedUpdate(update_id, update, None))

    def push_update_duplicate(self, update_id: int) -> dict:
        """Deliver an already pushed update again, even if the bot confirmed it (Telegram may redeliver)."""
        update = self._updates_by_id[update_id]
        chat_id = self.update_log.get(update_id, [None])[0]
        self._enqueue(_QueuedUpdate(update_id, update, chat_id, replay=True))
        return update

    def _enqueue(self, entry: _QueuedUpdate) -> None:
        if entry.update_id not in self.update_log:
            self.update_log[entry.update_id] = [entry.chat_id, self.clock(), None]
        if self._webhook is not None and self._webhook_queues:
            self._shard(entry).put_nowait(entry)
            return
        self._pending.append(entry)
        if self._updates_event is not None:
            self._updates_event.set()

    def _mark_delivered(self, entry: _QueuedUpdate) -> None:
        log = self.update_log.get(entry.update_id)
        if log is not None and log[2] is None:
            log[2] = self.clock()

    def _pending_count(self) -> int:
        return len(self._pending) + sum(q.qsize() for q in self._webhook_queues) + len(self._webhook_inflight)

    def incoming_message(self, chat_id: int, sender: dict, content: dict) -> dict:
        """Store a message from a user in chat_id and queue its update; returns the update."""
        state = self._chat_state(chat_id, create=True)
        message = {
            "message_id": state.allocate_message_id(),
            "from": sender,
            "chat": state.chat,
            "date": int(self.clock()),
            **content,
        }
        state.messages[message["message_id"]] = message
        return self.push_update({"message": message}, chat_id)

    def callback_query(self, chat_id: int, sender: dict, message: dict, data: str) -> dict:
        """Queue a callback_query update as if the user pressed a button of message."""
        query_id = str(next(self._callback_ids))
        query = {
            "id": query_id,
            "from": sender,
            "message": message,
            "chat_instance": f"{abs(chat_id) * 7919 % 10**12}",
            "data": data,
        }
        self._open_callbacks[query_id] = {"chat_id": chat_id, "data": data, "message_id": message["message_id"]}
        return self.push_update({"callback_query": query}, chat_id)

    # -- HTTP layer ---------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        found = self._methods.get(request.match_info["method"].lower())
        if found is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        name, handler = found
        try:
            params, files = await self._read_params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.error_code)
        call = ApiCall(method=name, params=params, at=self.clock())
        self.calls.append(call)
        self.calls_by_method[name] += 1
        if self._latency:
            await asyncio.sleep(self._latency)
        if self._take_hang(name.lower()):
            call.hung = True
            assert self._closing is not None
            await self._closing.wait()
            # Drop the connection without an answer, like a request lost in the network.
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        status, body = await self._perform(name, handler, params, files, call)
        return web.json_response(body, status=status, dumps=_dumps)

    async def _perform(
        self,
        name: str,
        handler: Callable[[dict, dict], Awaitable[Any]],
        params: dict,
        files: dict[str, Upload],
        call: ApiCall,
    ) -> tuple[int, dict]:
        fault = self._take_fault(name.lower())
        try:
            if fault is not None:
                raise ApiError(fault.status, fault.description, fault.retry_after)
            result = await handler(params, files)
        except ApiError as error:
            if error.error_code == 429:
                self.too_many_requests += 1
            call.status, call.description = error.error_code, error.description
            return error.error_code, error.body()
        call.status = 200
        body: dict[str, Any] = {"ok": True, "result": result}
        if name == "setWebhook":
            body["description"] = "Webhook was set"
        elif name == "deleteWebhook":
            body["description"] = "Webhook was deleted"
        return 200, body

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = dict(request.query) if request.query_string else {}
        files: dict[str, Upload] = {}
        if request.method != "POST" or not request.body_exists:
            return params, files
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise ApiError(400, "Bad Request: can't parse JSON object") from error
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON object")
            params.update(body)
            return params, files
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = Upload(value.filename or key, value.file.read())
            else:
                params[key] = value
        return params, files

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        stored = self.files.by_path(request.match_info["file_path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

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
        entities = _json_value(params, entities_key, f"Bad Request: can't parse {entities_key} JSON object")
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
        if len(text) > limit:
            raise ApiError(400, too_long)
        return text, entities or None

    def _reply_markup(self, params: dict) -> tuple[dict | None, dict | None]:
        """Validate reply_markup; return (inline keyboard to echo in the Message, other markup)."""
        markup = _json_value(params, "reply_markup", "Bad Request: can't parse reply keyboard markup JSON object")
        if markup is None:
            return None, None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
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
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
        if not button["text"]:
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
        actions = set(button) - {"text"}
        if not actions:
            raise ApiError(400, _TEXT_BUTTON_IN_INLINE_KEYBOARD)
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

    def _reply_to(self, state: ChatState, params: dict) -> dict | None:
        reply_parameters = _json_value(params, "reply_parameters", "Bad Request: can't parse reply parameters")
        message_id = None
        allow_missing = _flag(params, "allow_sending_without_reply")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow_missing = allow_missing or bool(reply_parameters.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = _int(params, "reply_to_message_id")
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
        self._all_sent.append(message)
        self.receipts.append((state.id, message["message_id"], self.clock()))
        state.notify()
        return message

    def _editable_message(self, params: dict, missing: str) -> tuple[ChatState, dict]:
        if params.get("inline_message_id"):
            raise ApiError(400, missing)  # inline mode is not part of Homedesk
        state = self._target_chat(params)
        message_id = _int(params, "message_id")
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
            raise ApiError(400, _BAD_FILE)
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
                fields = {"file_name": upload.filename, "mime_type": _mime_type(extension)}
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
            raise ApiError(400, _BAD_FILE)
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
        offset = _int(params, "offset") or 0
        limit = min(100, max(1, _int(params, "limit") or 100))
        timeout = max(0, _int(params, "timeout") or 0)
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
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT_LENGTH, _TOO_LONG)
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
        media = _json_value(params, "media", "Bad Request: can't parse media JSON object")
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
        latitude, longitude = _float(params, "latitude"), _float(params, "longitude")
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
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((state.id, action))
        return True

    async def _edit_message_text(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT_LENGTH, _TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        inline, _ = self._reply_markup(params)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        if text == message["text"] and entities == message.get("entities") and inline == message.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        message["text"] = text
        _set_or_drop(message, "entities", entities)
        _set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _edit_message_caption(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        content = self._caption(params)
        inline, _ = self._reply_markup(params)
        if (
            content.get("caption") == message.get("caption")
            and content.get("caption_entities") == message.get("caption_entities")
            and inline == message.get("reply_markup")
        ):
            raise ApiError(400, _NOT_MODIFIED)
        _set_or_drop(message, "caption", content.get("caption"))
        _set_or_drop(message, "caption_entities", content.get("caption_entities"))
        _set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _edit_message_reply_markup(self, params: dict, files: dict) -> dict:
        state, message = self._editable_message(params, "Bad Request: message to edit not found")
        inline, other = self._reply_markup(params)
        if other is not None:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if inline == message.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        _set_or_drop(message, "reply_markup", inline)
        return self._record_edit(state, message)

    async def _delete_message(self, params: dict, files: dict) -> bool:
        state = self._target_chat(params)
        message_id = _int(params, "message_id")
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
            raise ApiError(400, _STALE_QUERY)
        answer = {
            "callback_query_id": query_id,
            "chat_id": query["chat_id"],
            "message_id": query["message_id"],
            "data": query["data"],
            "text": None if text is None else str(text),
            "show_alert": _flag(params, "show_alert"),
            "url": params.get("url"),
            "cache_time": _int(params, "cache_time") or 0,
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
        commands = _json_value(params, "commands", "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
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
        scope = _json_value(params, "scope", "Bad Request: can't parse scope JSON object") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _accept_settings(self, params: dict, files: dict) -> bool:
        return True

    # -- webhook mode -------------------------------------------------------------------------------

    async def _set_webhook(self, params: dict, files: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            await self._delete_webhook(params, files)
            return True
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = _int(params, "max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be between 1 and 100")
        allowed = _json_value(params, "allowed_updates", "Bad Request: can't parse allowed_updates JSON object")
        await self._stop_webhook_workers()
        if _flag(params, "drop_pending_updates"):
            self._drop_pending()
        self._webhook = _Webhook(url, None if secret is None else str(secret), max_connections, allowed)
        self._start_webhook_workers()
        return True

    async def _delete_webhook(self, params: dict, files: dict) -> bool:
        await self._stop_webhook_workers()
        self._webhook = None
        if _flag(params, "drop_pending_updates"):
            self._drop_pending()
        assert self._updates_event is not None
        self._updates_event.set()
        return True

    async def _get_webhook_info(self, params: dict, files: dict) -> dict:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": self._pending_count(),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _drop_pending(self) -> None:
        for entry in self._pending:
            self._mark_delivered(entry)
        self._pending.clear()

    def _shard(self, entry: _QueuedUpdate) -> asyncio.Queue[_QueuedUpdate]:
        # Updates of one chat always go through the same worker, so they arrive in order.
        key = entry.chat_id if entry.chat_id is not None else entry.update_id
        return self._webhook_queues[key % len(self._webhook_queues)]

    def _start_webhook_workers(self) -> None:
        assert self._webhook is not None
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._webhook_queues = [asyncio.Queue() for _ in range(self._webhook.max_connections)]
        self._webhook_tasks = [
            asyncio.create_task(self._webhook_worker(queue), name=f"botapi-webhook-{index}")
            for index, queue in enumerate(self._webhook_queues)
        ]
        pending, self._pending = self._pending, deque()
        for entry in pending:
            self._shard(entry).put_nowait(entry)

    async def _stop_webhook_workers(self) -> None:
        tasks, self._webhook_tasks = self._webhook_tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        leftovers = list(self._webhook_inflight.values())
        self._webhook_inflight.clear()
        for queue in self._webhook_queues:
            while not queue.empty():
                leftovers.append(queue.get_nowait())
        self._webhook_queues = []
        if leftovers:
            leftovers.extend(self._pending)
            self._pending = deque(sorted(leftovers, key=lambda entry: entry.update_id))

    async def _webhook_worker(self, queue: asyncio.Queue[_QueuedUpdate]) -> None:
        while True:
            entry = await queue.get()
            self._webhook_inflight[id(entry)] = entry
            delay = self.webhook_retry_delay
            while not await self._post_update(entry):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            self._webhook_inflight.pop(id(entry), None)

    async def _post_update(self, entry: _QueuedUpdate) -> bool:
        hook = self._webhook
        assert hook is not None and self._http is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self._http.post(hook.url, data=_dumps(entry.payload), headers=headers) as response:
                if response.status != 200:
                    self._webhook_error(hook, f"Wrong response from the webhook: {response.status} {response.reason}")
                    return False
                reply = await self._read_webhook_reply(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            self._webhook_error(hook, f"Connection failed: {type(error).__name__}")
            return False
        self.webhook_deliveries += 1
        self._mark_delivered(entry)
        if reply is not None:
            await self._run_webhook_reply(*reply)
        return True

    def _webhook_error(self, hook: _Webhook, message: str) -> None:
        hook.last_error_date = int(self.clock())
        hook.last_error_message = message

    @staticmethod
    async def _read_webhook_reply(response: aiohttp.ClientResponse) -> tuple[dict, dict[str, Upload]] | None:
        """A webhook may answer with a method call in its response body; Telegram executes it."""
        if response.content_type == "multipart/form-data":
            params: dict[str, Any] = {}
            files: dict[str, Upload] = {}
            reader = aiohttp.MultipartReader.from_response(response)
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    files[part.name] = Upload(part.filename, bytes(await part.read()))
                else:
                    params[part.name] = await part.text()
            return (params, files) if "method" in params else None
        if response.content_type == "application/json":
            body = await response.json()
            if isinstance(body, dict) and "method" in body:
                return body, {}
        return None

    async def _run_webhook_reply(self, params: dict, files: dict[str, Upload]) -> None:
        params = dict(params)
        found = self._methods.get(str(params.pop("method")).lower())
        if found is None:
            return
        name, handler = found
        call = ApiCall(method=name, params=params, at=self.clock(), via_webhook_reply=True)
        self.calls.append(call)
        self.calls_by_method[name] += 1
        await self._perform(name, handler, params, files, call)


def _set_or_drop(message: dict, key: str, value: Any) -> None:
    if value:
        message[key] = value
    else:
        message.pop(key, None)


def _mime_type(extension: str) -> str:
    return {
        "pdf": "application/pdf",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "txt": "text/plain",
        "csv": "text/csv",
        "mp4": "video/mp4",
    }.get(extension.lower(), "application/octet-stream")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
