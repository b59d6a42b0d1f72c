"""One holder across processes for work that must run in one place at a time: the Telegram poller (two
getUpdates callers would fight over the offset), the periodic jobs (each tick runs once), the sweep that
recovers stored-but-unhandled updates (one instance, not every instance at start).

On PostgreSQL the holder keeps a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated connection
in autocommit mode: the lock lives exactly as long as that connection, so a holder that dies (SIGKILL, a lost
network) gives it up when PostgreSQL notices the connection is gone, and a waiting instance takes over at its next
try. The holder checks its connection every `check_seconds`; when it broke, the holder asks for the lock again and
steps down (its work is cancelled) only if another instance took it (see `watch`). The lock's key is the role's
name and the connection's schema, so throw-away schemas (tests, benchmarks) in one database do not share leaders.

On SQLite there is one process (SQLite is the embedded, single-process default): the holder always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def lock_key(name: str, schema: str) -> int:
    """A signed 64-bit advisory lock key for a role in a schema."""
    digest = hashlib.blake2b(f"homedesk:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    def __init__(self, engine: AsyncEngine, name: str, *, retry_seconds: float = 2.0,
                 check_seconds: float = 2.0) -> None:
        self.engine = engine
        self.name = name
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.shared = engine.dialect.name == "postgresql"
        self._connection: AsyncConnection | None = None
        self.leading = False
        self.terms = 0  # how many times this process became the leader (tests, logs)

    async def try_acquire(self) -> bool:
        """Lead now if nobody else does; never waits."""
        if self.leading:
            return True
        if not self.shared:
            self._became_leader()
            return True
        if await self._lock():
            self._became_leader()
            return True
        return False

    async def _lock(self) -> bool | None:
        """Take the lock on a new connection: True, False (another instance holds it) or None (no database)."""
        connection: AsyncConnection | None = None
        try:
            connection = await self.engine.connect()
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            schema = str(await connection.scalar(text("SELECT current_schema()")))
            got = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                               {"key": lock_key(self.name, schema)}))
        except Exception as exc:
            log.warning("%s: could not ask for leadership (%s)", self.name, exc)
            await self._drop(connection)
            return None
        if not got:
            log.debug("%s: another instance leads", self.name)
            await self._drop(connection)
            return False
        self._connection = connection
        return True

    def _became_leader(self) -> None:
        self.leading = True
        self.terms += 1
        log.info("%s: this instance leads", self.name)

    async def acquire(self) -> None:
        """Wait until this process leads."""
        while True:  # the other holder is another process: nothing here to wait on but time
            if await self.try_acquire():
                return
            await asyncio.sleep(self.retry_seconds)

    async def watch(self) -> None:
        """Return when another instance took the lead; never on SQLite.

        When the lock's connection breaks (the database restarted or is away, a network cut), the lock is gone
        with it: the holder asks for it again on a new connection every `retry_seconds` and keeps working
        meanwhile (its work cannot go far without the database anyway), and steps down only when it finds
        another instance holding the lock. So while the database is away two holders may overlap briefly; what
        they do is safe to overlap: updates are stored once and claimed once, getUpdates merely answers one of
        two pollers 409, reminders and outbox rows are claimed atomically.
        """
        if not self.shared:
            await asyncio.Event().wait()
        while True:
            await asyncio.sleep(self.check_seconds)
            connection = self._connection
            if connection is not None:
                try:
                    await asyncio.wait_for(connection.execute(text("SELECT 1")),
                                           timeout=max(1.0, self.check_seconds))
                    continue
                except Exception as exc:
                    log.warning("%s: lost the leadership connection (%s); asking again", self.name, exc)
                    self._connection = None
                    await self._drop(connection)
            got = await self._lock()
            if got is False:
                log.warning("%s: another instance leads now; stepping down", self.name)
                self.leading = False
                return
            if got:
                self.terms += 1
                log.info("%s: this instance leads again", self.name)

    async def release(self) -> None:
        """Give up leadership (the connection is closed for good, so the lock cannot outlive it)."""
        connection, self._connection = self._connection, None
        self.leading = False
        await self._drop(connection)

    @staticmethod
    async def _drop(connection: AsyncConnection | None) -> None:
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.invalidate()  # not back to the pool: closing the socket ends the lock
        with contextlib.suppress(Exception):
            await connection.close()

    async def lead(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Run `work` whenever this process leads: wait for the lead, run it until it ends (then give the lead
        up and return) or until the lead is lost (then cancel it and wait to lead again)."""
        try:
            while True:
                await self.acquire()
                task = asyncio.ensure_future(work())
                watcher = asyncio.ensure_future(self.watch())
                try:
                    await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for pending in (task, watcher):
                        if not pending.done():
                            pending.cancel()
                    await asyncio.gather(task, watcher, return_exceptions=True)
                if task.done() and not task.cancelled() and watcher.cancelled():
                    task.result()  # the work ended (or failed) on its own
                    return
        finally:
            await self.release()
