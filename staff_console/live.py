"""Live updates: one bus subscription per console process, fanned out to the signed-in browsers.

Each browser tab opens one WebSocket (`/ws?inbox=1` on the inbox, `/ws?conversation=N` on a conversation) and
gets only what that page shows. Events are read from the database once and serialised once per event, then
queued per client, so one slow browser never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from staff_console.context import BUS_KEY, SESSIONS_KEY
from staff_console.text import display_text
from storage.events import Event
from storage.models import Message, Staff
from storage.repositories import inbox

log = logging.getLogger(__name__)
CLIENT_QUEUE = 500


@dataclass(eq=False)
class Client:
    staff_id: int
    role: str
    conversation_id: int | None = None
    inbox: bool = False
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE))

    def push(self, raw: str) -> None:
        if self.queue.full():  # drop the oldest: the page reloads its state on reconnect anyway
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(raw)


def message_json(message: Message, staff_name: str | None = None) -> dict[str, Any]:
    photos = message.payload.get("photo_file_ids") if isinstance(message.payload, dict) else None
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "sender": message.sender,
        "staff_name": staff_name,
        "kind": message.kind,
        "text": display_text(message.text, message.sender, message.direction),
        "private_note": message.private_note,
        "delivery_status": message.delivery_status,
        "created_at": message.created_at.isoformat() if message.created_at else None,
        "photos": len(photos) if isinstance(photos, list) else 0,
    }


async def load_message(session: AsyncSession, message_id: int) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(Message, Staff.name).outerjoin(Staff, Staff.id == Message.staff_id).where(Message.id == message_id)
        )
    ).first()
    return message_json(row[0], row[1]) if row else None


class Hub:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.clients: set[Client] = set()
        self._sessions = sessions
        self.on_waiting: list[Any] = []  # callbacks poked when a conversation starts waiting (auto-assignment)

    def add(self, client: Client) -> None:
        self.clients.add(client)

    def remove(self, client: Client) -> None:
        self.clients.discard(client)

    def connected(self, staff_id: int) -> bool:
        return any(c.staff_id == staff_id for c in self.clients)

    def _send(self, payload: dict[str, Any], *, conversation_id: int | None = None, inbox_too: bool = False,
              staff_id: int | None = None) -> None:
        raw = json.dumps(payload, default=str)
        for client in list(self.clients):
            if staff_id is not None:
                if client.staff_id == staff_id:
                    client.push(raw)
            elif (conversation_id is not None and client.conversation_id == conversation_id) or (
                inbox_too and client.inbox
            ):
                client.push(raw)

    def _watched(self, conversation_id: int | None) -> tuple[bool, bool]:
        watchers = any(c.conversation_id == conversation_id for c in self.clients)
        return watchers, any(c.inbox for c in self.clients)

    async def dispatch(self, event: Event) -> None:
        data = event.data
        conversation_id = data.get("conversation_id")
        if event.kind == "conversation.changed":
            if data.get("mode") == "waiting":
                for poke in self.on_waiting:
                    poke()
            if not self.clients or not isinstance(conversation_id, int):
                return
            async with self._sessions() as session:
                row = await inbox.one(session, conversation_id)
            if row is not None:
                self._send({"type": "conversation", "row": row.to_json(), **_extra(data)},
                           conversation_id=conversation_id, inbox_too=True)
        elif event.kind == "message.new":
            watchers, inbox_watchers = self._watched(conversation_id)
            if not (watchers or inbox_watchers) or not isinstance(conversation_id, int):
                return
            async with self._sessions() as session:
                message = await load_message(session, int(data["message_id"])) if watchers else None
                row = await inbox.one(session, conversation_id) if inbox_watchers else None
            if message is not None:
                self._send({"type": "message", "message": message}, conversation_id=conversation_id)
            if row is not None:
                self._send({"type": "conversation", "row": row.to_json()}, inbox_too=True)
        elif event.kind == "message.status":
            payload = {"type": "status", "message_id": data.get("message_id"),
                       "status": data.get("status") or data.get("delivery_status"),
                       "conversation_id": conversation_id}
            if isinstance(conversation_id, int):
                self._send(payload, conversation_id=conversation_id)
            else:  # the sender did not say which conversation: every open conversation page checks the id
                raw = json.dumps(payload, default=str)
                for client in list(self.clients):
                    if client.conversation_id is not None:
                        client.push(raw)
        elif event.kind == "notification.new" and isinstance(data.get("staff_id"), int):
            self._send({"type": "notification", "text": data.get("text", ""), "link": data.get("link")},
                       staff_id=data["staff_id"])

    async def run(self, subscription: asyncio.Queue[Event]) -> None:
        while True:
            event = await subscription.get()
            try:
                await self.dispatch(event)
            except Exception:  # one bad event must not stop live updates for everyone
                log.exception("live update failed for %s", event.kind)


def _extra(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("requeued", "transferred_to", "queued") if key in data}


HUB_KEY = web.AppKey("live_hub", Hub)


@contextlib.asynccontextmanager
async def hub(app: web.Application) -> AsyncIterator[Hub]:
    the_hub = Hub(app[SESSIONS_KEY])
    app[HUB_KEY] = the_hub
    async with app[BUS_KEY].subscribe() as subscription:
        task = asyncio.create_task(the_hub.run(subscription), name="console-live-hub")
        try:
            yield the_hub
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
