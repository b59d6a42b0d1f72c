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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from staff_console.context import BUS_KEY, SESSIONS_KEY
from staff_console.text import display_text
from storage.events import Event
from storage.models import Message, Staff
from storage.repositories import inbox
from storage.vocabulary import CHAT_ROLES

log = logging.getLogger(__name__)
CLIENT_QUEUE = 500
MAX_BATCH = 200


@dataclass(eq=False)
class Client:
    staff_id: int
    role: str
    conversation_id: int | None = None
    inbox: bool = False
    tickets: bool = False  # the tickets board: told when any ticket changes, to refresh its list
    ticket_id: int | None = None  # a ticket's page: told when that ticket changes
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
        "sent_photo": sent_photo(message),
    }


def sent_photo(message: Message) -> str | None:
    """A photo staff sent: "file" when it is in the media folder (the console serves it), the https link when it
    came from one, else None."""
    if message.direction != "out" or message.kind != "photo" or not isinstance(message.payload, dict):
        return None
    photo = str(message.payload.get("photo") or "")
    if photo.startswith("https://"):
        return photo
    return "file" if photo else None


# Built once (the live updates run it for every batch of events): see storage.repositories.inbox.many.
_MESSAGES = (select(Message, Staff.name).outerjoin(Staff, Staff.id == Message.staff_id)
             .where(Message.id.in_(bindparam("live_message_ids", expanding=True))))


async def load_messages(session: AsyncSession, message_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not message_ids:
        return {}
    rows = await session.execute(_MESSAGES, {"live_message_ids": sorted(message_ids)})
    return {message.id: message_json(message, name) for message, name in rows.all()}


class Hub:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.clients: set[Client] = set()
        self._sessions = sessions
        # Poked when a conversation starts waiting, so whoever runs the handoff tick (homedesk's scheduler) can run
        # it at once instead of at its next interval. Register from an on_startup handler: the hub exists by then.
        self.on_waiting: list[Callable[[], object]] = []

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

    async def dispatch(self, event: Event) -> None:
        await self.dispatch_batch([event])

    async def dispatch_batch(self, events: list[Event]) -> None:
        """Handle a run of events with one database round trip for all of them, then send in event order.

        Under load the batches grow by themselves, so the database work per event shrinks exactly when it matters.
        """
        conversations_watched = {c.conversation_id for c in self.clients if c.conversation_id is not None}
        # Every page an agent or admin has open shows counters and is told of new work ("attention").
        inbox_watched = any(c.inbox or c.role in CHAT_ROLES for c in self.clients)
        message_ids: set[int] = set()
        row_ids: set[int] = set()
        for event in events:
            conversation_id = event.data.get("conversation_id")
            if event.kind == "conversation.changed" and event.data.get("mode") == "waiting":
                for poke in self.on_waiting:
                    poke()
            if not isinstance(conversation_id, int):
                continue
            if event.kind == "conversation.changed" and (inbox_watched or conversation_id in conversations_watched):
                row_ids.add(conversation_id)
            elif event.kind == "message.new":
                if conversation_id in conversations_watched and isinstance(event.data.get("message_id"), int):
                    message_ids.add(event.data["message_id"])
                if inbox_watched:
                    row_ids.add(conversation_id)
        messages: dict[int, dict[str, Any]] = {}
        rows: dict[int, inbox.InboxRow] = {}
        if message_ids or row_ids:
            async with self._sessions() as session:
                messages = await load_messages(session, message_ids)
                rows = await inbox.many(session, list(row_ids))
        for event in events:
            self._emit(event, messages, rows)

    def _emit(self, event: Event, messages: dict[int, dict[str, Any]], rows: dict[int, inbox.InboxRow]) -> None:
        data = event.data
        conversation_id = data.get("conversation_id")
        if event.kind == "conversation.changed" and isinstance(conversation_id, int) and conversation_id in rows:
            row = rows[conversation_id].to_json()
            self._send({"type": "conversation", "row": row, **_extra(data)},
                       conversation_id=conversation_id, inbox_too=True)
            # A customer just joined (or went back to) the queue and nobody has them: everyone who answers chats
            # hears of it once. Any other change only moves the counters.
            queued = (data.get("queued") or data.get("requeued")) and row["mode"] == "waiting"
            self._attend("waiting" if queued and row["assignee_id"] is None else "changed", row)
        elif event.kind == "message.new" and isinstance(conversation_id, int):
            message_id = data.get("message_id")
            message = messages.get(message_id) if isinstance(message_id, int) else None
            if message is not None:
                self._send({"type": "message", "message": message}, conversation_id=conversation_id)
            if conversation_id in rows:
                row = rows[conversation_id].to_json()
                self._send({"type": "conversation", "row": row}, inbox_too=True)
                if data.get("direction") == "in" and not data.get("private"):
                    self._attend("message", row)
        elif event.kind == "conversation.typing" and isinstance(conversation_id, int):
            # only the pages showing this conversation (its page, the inbox's pane); nothing is read or stored
            self._send({"type": "typing", "conversation_id": conversation_id}, conversation_id=conversation_id)
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
        elif event.kind == "ticket.changed":
            raw = json.dumps({"type": "ticket", "ticket_id": data.get("ticket_id"), "status": data.get("status")},
                             default=str)
            for client in list(self.clients):
                if client.tickets or (client.ticket_id is not None and client.ticket_id == data.get("ticket_id")):
                    client.push(raw)
        elif event.kind == "notification.new" and isinstance(data.get("staff_id"), int):
            self._send({"type": "notification", "text": data.get("text", ""), "link": data.get("link")},
                       staff_id=data["staff_id"])

    def _attend(self, kind: str, row: dict[str, Any]) -> None:
        """Tell every page of agents and admins: its counters refresh, and it decides whether to alert (a new
        waiting customer for everyone; a customer's message only for the conversation's assignee)."""
        raw = json.dumps({"type": "attention", "kind": kind, "row": row}, default=str)
        for client in list(self.clients):
            if client.role in CHAT_ROLES:
                client.push(raw)

    async def run(self, subscription: asyncio.Queue[Event]) -> None:
        while True:
            batch = [await subscription.get()]
            while len(batch) < MAX_BATCH and not subscription.empty():
                batch.append(subscription.get_nowait())
            try:
                await self.dispatch_batch(batch)
            except Exception:  # one bad batch must not stop live updates for everyone
                log.exception("live update failed for %d event(s)", len(batch))


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
