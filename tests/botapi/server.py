"""An offline Telegram Bot API server for tests and benchmarks.

It speaks the real wire format (``{base}/bot{token}/{method}``, JSON / urlencoded /
multipart bodies, ``{"ok": ..}`` envelopes), validates what Telegram validates, enforces
Telegram-like flood limits, records every message the bot sends, and lets tests inject
faults. Customers (see customer.py) feed updates that the bot receives through
getUpdates long polling or, once setWebhook was called, through webhook POSTs.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from .customer import Customer
from .files import FileStore
from .limits import RateLimiter, RateLimits
from .methods import BotApiMethods
from .webhook import WebhookMixin
from .wire import (
    DEFAULT_DESCRIPTIONS,
    ApiCall,
    ApiError,
    ChatState,
    Fault,
    QueuedUpdate,
    Upload,
    WebhookConfig,
    dumps,
)


class BotApiServer(BotApiMethods, WebhookMixin):
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
        keep_calls: bool = True,
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
        # 400 answers per method: what Telegram would refuse (HTML it cannot parse, text too long, ...).
        self.bad_requests: Counter[str] = Counter()
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.receipts: list[tuple[int, int, float]] = []  # (chat_id, message_id, accepted at)
        self.update_log: dict[int, list] = {}  # update_id -> [chat_id, pushed_at, delivered_at | None]
        self.webhook_deliveries = 0
        self.updates_delivered = 0
        # Long benchmarks may switch the per-call log off; calls_by_method still counts.
        self.keep_calls = keep_calls

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
        self._pending: deque[QueuedUpdate] = deque()
        self._updates_event: asyncio.Event | None = None
        self._poll_generation = 0

        self._faults: list[Fault] = []
        self._hangs: list[frozenset[str] | None] = []
        self._hang_windows: list[tuple[float, frozenset[str] | None]] = []  # (until, methods)
        self._latency = 0.0

        self._webhook: WebhookConfig | None = None
        self._webhook_queues: list[asyncio.Queue[QueuedUpdate]] = []
        self._webhook_tasks: list[asyncio.Task] = []
        self._webhook_inflight: dict[int, QueuedUpdate] = {}
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
                "editMessageMedia": self._edit_message_media,
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
        self._hang_windows.clear()
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

    def hang_for(self, seconds: float, *, methods: Iterable[str] | None = None) -> None:
        """Every matching request until server.clock() passes now + seconds is read but never answered and has
        no effect, as when Telegram or the way to it hangs (default: every method except getUpdates)."""
        targets = frozenset(m.lower() for m in methods) if methods is not None else None
        self._hang_windows.append((self.clock() + seconds, targets))

    def set_latency(self, seconds: float) -> None:
        """Delay every request by this many seconds before handling it."""
        self._latency = max(0.0, seconds)

    def _make_fault(
        self, status: int, description: str | None, retry_after: int | None, methods: Iterable[str] | None
    ) -> Fault:
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            )
        targets = frozenset(m.lower() for m in methods) if methods is not None else None
        return Fault(status, description, retry_after, targets)

    def _take_fault(self, method: str) -> Fault | None:
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
        if self._hang_windows:
            now = self.clock()
            self._hang_windows = [(until, targets) for until, targets in self._hang_windows if until > now]
            for _, targets in self._hang_windows:
                if (method != "getupdates") if targets is None else (method in targets):
                    return True
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
        phone: str = "+8613800138000",
    ) -> Customer:
        """A customer with a private chat with the bot (returns the existing one for a known id).
        `phone` is what sharing their own contact sends."""
        if user_id is not None and user_id in self._customers:
            return self._customers[user_id]
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self._chats:
                user_id = next(self._user_ids)
        return Customer(self, user_id, first_name, language_code, last_name=last_name, username=username,
                        phone=phone)

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

    def open_callbacks(self, chat_id: int) -> list[dict]:
        """Button presses in chat_id the bot has not answered yet (the customer's button still spins)."""
        return [query for query in self._open_callbacks.values() if query["chat_id"] == chat_id]

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
        return {
            "sent_messages": len(self._all_sent),
            "too_many_requests": self.too_many_requests,
            "bad_requests": dict(self.bad_requests),
            "updates_pushed": len(self.update_log),
            "updates_delivered": self.updates_delivered,
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
        self._enqueue(QueuedUpdate(update_id, update, chat_id))
        return update

    def push_raw_update(self, update: Any) -> None:
        """Queue anything as an update, malformed or not, exactly as given."""
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int):
            # Offsets still need to move past it, so it takes an id slot of its own.
            update_id = next(self._update_ids)
        self._enqueue(QueuedUpdate(update_id, update, None))

    def push_update_duplicate(self, update_id: int) -> dict:
        """Deliver an already pushed update again, even if the bot confirmed it (Telegram may redeliver)."""
        update = self._updates_by_id[update_id]
        chat_id = self.update_log.get(update_id, [None])[0]
        self._enqueue(QueuedUpdate(update_id, update, chat_id, replay=True))
        return update

    def _enqueue(self, entry: QueuedUpdate) -> None:
        if entry.update_id not in self.update_log:
            self.update_log[entry.update_id] = [entry.chat_id, self.clock(), None]
        if self._webhook is not None and self._webhook_queues:
            self._shard(entry).put_nowait(entry)
            return
        self._pending.append(entry)
        if self._updates_event is not None:
            self._updates_event.set()

    def _mark_delivered(self, entry: QueuedUpdate) -> None:
        log = self.update_log.get(entry.update_id)
        if log is not None and log[2] is None:
            log[2] = self.clock()
            self.updates_delivered += 1

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

    def open_callback_query(self, query_id: str, chat_id: int | None, data: Any = None,
                            message_id: int | None = None) -> None:
        """Accept answerCallbackQuery for a press a test hands to the bot itself (not through getUpdates)."""
        self._open_callbacks[query_id] = {"chat_id": chat_id, "data": data, "message_id": message_id}

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
        if self.keep_calls:
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
        return web.json_response(body, status=status, dumps=dumps)

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
            elif error.error_code == 400:
                self.bad_requests[name] += 1
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
