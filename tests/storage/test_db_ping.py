"""storage.db on PostgreSQL: a pooled connection that sat idle is checked before use and replaced if the server
dropped it; one in steady use is not (no extra round trip per transaction under load)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError

from storage import db
from storage.db import create_engine
from tests.dbutil import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set: no PostgreSQL to test against")


@pytest.fixture
def pings(monkeypatch) -> list[int]:
    seen: list[int] = []
    original = AsyncAdapt_asyncpg_connection.ping

    def counting(self) -> None:
        seen.append(1)
        original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting)
    return seen


def _engine(name: str):
    return create_engine(PG_URL, pool_size=1, max_overflow=0,
                         connect_args={"server_settings": {"application_name": name}})


async def _drop_connections(name: str) -> None:
    admin = create_engine(PG_URL)
    async with admin.begin() as connection:
        dropped = await connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name})
        assert dropped.scalars().all() == [True]
    await admin.dispose()


async def test_a_connection_in_use_is_not_pinged(monkeypatch, pings) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE", float("inf"))  # "moments ago", however slow this machine is
    engine = _engine(f"busy-{uuid.uuid4().hex[:8]}")
    for _ in range(5):
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    await engine.dispose()
    assert pings == []


async def test_an_idle_connection_the_server_dropped_is_replaced(monkeypatch, pings) -> None:
    name = f"idle-{uuid.uuid4().hex[:8]}"
    engine = _engine(name)
    async with engine.connect() as connection:
        first = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await _drop_connections(name)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # every checked-in connection counts as idle now
    async with engine.connect() as connection:
        second = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await engine.dispose()
    assert pings == [1]
    assert second != first


async def test_a_busy_connection_the_server_dropped_fails_once(monkeypatch, pings) -> None:
    """Not pinged, a connection dropped while in steady use fails the one transaction that finds it (the pool
    then replaces all it holds): the caller's retry (an update handled again, a sender's next pass) succeeds."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE", float("inf"))
    name = f"drop-{uuid.uuid4().hex[:8]}"
    engine = _engine(name)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await _drop_connections(name)
    with pytest.raises(DBAPIError) as failure:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    assert failure.value.connection_invalidated
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    await engine.dispose()
    assert pings == []
