"""storage.sqlite_driver: one thread hop per statement on SQLite, the same results and errors as the stock
adapter."""

from __future__ import annotations

import asyncio
import sqlite3

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker

from storage import sqlite_driver
from storage.db import create_engine
from storage.gate import WriteGate
from storage.sqlite_driver import OneHopDbapi, inline_statements


def aiosqlite_dbapi():
    """SQLAlchemy's own aiosqlite adapter (what the engine falls back to)."""
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

    return AsyncAdapt_aiosqlite_dbapi(aiosqlite, sqlite3)


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """Every hand-off to aiosqlite's worker thread, by the function handed over."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counting(self, fn, *args, **kwargs):
        seen.append(getattr(fn, "__name__", type(fn).__name__))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return seen


async def test_the_engine_uses_it(engine) -> None:
    assert isinstance(engine.dialect.dbapi, OneHopDbapi)


async def test_one_hop_per_statement(engine, hops: list[str]) -> None:
    async with engine.begin() as connection:
        hops.clear()
        returned = await connection.execute(text("INSERT INTO t (v) VALUES ('a') RETURNING id"))
        assert returned.scalar_one() == 1
        many = await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
        assert many.rowcount == 2
        changed = await connection.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
        assert changed.rowcount == 2
        rows = (await connection.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
        assert rows == ["a", "b!", "c!"]
        assert len(hops) == 4  # the stock adapter: 4 + 3 + 3 + 4 = 14


async def test_errors_are_the_databases(engine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(OperationalError):
            await connection.execute(text("SELECT nope FROM t"))
        await connection.rollback()
        await connection.execute(text("INSERT INTO t (v) VALUES ('x')"))
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (v) VALUES ('x')"))


async def test_streaming_keeps_its_own_cursor(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": str(n)} for n in range(250)])
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT v FROM t ORDER BY id"))
        seen = [row.v async for row in result]
    assert seen == [str(n) for n in range(250)]


async def test_inside_the_gate_statements_run_on_the_loop(engine, hops: list[str], monkeypatch) -> None:
    """The write gate's transaction is the process's only writer: its statements need no hand-off; the commit
    still goes to the thread (it may checkpoint the WAL)."""
    monkeypatch.setattr(sqlite_driver, "INLINE_BUDGET", float("inf"))  # however slow this machine is
    gate = WriteGate(async_sessionmaker(engine))
    async with gate.transaction() as session:
        hops.clear()
        await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
        assert hops == []
    assert hops == ["_waiting"]  # the commit
    async with engine.connect() as connection:  # outside the gate: one hop per statement, as before
        hops.clear()
        await connection.execute(text("SELECT v FROM t"))
        assert hops == ["_waiting"]


async def test_a_spent_allowance_goes_back_to_the_thread(engine, hops: list[str]) -> None:
    """A long transaction (an import) gives the loop its turns again once its inline statements took their
    share of time."""
    async with engine.begin() as connection:
        with inline_statements(seconds=0.0):
            hops.clear()
            await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
            await connection.execute(text("INSERT INTO t (v) VALUES ('b')"))
            assert hops == ["_waiting", "_waiting"]
        hops.clear()
        with inline_statements(seconds=float("inf")):
            await connection.execute(text("INSERT INTO t (v) VALUES ('c')"))
            await connection.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "d"}, {"v": "e"}])
            assert hops == ["_waiting"]


async def test_a_locked_database_is_waited_for_in_the_thread_never_on_the_loop(tmp_path, engine) -> None:
    """Another process holds the write lock: the gate's inline statement finds the database locked at once, is
    run again in the worker thread (which waits there), and the event loop keeps running meanwhile."""
    other = sqlite3.connect(tmp_path / "hops.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t (v) VALUES ('theirs')")
    ticks = 0
    release = asyncio.Event()

    async def ticking() -> None:
        nonlocal ticks
        while not release.is_set():
            ticks += 1
            if ticks == 20:  # the loop ran twenty times while our insert waited: let the other writer finish
                await asyncio.to_thread(other.execute, "COMMIT")
                release.set()
            await asyncio.sleep(0)

    gate = WriteGate(async_sessionmaker(engine))

    async def ours() -> None:
        async with gate.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('ours')"))

    await asyncio.gather(ours(), ticking())
    other.close()
    assert ticks >= 20
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
    assert rows == ["theirs", "ours"]


async def test_an_error_inline_is_the_databases(engine) -> None:
    gate = WriteGate(async_sessionmaker(engine))
    async with gate.transaction() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('x')"))
    with pytest.raises(IntegrityError):
        async with gate.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('x')"))
    with pytest.raises(OperationalError):
        async with gate.transaction() as session:
            await session.execute(text("SELECT nope FROM t"))


async def test_a_rollback_with_nothing_to_undo_costs_no_hop(engine, hops: list[str]) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (v) VALUES ('kept')"))
        await connection.commit()
        hops.clear()
        await connection.rollback()  # nothing to undo after the commit
        assert hops == []
        await connection.execute(text("INSERT INTO t (v) VALUES ('undone')"))
        hops.clear()
        await connection.rollback()
        assert hops == ["rollback"]
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT v FROM t"))).scalars().all()
    assert rows == ["kept"]


async def test_its_connections_never_wait_inside_sqlite(engine) -> None:
    """Busy timeout 0 on the driver's connections (they wait in the worker thread); the stock adapter's wait."""
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == 0
    stock = create_engine(str(engine.url), module=aiosqlite_dbapi())
    async with stock.connect() as connection:
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == 10_000
    await stock.dispose()
