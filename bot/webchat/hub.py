"""The sockets this process holds, by visitor and by customer, and live delivery to them.

Every instance subscribes to the event bus (in-process, or Redis with several instances behind a load balancer)
and pushes each `webchat.message` event to the sockets it holds for that customer. Each socket has one writer
task fed by a bounded queue, so a slow browser never holds the others up; one that falls too far behind is
closed and catches up from its mailbox when the page reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.webchat.render import WebRenderer
from storage.events import Event

log = logging.getLogger(__name__)
QUEUE = 1000  # frames waiting for one browser
REMEMBERED = 5000  # message ids each socket remembers having sent (no duplicates after a replay)
MAX_BATCH = 200
TRY_AGAIN_LATER = 1013  # WebSocket close code: the page reconnects and replays what it missed


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    visitor_id: str
    address: str
    lang: str
    customer_id: int | None = None
    ready: bool = False  # the welcome went out; live messages before it wait in `early`
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    sent: OrderedDict[int, None] = field(default_factory=OrderedDict)
    early: list[str] = field(default_factory=list)
    overflowed: bool = False

    def push(self, frame: dict[str, Any] | str) -> None:
        raw = frame if isinstance(frame, str) else encode(frame)
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(raw)
        except asyncio.QueueFull:
            self.overflowed = True  # the writer closes the socket; the page reconnects and replays
            log.warning("web chat socket of visitor %s fell behind; closing it", self.visitor_id)

    def claim(self, message_id: int) -> bool:
        """Remember that this socket gets message `message_id`; False when it already did."""
        if message_id in self.sent:
            return False
        self.sent[message_id] = None
        if len(self.sent) > REMEMBERED:
            self.sent.popitem(last=False)
        return True

    def push_message(self, message_id: int, raw: str) -> None:
        if not self.claim(message_id):
            return
        if self.ready:
            self.push(raw)
        else:
            self.early.append(raw)

    def open(self, welcome: dict[str, Any]) -> None:
        """Send the welcome, then whatever arrived live while it was being read."""
        self.push(welcome)
        for raw in self.early:
            self.push(raw)
        self.early.clear()
        self.ready = True

    async def write(self) -> None:
        while not self.ws.closed:
            if self.overflowed:
                await self.ws.close(code=TRY_AGAIN_LATER, message=b"behind")
                return
            raw = await self.queue.get()
            try:
                await self.ws.send_str(raw)
            finally:
                self.queue.task_done()


class Hub:
    def __init__(self, renderer: WebRenderer) -> None:
        self.renderer = renderer
        self.connections: set[Connection] = set()
        self._by_customer: dict[int, set[Connection]] = {}

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)
        if connection.customer_id is not None:
            self.attach(connection, connection.customer_id)

    def attach(self, connection: Connection, customer_id: int) -> None:
        connection.customer_id = customer_id
        if connection in self.connections:
            self._by_customer.setdefault(customer_id, set()).add(connection)

    def remove(self, connection: Connection) -> None:
        self.connections.discard(connection)
        if connection.customer_id is not None:
            group = self._by_customer.get(connection.customer_id)
            if group is not None:
                group.discard(connection)
                if not group:
                    del self._by_customer[connection.customer_id]

    def of_customer(self, customer_id: int) -> set[Connection]:
        return self._by_customer.get(customer_id, set())

    def dispatch(self, event: Event) -> None:
        if event.kind != "webchat.message":
            return
        data = event.data
        customer_id, row_id = data.get("customer_id"), data.get("outbox_id")
        if not isinstance(customer_id, int) or not isinstance(row_id, int):
            return
        targets = [c for c in self._by_customer.get(customer_id, ()) if row_id not in c.sent]
        if not targets:
            return  # away, on another instance (the row waits in their mailbox), or already pushed by its commit
        raw = encode(self.renderer.message(row_id, data.get("payload") or {}, str(data.get("sender") or "bot"),
                                           data.get("staff_name")))
        for connection in targets:
            connection.push_message(row_id, raw)

    async def run(self, subscription: asyncio.Queue[Event], on_other: Any = None) -> None:
        """Forward live events until cancelled; `on_other(event)` sees every other event (the delivery's wake-up)."""
        while True:
            batch = [await subscription.get()]
            while len(batch) < MAX_BATCH and not subscription.empty():
                batch.append(subscription.get_nowait())
            for event in batch:
                try:
                    if event.kind == "webchat.message":
                        self.dispatch(event)
                    elif on_other is not None:
                        on_other(event)
                except Exception:  # one bad event must not stop live delivery for everyone
                    log.exception("web chat live delivery failed for %s", event.kind)

    async def close_all(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"server shutdown")
