"""Web rows out of the outbox: taken once (storage.outbox_rows.deliver_web), published as `webchat.message` events
after commit, pushed by every instance's hub to the sockets it holds.

Rows queued by a unit of work of this process (the dialog engine answering a visitor, an agent's reply from the
console, a reminder tick) are taken at the end of that same unit of work (`Workplace.before_commit`), so they go
out the moment it commits, with no second transaction. Rows queued elsewhere (another process, a CLI command) are
taken by the loop here, woken by every committed unit of work of this process and by live events from other
processes, and polling as a safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy import select

from storage import clock, outbox_rows
from storage.events import message_status, web_message
from storage.models import Staff
from storage.outbox_rows import WebRow
from storage.unit_of_work import Work, Workplace

log = logging.getLogger(__name__)
BATCH = 500


async def take(work: Work, *, customer_id: int | None = None, limit: int = BATCH) -> list[tuple[WebRow, str | None]]:
    """Take the due web rows (of one customer, or everyone's) in this unit of work; they go out when it commits.
    Returns each row with its agent's name (for the page)."""
    await work.session.flush()  # rows this unit of work queued wait in the session until its next flush
    rows = await outbox_rows.deliver_web(work.session, now=clock.now(), limit=limit, customer_id=customer_id)
    if not rows:
        return []
    staff_ids = {row.staff_id for row in rows if row.staff_id is not None}
    names: dict[int, str] = {}
    if staff_ids:
        found = await work.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))
        names = {staff_id: name for staff_id, name in found.tuples()}
    for row in rows:
        work.publish(web_message(row, staff_name=names.get(row.staff_id or 0)),
                     message_status(outbox_id=row.id, message_id=row.message_id, conversation_id=row.conversation_id,
                                    customer_id=row.customer_id, chat_id=None, status="sent",
                                    telegram_message_id=None))
    return [(row, names.get(row.staff_id or 0)) for row in rows]


async def _take_all(work: Work) -> int:
    return len(await take(work))


class WebDelivery:
    def __init__(self, workplace: Workplace, *, poll_interval: float = 1.0,
                 taker: Callable[[Work], Awaitable[int]] | None = None) -> None:
        # Its own units of work must not wake it again (they would spin): a copy without the callbacks.
        self.workplace = replace(workplace, on_committed=[])
        self.poll_interval = poll_interval
        self._taker = taker or _take_all
        self._wakeup = asyncio.Event()
        self.delivered = 0

    def wake(self) -> None:
        self._wakeup.set()

    async def round(self) -> int:
        """Deliver every due web row now; returns how many."""
        async with self.workplace.gate.sessions() as session:  # a read first: idle costs no write transaction
            if not await outbox_rows.web_pending(session, clock.now()):
                return 0
        async with self.workplace.open() as work:
            count = await self._taker(work)
        self.delivered += count
        return count

    async def run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                if await self.round() == BATCH:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web chat delivery failed; retrying shortly")
            try:
                await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)
            except TimeoutError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # 3.11's wait_for can turn a cancel into a timeout
                    raise asyncio.CancelledError from None
