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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the constructors' signatures only: the bus itself knows no tables
    from storage.models import Broadcast, Conversation, Message, StaffNotification, Ticket

log = logging.getLogger(__name__)
CHANNEL = "homedesk:events"


@dataclass(frozen=True)
class Event:
    kind: str  # message.new, message.status, conversation.changed, conversation.typing, ticket.changed,
    # notification.new, webchat.message, broadcast.changed
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "data": self.data}, default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        value = json.loads(raw)
        return cls(kind=value["kind"], data=value.get("data") or {})


# One constructor per event kind: the only places an Event is built, so every publisher sends the same shape.

def message_new(message: Message, *, customer_id: int | None = None, mode: str | None = None) -> Event:
    """A message was added to a conversation's history (customer, bot, agent, system or a private note)."""
    data: dict[str, Any] = {"conversation_id": message.conversation_id, "message_id": message.id,
                            "direction": message.direction}
    if message.private_note:
        data["private"] = True
    if customer_id is not None:
        data["customer_id"] = customer_id
    if mode is not None:
        data["mode"] = mode
    return Event("message.new", data)


def message_status(*, outbox_id: int, message_id: int | None, conversation_id: int | None,
                   customer_id: int | None, chat_id: int | None, status: str, telegram_message_id: int | None,
                   error: str | None = None) -> Event:
    """The sender's report on one outbox row (sent, failed...)."""
    data: dict[str, Any] = {"outbox_id": outbox_id, "message_id": message_id, "conversation_id": conversation_id,
                            "customer_id": customer_id, "chat_id": chat_id, "status": status,
                            "telegram_message_id": telegram_message_id}
    if error:
        data["error"] = error[:300]
    return Event("message.status", data)


def web_message(row: Any, *, staff_name: str | None = None) -> Event:
    """A web chat row left the outbox for its visitor (`storage.outbox_rows.WebRow`): every instance pushes it to
    the sockets it holds for that customer. Carries the reply itself, so no instance reads it again."""
    return Event("webchat.message", {"customer_id": row.customer_id, "outbox_id": row.id, "payload": row.payload,
                                     "message_id": row.message_id, "conversation_id": row.conversation_id,
                                     "sender": row.sender, "staff_name": staff_name})


def conversation_changed(conversation: Conversation, **extra: Any) -> Event:
    """A conversation's owner, mode or status changed (queued, taken, transferred, returned, closed)."""
    return Event("conversation.changed", {
        "conversation_id": conversation.id, "customer_id": conversation.customer_id,
        "status": conversation.status, "mode": conversation.mode, "assignee_id": conversation.assignee_id,
        "reason": conversation.handoff_reason, "version": conversation.version, **extra,
    })


def customer_typing(conversation: Conversation) -> Event:
    """The customer is typing in a conversation a person owns (the web chat says so; Telegram does not tell bots).
    Consoles showing that conversation say "Customer is typing…" for a few seconds; nothing is stored."""
    return Event("conversation.typing", {"conversation_id": conversation.id, "customer_id": conversation.customer_id,
                                         "assignee_id": conversation.assignee_id})


def ticket_changed(ticket: Ticket, **extra: Any) -> Event:
    return Event("ticket.changed", {"ticket_id": ticket.id, "number": ticket.number, "status": ticket.status,
                                    "assignee_id": ticket.assignee_id, **extra})


def broadcast_changed(broadcast: Broadcast, **extra: Any) -> Event:
    """A notice to owners was scheduled, started, finished or cancelled (consoles refresh; a process with the
    scheduler starts a notice due now at once)."""
    return Event("broadcast.changed", {"broadcast_id": broadcast.id, "status": broadcast.status, **extra})


def notification_new(note: StaffNotification) -> Event:
    """A staff notification row was written (after flush, so it has an id)."""
    return Event("notification.new", {"staff_id": note.staff_id, "notification_id": note.id, "text": note.text,
                                      "link": note.link})


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
