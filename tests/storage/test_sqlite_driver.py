"""storage.sqlite_driver: one thread hop per statement on SQLite, the same results and errors as the stock
adapter."""

from __future__ import annotations

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.db import create_engine
from storage.sqlite_driver import OneHopDbapi


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
