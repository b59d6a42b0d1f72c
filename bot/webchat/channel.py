"""The web chat channel assembled: routes on the process's web server, the socket protocol, uploads, media, live
delivery.

Routes (mounted by `homedesk` on the same aiohttp app as the console, which they bypass: they are for customers,
not staff; their protection is the signed visitor token plus the Origin check, instead of sign-in and CSRF):
  GET  /chat                  the full-page chat (EN/ZH from Accept-Language, `?lang=` to switch)
  GET  /widget.js             the embeddable bubble that opens /chat in an iframe
  GET  /chat/static/<file>    the page's script and style
  GET  /chat/ws               the WebSocket (bot.webchat.protocol)
  POST /chat/upload           a photo (images only, checked by content; size-limited)
  GET  /chat/media/<ref>      a file the page was given a reference to (a visitor's uploads only to that visitor)

Which sites may embed the chat is WEBCHAT_ORIGINS: the page's CSP frame-ancestors, the socket's and the upload's
Origin check, and the widget (which says so plainly on any other site) all read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.webchat import delivery, protocol
from bot.webchat.delivery import WebDelivery
from bot.webchat.hub import Connection, Hub, encode
from bot.webchat.limits import Buckets, RateLimits, Throttle
from bot.webchat.render import WebRenderer
from bot.webchat.texts import error_text, page_strings, widget_strings
from bot.webchat.visitors import VisitorKeys
from dialogs.engine import Identity, process
from dialogs.i18n import normalise_language
from dialogs.inbound import Inbound
from storage.addresses import client_address
from storage.events import EventBus
from storage.media import EXTENSIONS, IMAGE_TYPES, WEB_UPLOADS, image_kind, web_file_id, web_upload_path
from storage.outbox import queued_channels
from storage.outbox_rows import WebRow
from storage.repositories import customers, web_mailbox
from storage.services import customer_typing
from storage.settings import Settings
from storage.unit_of_work import Actor, Work, Workplace
from storage.vocabulary import Channel

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
STATIC_FILES = {"chat.js": "application/javascript", "chat.css": "text/css"}
HELLO_SECONDS = 15.0
HEARTBEAT_SECONDS = 25.0
TRANSPORT_LIMIT = 1024 * 1024  # frames above this close the socket; above protocol.MAX_FRAME get an error frame
MARK = "__webchat_route__"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
VISITOR_HEADER = "X-Visitor-Token"
TYPING_PER_ADDRESS_PER_MINUTE = 120
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RouteT = TypeVar("RouteT", bound=Callable[..., Awaitable[web.StreamResponse]])  # a handler or a handler method


def route(handler: RouteT) -> RouteT:
    """Mark a web chat handler: the console's middlewares (staff sign-in, sessions, CSRF) do not run for it."""
    setattr(handler, MARK, True)
    return handler


def bypass_console_middlewares() -> Any:
    """An outermost middleware that hands web chat routes straight to their handlers (as bot.webhook does for
    Telegram's webhook): visitors are not staff, and these routes check their own token and Origin."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        match = request.match_info
        if match.http_exception is None and getattr(match.handler, MARK, False):
            return await match.handler(request)
        return await handler(request)

    return middleware


def visitor_address(request: web.Request, settings: Settings) -> str:
    """The browser's address, by the console's rule (X-Forwarded-For only through TRUSTED_PROXIES)."""
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", ()),
                          settings.trusted_proxy_networks)


def accepted_language(header: str, fallback: str) -> str:
    """The first supported language of an Accept-Language header, by quality."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            with contextlib.suppress(ValueError):
                quality = float(params.strip()[2:])
        if tag and quality > 0:
            choices.append((-quality, index, tag))
    for _, _, tag in sorted(choices):
        language = normalise_language(tag, fallback="")
        if language:
            return language
    return fallback


