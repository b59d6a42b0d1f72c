"""aiosqlite with one thread hop per statement.

SQLAlchemy's aiosqlite adapter hands each statement to aiosqlite's worker thread four times (make a cursor,
execute, fetch the rows, close the cursor; three for a write), and each hand-off costs a wake-up of that thread,
a wake-up of the event loop and two passes of the GIL between them. Under load this was the largest single
cost of a customer's update on SQLite after the ORM (issue 17: a third of the loop's samples waited on it). Here
the four steps run as one function in the worker thread: one hop per statement, the same driver, the same SQL,
the same errors. Server-side (streaming) cursors keep SQLAlchemy's own adapter.

This subclasses adapter classes SQLAlchemy documents as internal; `storage.db.create_engine` falls back to the
stock adapter if they move (tests/storage/test_sqlite_driver.py says so if that happens).

Inside a write transaction of the process's write gate (`inline_statements`, which `storage.gate` opens) a
statement runs on the event loop itself, with no hop at all: the gate makes that transaction the process's only
writer, so the statement never waits for another of our connections, and SQL on the hot path takes tens of
microseconds, less than the hand-off. Two bounds keep the loop responsive: a transaction runs statements inline
only until they have taken `INLINE_BUDGET` seconds between them (an import or a long report then goes on in the
thread, giving the loop its turns), and no statement ever waits for a lock on the loop: the connection's own busy
timeout is 0, and a statement that finds the database locked (another process writing) is run again in the
worker thread, which waits up to `BUSY_WAIT_MS` there. Commits stay in the thread: one may checkpoint the WAL.
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)

BUSY_WAIT_MS = 10_000  # how long a statement that found the database locked waits for it, in the thread
INLINE_BUDGET = 0.004  # seconds of inline SQL a transaction may take on the event loop before it hops again


class _Allowance:
    __slots__ = ("left",)

    def __init__(self, seconds: float) -> None:
        self.left = seconds


_INLINE: contextvars.ContextVar[_Allowance | None] = contextvars.ContextVar("sqlite_inline", default=None)


@contextlib.contextmanager
def inline_statements(seconds: float | None = None) -> Iterator[None]:
    """Run this task's statements on the event loop (see the module docstring) until they took `seconds`
    (default `INLINE_BUDGET`)."""
    token = _INLINE.set(_Allowance(INLINE_BUDGET if seconds is None else seconds))
    try:
        yield
    finally:
        _INLINE.reset(token)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    # Plain SQLITE_BUSY (and its recovery flavour) clears by waiting; BUSY_SNAPSHOT never does.
    return error.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY)


def _waiting(conn: sqlite3.Connection, run: Any, *args: Any) -> Any:
    """In the worker thread: `run(conn, *args)`, and if the database is locked, again, waiting for the lock."""
    try:
        return run(conn, *args)
    except sqlite3.OperationalError as error:
        if not _is_busy(error):
            raise
    conn.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
    try:
        return run(conn, *args)
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _execute(conn: sqlite3.Connection, operation: Any, parameters: Any) -> tuple[Any, Any, int, int]:
    """Run one statement and take all it returns (in the worker thread, or inline on the loop)."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, None, cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()


def _execute_many(conn: sqlite3.Connection, operation: Any, parameters: Any) -> tuple[int, int]:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()


def _in_thread(connection: Any, run: Any, *args: Any) -> Any:
    """One hand-off to aiosqlite's worker thread, where `run` may wait for a lock."""
    return connection._execute(_waiting, connection._conn, run, *args)  # noqa: SLF001 - its own thread


def _inline(conn: sqlite3.Connection, operation: Any, parameters: Any) -> tuple[Any, Any, int, int] | None:
    """The statement run on the loop, if this task may and the database is not locked; else None."""
    allowance = _INLINE.get()
    if allowance is None or allowance.left <= 0:
        return None
    started = time.perf_counter()
    try:
        return _execute(conn, operation, parameters)
    except sqlite3.OperationalError as error:
        if _is_busy(error):
            return None
        raise
    finally:
        allowance.left -= time.perf_counter() - started


async def _ready(value: Any) -> Any:
    return value


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        connection = self._connection
        try:
            taken = _inline(connection._conn, operation, parameters)  # noqa: SLF001
            # Through await_ either way: SQLAlchemy checks that an async call awaited something.
            taken = self.await_(_ready(taken) if taken is not None else
                                _in_thread(connection, _execute, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)  # noqa: SLF001 - raises the DBAPI error
            raise  # not reached
        description, rows, rowcount, lastrowid = taken
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        if rows is not None:
            self._rows = deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            rowcount, lastrowid = self.await_(
                _in_thread(self._connection, _execute_many, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)  # noqa: SLF001
            raise
        self.description = None
        self.rowcount = rowcount
        self.lastrowid = lastrowid


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    waits_in_thread = True  # storage.db sets its busy timeout to 0: locks are waited for in the worker thread

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return AsyncAdapt_aiosqlite_ss_cursor(self)
        return OneHopCursor(self)

    def commit(self) -> None:
        try:
            self.await_(_in_thread(self._connection, sqlite3.Connection.commit))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        # The pool rolls back every connection it takes back, most often just after a commit: nothing to undo
        # then, and no reason to wake the worker thread for it.
        try:
            idle = not self._connection._conn.in_transaction  # noqa: SLF001 - read while the worker thread is idle
        except ValueError:  # closed: the adapter's own rollback reports it as it always did
            idle = False
        if idle:
            return
        super().rollback()


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        if type(adapted) is not AsyncAdapt_aiosqlite_connection:  # the fallback (sync) flavour: leave it be
            return adapted
        return OneHopConnection(self, adapted._connection)  # noqa: SLF001


def one_hop_dbapi() -> OneHopDbapi:
    return OneHopDbapi(aiosqlite, sqlite3)
