"""Per-chat ordering: updates of one chat run one after another, different chats run in parallel.

Each chat with work has one worker task draining its own queue; a semaphore bounds how many updates are
handled at once, and `max_pending` bounds memory (the poller waits for room before fetching more).

The handler either finishes an item (returns None) or returns what to wait for before trying it again (the
database is away, a retry's backoff): the item keeps the head of its chat's queue, so the chat's later items
wait behind it, while its slot is free for other chats during the wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")
# None: the item is finished; otherwise what to await (outside the slot) before the item is tried again.
Outcome = Awaitable[None] | None


class ChatSerializer(Generic[Item]):
    def __init__(self, handle: Callable[[Item], Awaitable[Outcome]], *, concurrency: int = 16,
                 max_pending: int = 2000) -> None:
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[int, deque[Item]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._pending = 0
        self._max_pending = max_pending
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, key: int, item: Item) -> None:
        self._queues.setdefault(key, deque()).append(item)
        self._pending += 1
        self._idle.clear()
        if self._pending >= self._max_pending:
            self._room.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"chat-{key}")

    async def wait_for_room(self) -> None:
        await self._room.wait()

    async def join(self) -> None:
        """Wait until everything submitted so far has been handled."""
        await self._idle.wait()

    async def _drain(self, key: int) -> None:
        queue = self._queues[key]
        try:
            while queue:
                item = queue[0]
                while True:
                    async with self._slots:
                        try:
                            retry = await self._handle(item)
                        except Exception:  # the handler logs and records failures; never stall the chat
                            log.exception("unhandled error while handling an update of chat %s", key)
                            retry = None
                    if retry is None:
                        break
                    await retry  # the item keeps its place at the head of the chat's queue
                queue.popleft()
                self._pending -= 1
                if self._pending < self._max_pending:
                    self._room.set()
        finally:
            del self._queues[key]
            del self._workers[key]
            if not self._workers:
                self._idle.set()

    async def close(self) -> None:
        """Stop the workers; unhandled items stay stored and are recovered on the next start."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