class WebChatChannel:
    def __init__(self, settings: Settings, workplace: Workplace, *, poll_interval: float = 1.0) -> None:
        self.settings = settings
        self.workplace = workplace
        self.keys = VisitorKeys.from_settings(settings)
        self.media_root = settings.media_path
        self.renderer = WebRenderer(self.media_root, self.keys)
        self.hub = Hub(self.renderer)
        self.delivery = WebDelivery(workplace, poll_interval=poll_interval, taker=self._take)
        self.limits = RateLimits(settings.webchat_visitor_per_minute, settings.webchat_ip_per_minute)
        # "typing" hints: at most one per visitor every TYPING_EVERY seconds, and a bounded number per address
        # (many visitors behind one NAT, or one browser minting visitors), whatever a hostile page sends
        self.typing = Throttle(protocol.TYPING_EVERY)
        self.typing_addresses = Buckets(TYPING_PER_ADDRESS_PER_MINUTE)
        self.max_upload = int(settings.webchat_max_upload_mb * 1024 * 1024)
        self.origins = settings.webchat_origin_list
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscription: contextlib.AsyncExitStack | None = None
        self._static = {name: (STATIC / name).read_bytes() for name in STATIC_FILES}
        self._version = hashlib.sha256(b"".join(self._static.values())).hexdigest()[:12]
        self._page = (STATIC / "chat.html").read_text(encoding="utf-8")
        self._widget = (STATIC / "widget.js").read_text(encoding="utf-8")

    # -- wiring ---------------------------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        """Add the routes to the web server's app before it starts."""
        app.router.add_get("/chat", self.page)
        app.router.add_get("/widget.js", self.widget)
        app.router.add_get("/chat/static/{name}", self.static)
        app.router.add_get("/chat/ws", self.socket)
        app.router.add_post("/chat/upload", self.upload)
        app.router.add_get("/chat/media/{ref}", self.media)
        app.middlewares.insert(0, bypass_console_middlewares())

        async def close_sockets(_: web.Application) -> None:
            await self.hub.close_all()

        app.on_shutdown.append(close_sockets)

    async def start(self, bus: EventBus | None = None, *, deliver: bool = True) -> None:
        """Live delivery: the hub follows the bus; the delivery loop (unless `deliver` is False: another instance
        takes the rows) runs and wakes on this process's commits."""
        bus = bus or self.workplace.bus
        stack = contextlib.AsyncExitStack()
        subscription = await stack.enter_async_context(bus.subscribe())
        self._subscription = stack
        # Only a bus between processes brings events of rows queued elsewhere; this process's own commits wake the
        # delivery directly (Workplace.on_committed).
        between_processes = type(bus) is not EventBus
        self._tasks.append(asyncio.create_task(self.hub.run(subscription, self._wake_on if between_processes else None),
                                               name="webchat-hub"))
        if deliver:
            self._tasks.append(asyncio.create_task(self.delivery.run(), name="webchat-delivery"))
            self.workplace.on_committed.append(self.delivery.wake)
            self.workplace.before_commit.append(self._take_queued)

    async def _take(self, work: Work) -> int:
        """Take the due web rows in this unit of work; once it commits, this process's sockets get them at once
        (the bus brings them to the other instances' sockets; each socket takes a message once)."""
        taken = await delivery.take(work)
        if taken:
            work.after_commit.append(partial(self._push_local, taken))
        return len(taken)

    async def _take_queued(self, work: Work) -> None:
        """Workplace.before_commit: a unit of work that queued web rows delivers them itself."""
        if Channel.WEB in queued_channels(work.session):
            await self._take(work)

    def _push_local(self, taken: list[tuple[WebRow, str | None]]) -> None:
        for row, staff_name in taken:
            targets = self.hub.of_customer(row.customer_id)
            if not targets:
                continue
            raw = encode(self.renderer.message(row.id, row.payload, row.sender, staff_name))
            for connection in list(targets):
                connection.push_message(row.id, raw)

    def _wake_on(self, event: Any) -> None:
        # Rows queued by another process (a console on another machine) come with its events.
        if event.kind in ("message.new", "conversation.changed", "notification.new"):
            self.delivery.wake()

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.workplace.on_committed.remove(self.delivery.wake)
        with contextlib.suppress(ValueError):
            self.workplace.before_commit.remove(self._take_queued)
        await self.hub.close_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._subscription is not None:
            await self._subscription.aclose()
            self._subscription = None

    # -- who may talk to us ---------------------------------------------------------------------------------

    def _own_origin(self, request: web.Request) -> str:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() or request.scheme
        return f"{'https' if proto == 'https' else 'http'}://{request.host}".lower()

    def origin_allowed(self, request: web.Request) -> bool:
        """The request comes from our own page or from an embedding site in WEBCHAT_ORIGINS."""
        origin = request.headers.get("Origin", "").strip().rstrip("/").lower()
        if not origin:
            return False
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.netloc == request.host.lower():
            return True
        return origin in self.origins

    def _headers(self, response: web.StreamResponse, csp: str) -> web.StreamResponse:
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    # -- pages ----------------------------------------------------------------------------------------------

    @route
    async def page(self, request: web.Request) -> web.StreamResponse:
        asked = request.query.get("lang")
        lang = asked if asked in ("en", "zh") else accepted_language(request.headers.get("Accept-Language", ""),
                                                                     self.settings.default_locale)
        strings = page_strings(lang)
        config = {"lang": lang, "strings": strings, "explicitLang": asked in ("en", "zh"),
                  "embedded": request.query.get("embed") == "1"}
        body = (self._page
                .replace("{{lang}}", "zh-Hans" if lang == "zh" else "en")
                .replace("{{title}}", _html(strings["title"]))
                .replace("{{version}}", self._version)
                .replace("{{config}}", _html(json.dumps(config, ensure_ascii=False))))
        host = request.host if _HOST.match(request.host) else ""  # never let a Host header write the policy
        sockets = f" ws://{host} wss://{host}" if host else ""
        ancestors = " ".join(["'self'", *self.origins])
        csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
               f"connect-src 'self'{sockets}; frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'")
        response = web.Response(text=body, content_type="text/html", charset="utf-8",
                                headers={"Cache-Control": "no-store"})
        return self._headers(response, csp)

    @route
    async def widget(self, request: web.Request) -> web.StreamResponse:
        config = {"origins": list(self.origins), "strings": widget_strings()}
        body = self._widget.replace("/*CONFIG*/null", json.dumps(config, ensure_ascii=False))
        response = web.Response(text=body, content_type="application/javascript", charset="utf-8",
                                headers={"Cache-Control": "public, max-age=300",
                                         "Cross-Origin-Resource-Policy": "cross-origin"})
        return self._headers(response, "default-src 'none'")

    @route
    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self._static:
            raise web.HTTPNotFound()
        response = web.Response(body=self._static[name], content_type=STATIC_FILES[name], charset="utf-8",
                                headers={"Cache-Control": "public, max-age=86400"})
        return self._headers(response, "default-src 'none'")

    # -- media ----------------------------------------------------------------------------------------------

    @route
    async def upload(self, request: web.Request) -> web.StreamResponse:
        """One photo as the request body. Answers {"upload": name} for the socket's photo frame."""
        if not self.origin_allowed(request):
            return web.json_response({"error": "origin"}, status=403)
        visitor_id = self.keys.visitor_of(request.headers.get(VISITOR_HEADER))
        if visitor_id is None:
            return web.json_response({"error": "bad_token"}, status=401)
        lang = "zh" if request.query.get("lang") == "zh" else "en"
        if not await self.limits.allow(visitor_id, visitor_address(request, self.settings)):
            return web.json_response({"error": "rate_limited", "text": error_text(lang, "rate_limited")},
                                     status=429)
        if request.content_length is not None and request.content_length > self.max_upload:
            return web.json_response({"error": "upload_size"}, status=413)
        data = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            data += chunk
            if len(data) > self.max_upload:
                return web.json_response({"error": "upload_size"}, status=413)
        kind = image_kind(bytes(data[:16]))
        if kind is None:
            return web.json_response({"error": "upload_type"}, status=415)
        name = secrets.token_urlsafe(18) + EXTENSIONS[kind]
        path = web_upload_path(self.media_root, web_file_id(visitor_id, name))
        if path is None:  # cannot happen: the visitor id was checked and the name made here
            return web.json_response({"error": "upload_failed"}, status=500)
        await asyncio.to_thread(_write, path, bytes(data))
        return web.json_response({"upload": name})

    @route
    async def media(self, request: web.Request) -> web.StreamResponse:
        relative = self.keys.media_path_of(request.match_info["ref"])
        if relative is None:
            raise web.HTTPNotFound()
        if relative.startswith(WEB_UPLOADS + "/"):  # a visitor's own upload: only to that visitor
            owner = relative.split("/")[1] if relative.count("/") >= 2 else None
            if owner is None or self.keys.visitor_of(request.headers.get(VISITOR_HEADER)) != owner:
                return web.json_response({"error": "not yours"}, status=403)
        try:
            path = (self.media_root / relative).resolve()
            path.relative_to(self.media_root.resolve())
        except (OSError, ValueError):
            raise web.HTTPNotFound() from None
        data = await asyncio.to_thread(_read, path, 20 * 1024 * 1024)
        kind = image_kind(data[:16]) if data else None
        if kind is None:  # only images leave this route
            raise web.HTTPNotFound()
        response = web.Response(body=data, content_type=IMAGE_TYPES[kind],
                                headers={"Cache-Control": "private, max-age=3600"})
        return self._headers(response, "default-src 'none'")

    # -- the socket -----------------------------------------------------------------------------------------

    @route
    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_allowed(request):  # the CSRF-equivalent: only our page and allowed sites
            return web.json_response({"error": "this site may not open the chat"}, status=403)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=TRANSPORT_LIMIT)
        await ws.prepare(request)
        connection: Connection | None = None
        writer: asyncio.Task[None] | None = None
        try:
            first = await self._first_frame(ws)
            if first is None:
                return ws
            connection = Connection(ws=ws, visitor_id="", address=visitor_address(request, self.settings), lang="en")
            writer = asyncio.create_task(connection.write(), name="webchat-writer")
            await self._hello(connection, first)
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._frame(connection, message.data)
                elif message.type == WSMsgType.BINARY:
                    self._error(connection, "bad_frame")
        finally:
            if connection is not None:
                self.hub.remove(connection)
            if writer is not None and connection is not None:
                with contextlib.suppress(Exception):  # let the writer finish what is queued, then stop it
                    await asyncio.wait_for(connection.queue.join(), 1.0)
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
        return ws

    async def _first_frame(self, ws: web.WebSocketResponse) -> protocol.Hello | None:
        try:
            message = await ws.receive(timeout=HELLO_SECONDS)
        except TimeoutError:
            await ws.close(code=4000, message=b"hello expected")
            return None
        if message.type != WSMsgType.TEXT:
            return None
        try:
            frame = protocol.parse(message.data)
        except protocol.FrameError as exc:
            await ws.send_str(json.dumps({"type": "error", "code": exc.code, "text": error_text("en", exc.code)}))
            await ws.close(code=4000, message=b"hello expected")
            return None
        if not isinstance(frame, protocol.Hello):
            await ws.send_str(json.dumps({"type": "error", "code": "not_ready", "text": error_text("en", "not_ready")}))
            await ws.close(code=4000, message=b"hello expected")
            return None
        return frame

    async def _hello(self, connection: Connection, hello: protocol.Hello) -> None:
        connection.lang = hello.lang or "en"
        visitor_id = self.keys.visitor_of(hello.token)
        if visitor_id is None:
            if hello.token:
                self._error(connection, "bad_token", hello.ref)
            visitor_id, token = self.keys.new_visitor()
        else:
            token = hello.token or ""
        connection.visitor_id = visitor_id
        self.hub.add(connection)  # live messages from now on (held until the welcome is out)
        chosen: str | None = None
        items: list[dict[str, Any]] = []
        async with self.workplace.gate.sessions() as session:
            customer = await customers.by_web_visitor(session, visitor_id)
            if customer is not None:
                self.hub.attach(connection, customer.id)
                chosen = customer.language if customer.language_chosen else None
                items = await self._transcript(session, customer.id, hello.last_seen)
        kept = []
        for item in items:
            if item["type"] != "message" or connection.claim(item["id"]):
                kept.append(item)
        connection.open({"type": "welcome", "token": token, "visitor": visitor_id, "lang": chosen, "items": kept,
                         "ref": hello.ref})

    async def _transcript(self, session: Any, customer_id: int, last_seen: int) -> list[dict[str, Any]]:
        if last_seen > 0:
            rows = await web_mailbox.missed(session, customer_id, last_seen)
            return [self.renderer.message(r.id, r.payload, r.sender, r.staff_name) for r in rows]
        delivered, sent = await web_mailbox.recent(session, customer_id)
        # Both sides in the order they happened: history message ids order them (one sequence for what the visitor
        # sent and what they were sent); rows without one (reminders) fall in by time.
        never = 2**63
        timeline: list[tuple[Any, int, dict[str, Any]]] = []
        timeline += [(r.created_at, r.message_id or never, self.renderer.message(r.id, r.payload, r.sender,
                                                                                 r.staff_name)) for r in delivered]
        timeline += [(m.created_at, m.id, self.renderer.mine(m.id, m.kind, m.text, m.payload)) for m in sent]
        timeline.sort(key=lambda entry: (entry[0], entry[1]))
        return [entry[2] for entry in timeline]

    def _error(self, connection: Connection, code: str, ref: str | None = None) -> None:
        connection.push({"type": "error", "code": code, "text": error_text(connection.lang, code), "ref": ref})

    async def _frame(self, connection: Connection, raw: str) -> None:
        try:
            frame = protocol.parse(raw)
        except protocol.FrameError as exc:
            self._error(connection, exc.code, exc.ref)
            return
        try:
            await self._handle(connection, frame)
        except protocol.FrameError as exc:
            self._error(connection, exc.code, exc.ref or frame.ref)
        except Exception:
            log.exception("web chat frame %s of visitor %s failed", frame.type, connection.visitor_id)
            self._error(connection, "failed", frame.ref)

    async def _handle(self, connection: Connection, frame: protocol.Frame) -> None:
        if isinstance(frame, protocol.Ping):
            await self._replay(connection, frame.last_seen)
            connection.push({"type": "pong", "ref": frame.ref})
            return
        if isinstance(frame, protocol.Hello):
            raise protocol.FrameError("bad_frame", frame.ref)
        if isinstance(frame, protocol.Typing):  # a hint, not a message: its own throttle, no answer
            await self._typing(connection)
            return
        if not await self.limits.allow(connection.visitor_id, connection.address):
            raise protocol.FrameError("rate_limited", frame.ref)
        if isinstance(frame, protocol.Language):
            await self._language(connection, frame.lang)
            connection.push({"type": "ack", "ref": frame.ref})
            return
        event = await self._event(connection, frame)
        await self.handle_event(connection, event, frame.ref)

    async def _event(self, connection: Connection, frame: protocol.Frame) -> Inbound:
        lang = connection.lang
        if isinstance(frame, protocol.Text):
            return Inbound(kind="text", text=frame.text, language_code=lang)
        if isinstance(frame, protocol.Command):
            return Inbound(kind="command", text=frame.name, language_code=lang)
        if isinstance(frame, protocol.Press):
            if connection.customer_id is None:
                raise protocol.FrameError("forged", frame.ref)
            async with self.workplace.gate.sessions() as session:
                if not await web_mailbox.offered(session, connection.customer_id, frame.message, frame.token):
                    raise protocol.FrameError("forged", frame.ref)
            return Inbound(kind="choice", choice=frame.token, choice_message_id=frame.message, language_code=lang)
        if isinstance(frame, protocol.Phone):
            return Inbound(kind="contact", phone=frame.phone, contact_is_own=True, contact_typed=True,
                           language_code=lang)
        if isinstance(frame, protocol.Place):
            return Inbound(kind="location", latitude=frame.lat, longitude=frame.lon, language_code=lang)
        if isinstance(frame, protocol.PhotoUpload):
            file_id = web_file_id(connection.visitor_id, frame.upload)
            path = web_upload_path(self.media_root, file_id)
            if path is None or not await asyncio.to_thread(path.is_file):
                raise protocol.FrameError("forged", frame.ref)
            return Inbound(kind="photo", text=frame.caption, photo_file_ids=(file_id,), language_code=lang)
        raise protocol.FrameError("bad_frame", frame.ref)

    def _lock(self, visitor_id: str) -> asyncio.Lock:
        lock = self._locks.get(visitor_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[visitor_id] = lock
        return lock

    async def handle_event(self, connection: Connection, event: Inbound, ref: str | None = None) -> None:
        """One visitor event through the dialog engine, in order per visitor; the replies it queued are taken in
        the same unit of work and reach the visitor's sockets as soon as it commits."""
        identity = Identity(channel=Channel.WEB, external_id=connection.visitor_id, language_code=connection.lang)
        async with self._lock(connection.visitor_id):
            async with self.workplace.open(Actor.customer()) as work:
                with contextlib.suppress(ValueError):
                    work.after_commit.remove(self.delivery.wake)  # its rows are taken as it commits
                outcome = await process(work, identity, event)
                self.hub.attach(connection, outcome.customer_id)
        # Committed: the replies are already on their way to the visitor's sockets (Workplace.before_commit).
        connection.push({"type": "ack", "ref": ref})
        answer = outcome.button_answer
        if answer is not None and answer.text:
            connection.push({"type": "notice", "text": answer.text, "ref": ref})

    async def _typing(self, connection: Connection) -> None:
        """Tell the agent the visitor is typing: dropped when this visitor said so less than TYPING_EVERY seconds
        ago, when their address sent too many, before they have a conversation, and unless a person owns it
        (storage.services.customer_typing says why)."""
        customer_id = connection.customer_id
        if customer_id is None or not self.typing.allow(connection.visitor_id):
            return
        if not self.typing_addresses.has_room(connection.address):
            return
        await self.typing_addresses.take(connection.address)
        async with self.workplace.open(Actor.customer(customer_id)) as work:
            work.after_commit.clear()  # nothing was queued: no sender or delivery to wake
            await customer_typing.customer_is_typing(work, customer_id)

    async def _language(self, connection: Connection, lang: str) -> None:
        connection.lang = lang
        if connection.customer_id is None:
            return  # no conversation yet: the first message creates the customer in this language
        async with self.workplace.open(Actor.customer(connection.customer_id)) as work:
            customer = await customers.by_id(work.session, connection.customer_id)
            if customer is not None:
                await customers.set_language(work.session, customer, lang)

    async def _replay(self, connection: Connection, last_seen: int) -> None:
        """What this socket should have had after `last_seen` and did not get (a lost live event)."""
        if connection.customer_id is None or last_seen <= 0:
            return
        async with self.workplace.gate.sessions() as session:
            rows = await web_mailbox.missed(session, connection.customer_id, last_seen)
        for row in rows:
            if connection.claim(row.id):
                connection.push(self.renderer.message(row.id, row.payload, row.sender, row.staff_name))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)[:limit]
    except OSError:
        return b""


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#x27;"))
