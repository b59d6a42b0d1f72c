"""The event bus: live updates for consoles (new message, conversation queued/taken, ticket changed...).

In-process by default; with REDIS_URL set, events are published on a Redis channel so consoles and bots
running as separate processes see each other's events. Publishing never blocks a business transaction:
callers publish after commit, and a slow subscriber only loses its own oldest events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
CHANNEL = "homedesk:events"


@dataclass(frozen=True)
class Event:
    kind: str  # message.new, message.status, conversation.changed, ticket.changed, notification.new
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "data": self.data}, default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        value = json.loads(raw)
        return cls(kind=value["kind"], data=value.get("data") or {})


class EventBus:
    """Fan-out to local subscribers; subclasses add transport between processes."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._queue_size = queue_size

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, event: Event) -> None:
        self._deliver_locally(event)

    def _deliver_locally(self, event: Event) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a stalled console must not hold everyone else back
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


class RedisEventBus(EventBus):
    def __init__(self, url: str, queue_size: int = 1000) -> None:
        super().__init__(queue_size)
        self._url = url
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(self._url)
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        self._listener = asyncio.create_task(self._listen(pubsub))

    async def _listen(self, pubsub: Any) -> None:
        async for item in pubsub.listen():
            if item.get("type") != "message":
                continue
            try:
                self._deliver_locally(Event.from_json(item["data"]))
            except (ValueError, KeyError):
                log.warning("ignored a malformed event on %s", CHANNEL)

    async def publish(self, event: Event) -> None:
        await self._redis.publish(CHANNEL, event.to_json())

    async def close(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._redis is not None:
            await self._redis.aclose()


def create_event_bus(redis_url: str | None) -> EventBus:
    return RedisEventBus(redis_url) if redis_url else EventBus()
