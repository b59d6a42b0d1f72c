"""The console's handoff tick: requeue conversations whose assignee went silent, then auto-assign the queue.

Runs every HANDOFF_TICK_SECONDS and right away when a conversation starts waiting. Several console processes
may run it at once: every change of owner is a conditional update in storage.services.handoff, so no
conversation is assigned twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from dialogs.flows.handoff import agent_joined
from staff_console.context import BUS_KEY, SESSIONS_KEY, SETTINGS_KEY
from staff_console.live import HUB_KEY
from storage.db import transaction
from storage.events import Event
from storage.models import Customer, StaffNotification
from storage.services import handoff
from storage.services.auth import audit

log = logging.getLogger(__name__)


async def run_once(app: web.Application) -> tuple[int, int]:
    """One pass; returns (requeued, assigned) counts."""
    settings = app[SETTINGS_KEY]
    events: list[Event] = []
    notes: list[StaffNotification] = []
    async with transaction(app[SESSIONS_KEY]) as session:
        requeued = await handoff.requeue_silent(session, minutes=settings.handoff_reassign_minutes, notes=notes)
        for conversation, silent_id in requeued:
            await audit(session, "requeue", staff_id=silent_id, target_type="conversation",
                        target_id=conversation.id, details={"minutes": settings.handoff_reassign_minutes})
            events.append(handoff.changed_event(conversation, requeued=True))
        assigned = await handoff.auto_assign(session)
        for conversation, agent in assigned:
            customer = await session.get(Customer, conversation.customer_id)
            reply = agent_joined(customer.language if customer else "en", agent.name)
            message = await handoff.send_to_customer(session, conversation, reply.to_payload(), text=reply.text,
                                                     sender="system")
            await audit(session, "auto_assign", staff_id=agent.id, target_type="conversation",
                        target_id=conversation.id)
            who = customer.display_name if customer else f"#{conversation.customer_id}"
            note = StaffNotification(staff_id=agent.id, text=f"{who} was assigned to you",
                                     link=f"/conversations/{conversation.id}")
            session.add(note)
            notes.append(note)
            events.append(handoff.changed_event(conversation))
            if message is not None:
                events.append(Event("message.new", {"conversation_id": conversation.id, "message_id": message.id,
                                                    "direction": "out"}))
    for note in notes:
        events.append(Event("notification.new", {"staff_id": note.staff_id, "text": note.text, "link": note.link}))
    for event in events:
        await app[BUS_KEY].publish(event)
    return len(requeued), len(assigned)


@contextlib.asynccontextmanager
async def handoff_tick(app: web.Application) -> AsyncIterator[None]:
    interval = app[SETTINGS_KEY].handoff_tick_seconds
    if interval <= 0:
        yield
        return
    wake = asyncio.Event()
    app[HUB_KEY].on_waiting.append(wake.set)

    async def loop() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=interval)
            wake.clear()
            try:
                await run_once(app)
            except Exception:  # keep ticking; the next pass retries
                log.exception("handoff tick failed")

    task = asyncio.create_task(loop(), name="console-handoff-tick")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
