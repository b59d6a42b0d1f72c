"""Write transactions for every entry point, with one writer at a time on SQLite.

SQLite has a single database-wide write lock; when several connections of one process race for it, the losers
sleep in SQLite's busy handler (milliseconds to tenths of seconds each) and throughput collapses. Queuing
writers in the process first makes them take turns without sleeping. PostgreSQL has row locks, so there the
gate is open and transactions run concurrently.

Turns are first come, first served, except for transactions opened `ahead`: the sender's claims and outcomes
(a few statements each) and a staff member's action in the console (an agent's reply: a person waits on it).
Under load up to `handler_concurrency` customers' units of work queue at the gate; in a plain queue every
delivery waited behind all of them, so replies that were ready sat in the outbox while intake ran (measured:
7 deliveries/s during a burst handled at 50/s, issue 17). Going ahead, delivery keeps pace with handling;
handlers lose at most a few short transactions per turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class TurnLock:
    """A lock with two queues: a waiter `ahead` takes the next turn before every ordinary waiter; within a
    queue, first come first served. Cancelling a waiter never loses a turn (a turn handed to a waiter that was
    cancelled meanwhile goes to the next one)."""

    def __init__(self) -> None:
        self._held = False
        self._ahead: deque[asyncio.Future[None]] = deque()
        self._behind: deque[asyncio.Future[None]] = deque()

    @property
    def locked(self) -> bool:
        return self._held

    async def acquire(self, *, ahead: bool = False) -> None:
        if not self._held and not self._ahead and not self._behind:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._ahead if ahead else self._behind
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # the turn was ours already: pass it on
                self.release()
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(turn)
            raise

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("release of a TurnLock that is not held")
        for queue in (self._ahead, self._behind):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the lock stays held: the turn passes straight to this waiter
                    return
        self._held = False

    @contextlib.asynccontextmanager
    async def turn(self, *, ahead: bool = False) -> AsyncIterator[None]:
        await self.acquire(ahead=ahead)
        try:
            yield
        finally:
            self.release()


class WriteGate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        dialect = getattr(getattr(bind, "dialect", None), "name", "sqlite")
        self._lock: TurnLock | None = TurnLock() if dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def transaction(self, *, ahead: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction: committed when the block ends, rolled back on error. `ahead`: a
        transaction someone waits on (a delivery, a staff member's click) takes the next turn on SQLite."""
        if self._lock is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._lock.turn(ahead=ahead), self.sessions() as session, session.begin():
            yield session
