"""Two SIGKILLs under load: the sender (its own process) against the offline Bot API server (its own process)
re-sends at most max_unconfirmed messages per kill (those whose outcome was not committed yet), never a row
whose outcome was committed, loses nothing and keeps every chat in order. Prints the figures per kill."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import kill
from storage.db import create_engine, session_factory
from storage.models import Base
from tests.dbutil import postgres_schema, sqlite_url

UNCONFIRMED = 4


@pytest.fixture
async def kill_database(backend: str, tmp_path) -> AsyncIterator[tuple[str, str | None,
                                                                       async_sessionmaker[AsyncSession]]]:
    """(url, PostgreSQL schema or None, sessions): a database another process can open too."""
    if backend == "sqlite":
        url = sqlite_url(tmp_path)
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        try:
            yield url, None, session_factory(engine)
        finally:
            await engine.dispose()
        return
    async with postgres_schema() as (url, connect_args):
        engine = create_engine(url, connect_args=connect_args)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        try:
            yield url, connect_args["server_settings"]["search_path"], session_factory(engine)
        finally:
            await engine.dispose()


async def test_two_sigkills_under_load_resend_at_most_the_unconfirmed_requests(kill_database, backend,
                                                                               record_property):
    url, schema, sessions = kill_database
    # Unpaced sends at full speed: the window is as full as it gets (production pacing leaves it nearly empty).
    report = await kill.run(url, sessions, schema=schema, messages=1200, chats=100, kills=2, lease=2.0,
                            in_flight=64, unconfirmed=UNCONFIRMED)
    print(f"\nkill test ({backend}): re-sent per kill {report.resent_per_kill} (bound {report.bound}); rows "
          f"'sending' at the kills {report.sending_at_kill}; delivered at the kills {report.delivered_at_kill}")
    record_property("resent_per_kill", report.resent_per_kill)
    assert report.missing == 0
    assert report.out_of_order_chats == 0
    assert report.resent_outside_window == 0, "a row whose outcome was committed was sent again"
    assert all(count <= UNCONFIRMED for count in report.resent_per_kill), report
    assert len(report.resent_per_kill) == 2
    assert all(delivered > 0 for delivered in report.delivered_at_kill), "each kill hit the sender mid-delivery"
