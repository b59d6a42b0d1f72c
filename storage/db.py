"""Engine and session factory for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import UpdateBase


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be parsed or names an unsupported driver."""


def is_sqlite(engine_or_url: AsyncEngine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the console read while the bot writes; busy_timeout waits for a lock instead of failing. The
    # one-hop driver's connections never wait inside SQLite (a statement may run on the event loop): they find a
    # lock at once and wait for it in aiosqlite's thread (storage.sqlite_driver).
    busy_timeout_ms = 0 if getattr(dbapi_connection, "waits_in_thread", False) else 10_000
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _one_hop_sqlite() -> dict[str, Any]:
    """The engine's DBAPI: aiosqlite with one thread hop per statement (storage.sqlite_driver), or nothing (so
    SQLAlchemy's own adapter) if the internal classes it builds on moved in this SQLAlchemy release."""
    try:
        from storage.sqlite_driver import one_hop_dbapi
    except ImportError:  # pragma: no cover - depends on the SQLAlchemy release
        return {}
    return {"module": one_hop_dbapi()}


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"cannot parse {url.split('@')[-1]!r}") from exc
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise DatabaseUrlError(f"unsupported driver {parsed.drivername!r}; use sqlite+aiosqlite or postgresql+asyncpg")
    if parsed.drivername.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        one_hop = _one_hop_sqlite()
        if one_hop and "module" not in kwargs:
            # Its statements run on the event loop as well as in aiosqlite's thread (one at a time, never both).
            kwargs = {**one_hop, **kwargs, "connect_args": {**kwargs["connect_args"], "check_same_thread": False}}
        engine = _create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = _create_async_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    return engine


# A pooled PostgreSQL connection unused for this long is checked (one round trip) before a transaction gets it.
# SQLAlchemy's pool_pre_ping checks every time: a round trip per transaction, about 8 % of a busy process's event
# loop (issue 17). A connection in steady use is not checked; if the server dropped it anyway (a restart), the one
# transaction that finds it fails, SQLAlchemy replaces every connection the pool held, and the caller's retry (the
# update handled again, the sender's next pass, the agent's next click) gets a fresh one.
PING_AFTER_IDLE = 10.0
_CHECKED_IN = "homedesk_checked_in"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in = record.info.get(_CHECKED_IN)
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE:
        return  # new, or in use moments ago
    try:
        dbapi_connection.ping()
    except Exception as error:  # dropped while idle: the pool discards it and takes (or opens) another
        raise DisconnectionError(f"idle connection lost: {error}") from error


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    async with factory() as session, session.begin():
        yield session


def dialect_insert(session: AsyncSession) -> Callable[[Any], postgresql.Insert | sqlite.Insert]:
    """The session's dialect's INSERT construct: both have ON CONFLICT DO NOTHING / DO UPDATE, the generic one not."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def rows_changed(session: AsyncSession, statement: UpdateBase, values: dict[str, Any] | None = None) -> int:
    """Run an UPDATE or DELETE (with `values` for its bound parameters, if any) and return how many rows it
    changed: what a conditional update decides on."""
    result = await session.execute(statement, values)
    # The session types every result as a plain Result; a statement without RETURNING gives a CursorResult.
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(statement).__name__} returned {type(result).__name__}, not a row count")
    return result.rowcount


async def run_core(session: AsyncSession, statement: Executable, values: Any = None) -> CursorResult[Any]:
    """Run a statement in the session's transaction as Core does, without the ORM's statement machinery (its
    synchronisation of loaded objects, bulk-by-primary-key handling, events): for the hot path's UPDATEs, which
    no loaded object depends on. That machinery cost more than the statements' SQL (py-spy, issue 17). Pending
    changes are flushed first, as Session.execute would."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    return await connection.execute(statement, values)


async def check_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


LIKE_ESCAPE = "\\"


def like_pattern(text: str) -> str:
    """A lower-case LIKE pattern that finds `text` anywhere, literally: its % and _ are not wildcards. Use it
    with `func.lower(column).like(pattern, escape=LIKE_ESCAPE)`."""
    escaped = text.lower().replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
    return "%" + escaped.replace("_", LIKE_ESCAPE + "_") + "%"
