"""aiosqlite with one thread hop per statement.

SQLAlchemy's aiosqlite adapter hands each statement to aiosqlite's worker thread four times (make a cursor,
execute, fetch the rows, close the cursor; three for a write), and each hand-off costs a wake-up of that thread,
a wake-up of the event loop and two passes of the GIL between them. Under load this was the largest single
cost of a customer's update on SQLite after the ORM (issue 17: a third of the loop's samples waited on it). Here
the four steps run as one function in the worker thread: one hop per statement, the same driver, the same SQL,
the same errors. Server-side (streaming) cursors keep SQLAlchemy's own adapter.

This subclasses adapter classes SQLAlchemy documents as internal; `storage.db.create_engine` falls back to the
stock adapter if they move (tests/storage/test_sqlite_driver.py says so if that happens).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)


def _execute(connection: aiosqlite.Connection, operation: Any, parameters: Any) -> tuple[Any, Any, int, int]:
    """In aiosqlite's worker thread: run one statement and take all it returns."""
    cursor = connection._conn.cursor()  # noqa: SLF001 - the sqlite3 connection, in its own thread
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


def _execute_many(connection: aiosqlite.Connection, operation: Any, parameters: Any) -> tuple[int, int]:
    cursor = connection._conn.cursor()  # noqa: SLF001
    try:
        cursor.executemany(operation, parameters)
        return cursor.rowcount, cursor.lastrowid or 0
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            description, rows, rowcount, lastrowid = self.await_(
                self._connection._execute(_execute, self._connection, operation, parameters))  # noqa: SLF001
        except Exception as error:
            self._adapt_connection._handle_exception(error)  # noqa: SLF001 - raises the DBAPI error
            raise  # not reached
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        if rows is not None:
            self._rows = deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            rowcount, lastrowid = self.await_(
                self._connection._execute(_execute_many, self._connection, operation,  # noqa: SLF001
                                          seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)  # noqa: SLF001
            raise
        self.description = None
        self.rowcount = rowcount
        self.lastrowid = lastrowid


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return AsyncAdapt_aiosqlite_ss_cursor(self)
        return OneHopCursor(self)


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        if type(adapted) is not AsyncAdapt_aiosqlite_connection:  # the fallback (sync) flavour: leave it be
            return adapted
        return OneHopConnection(self, adapted._connection)  # noqa: SLF001


def one_hop_dbapi() -> OneHopDbapi:
    return OneHopDbapi(aiosqlite, sqlite3)
