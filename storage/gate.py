"""Write transactions for every entry point: one writer at a time on SQLite, a few at once on PostgreSQL.

SQLite has a single database-wide write lock; when several connections of one process race for it, the losers
sleep in SQLite's busy handler (milliseconds to tenths of seconds each) and throughput collapses. Queuing
writers in the process first makes them take turns without sleeping. PostgreSQL has row locks, so there
several transactions run at once, but not all: with every customer's unit of work running at once (16 at a
time), a busy process's event loop serves all of them in turn and every step of an agent's reply or of a
delivery waits behind all their steps. At 100 live conversations on PostgreSQL that put an agent's reply 4.5 s
(p50) from Telegram; with 4 places, and replies and deliveries ahead, 84 ms, and customers' messages reached
the agent faster too (p50 282 → 118 ms), at the same throughput (bench/relay.py, bench/pipeline.py, issue 17).

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

from storage.sqlite_driver import inline_statements


class TurnLock:
    """A lock (or, with `places` > 1, a semaphore) with two queues: a waiter `ahead` takes the next free place
    before every ordinary waiter; within a queue, first come first served. Cancelling a waiter never loses a
    place (a place handed to a waiter that was cancelled meanwhile goes to the next one)."""

    def __init__(self, places: int = 1) -> None:
        self._places = places
        self._held = 0
        self._ahead: deque[asyncio.Future[None]] = deque()
        self._behind: deque[asyncio.Future[None]] = deque()

    @property
    def locked(self) -> bool:
        return self._held >= self._places

    async def acquire(self, *, ahead: bool = False) -> None:
        if self._held < self._places and not self._ahead and not self._behind:
            self._held += 1
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
                    turn.set_result(None)  # the place stays taken: it passes straight to this waiter
                    return
        self._held -= 1

    @contextlib.asynccontextmanager
    async def turn(self, *, ahead: bool = False) -> AsyncIterator[None]:
        await self.acquire(ahead=ahead)
        try:
            yield
        finally:
            self.release()


POSTGRES_PLACES = 4  # write transactions at once per process on PostgreSQL (see the module docstring)


class WriteGate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, postgres_places: int = POSTGRES_PLACES) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        dialect = getattr(getattr(bind, "dialect", None), "name", "sqlite")
        self._lock = TurnLock(1 if dialect == "sqlite" else postgres_places)
        # On SQLite the gate's one place makes its transaction the process's only writer, so its statements can
        # run on the event loop without waiting for another of our connections (storage.sqlite_driver).
        self._inline = dialect == "sqlite"

    @contextlib.asynccontextmanager
    async def transaction(self, *, ahead: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction: committed when the block ends, rolled back on error. `ahead`: a
        transaction someone waits on (a delivery, a staff member's click) takes the next free place."""
        async with self._lock.turn(ahead=ahead):
            with inline_statements() if self._inline else contextlib.nullcontext():
                async with self.sessions() as session, session.begin():
                    yield session
