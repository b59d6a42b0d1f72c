"""Is the database away? Which errors are an outage's, and one probe that tells when the database is back.

Intake treats a database error as transient until proven otherwise. Some are transient by their kind
(connection refused or terminated, "database is locked", a pool timeout, a serialization failure); for any
other error a probe (`SELECT 1`) decides: when the database does not answer, the failure was the outage's and
not the update's, and the update must wait instead of counting an attempt.

While the database is away one watcher task probes it with capped backoff; every worker waiting for it
resumes as soon as it answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bot.sender import raise_if_cancelled

log = logging.getLogger(__name__)

# SQLSTATEs of an unavailable server: classes 08 (connection exception) and 53 (insufficient resources: disk
# full, out of memory, too many connections) by prefix, and these.
TRANSIENT_SQLSTATE_CLASSES = ("08", "53")
TRANSIENT_SQLSTATES = frozenset({
    "57P01",  # admin_shutdown (the backend was terminated)
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now (starting up, shutting down)
    "58030",  # io_error
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
})
TRANSIENT_MESSAGES = (
    "database is locked", "database table is locked", "database is busy", "unable to open database file",
    "disk i/o error", "connection is closed", "connection was closed", "not currently accepting connections",
    "terminating connection", "server closed the connection", "connection refused", "cannot connect now",
)
DATABASE_MODULES = ("sqlalchemy", "sqlite3", "aiosqlite", "asyncpg")


def _causes(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or any(current is seen for seen in found) or len(found) > 20:
            continue
        found.append(current)
        stack.extend((current.__cause__, current.__context__, getattr(current, "orig", None)))
    return found


def is_transient_error(exc: BaseException) -> bool:
    """An error that says the database is unavailable for now, whatever was being done."""
    for error in _causes(exc):
        if isinstance(error, PoolTimeoutError | ConnectionError):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and (state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES):
            return True
        if type(error).__module__.split(".")[0] in DATABASE_MODULES:
            message = str(error).lower()
            if any(part in message for part in TRANSIENT_MESSAGES):
                return True
    return False


class DatabaseHealth:
    def __init__(self, probe: Callable[[], Awaitable[object]], *, backoff_base: float = 0.05,
                 backoff_cap: float = 1.0, probe_timeout: float = 5.0) -> None:
        self._probe = probe
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.probe_timeout = probe_timeout
        self._up = asyncio.Event()
        self._up.set()
        self._watcher: asyncio.Task[None] | None = None
        self.outages = 0
        self.last_outage_seconds: float | None = None

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    async def answers(self) -> bool:
        """Probe once, now; False while an outage is being watched."""
        if not self.is_up:
            return False
        try:
            await asyncio.wait_for(self._probe(), self.probe_timeout)
        except Exception:
            raise_if_cancelled()
            return False
        return True

    async def is_outage(self, exc: BaseException) -> bool:
        """Was this failure the database's? Transient by kind, or the database does not answer a probe.
        When it was, a watcher starts (or goes on) probing until the database answers again."""
        if is_transient_error(exc) or not await self.answers():
            self.report_down(exc)
            return True
        return False

    def report_down(self, reason: BaseException | str) -> None:
        if self._watcher is not None and not self._watcher.done():
            return
        self._up.clear()
        self._watcher = asyncio.create_task(self._watch(str(reason)[:300]), name="database-watch")

    async def wait_until_up(self) -> None:
        await self._up.wait()

    async def _watch(self, reason: str) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        log.warning("the database is unavailable (%s); intake waits for it", reason)
        failures = 0
        while True:
            try:
                await asyncio.wait_for(self._probe(), self.probe_timeout)
                break
            except Exception as exc:
                raise_if_cancelled()
                delay = min(self.backoff_cap, self.backoff_base * 2 ** min(failures, 30))
                failures += 1
                if failures in (1, 10) or failures % 50 == 0:
                    log.warning("the database still does not answer (%s); next probe in %.2fs", exc, delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.0))  # noqa: S311
        self.outages += 1
        self.last_outage_seconds = loop.time() - started
        self._up.set()
        if failures:
            log.warning("the database answers again after %.1fs; intake resumes", self.last_outage_seconds)

    async def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        self._up.set()
