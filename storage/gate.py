"""Write transactions for every entry point, with one writer at a time on SQLite.

SQLite has a single database-wide write lock; when several connections of one process race for it, the losers
sleep in SQLite's busy handler (milliseconds to tenths of seconds each) and throughput collapses. Queuing
writers on an asyncio.Lock first makes them take turns without sleeping. PostgreSQL has row locks, so there
the gate is open and transactions run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class WriteGate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        bind = sessions.kw.get("bind")
        dialect = getattr(getattr(bind, "dialect", None), "name", "sqlite")
        self._lock: asyncio.Lock | None = asyncio.Lock() if dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction: committed when the block ends, rolled back on error."""
        if self._lock is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._lock, self.sessions() as session, session.begin():
            yield session
