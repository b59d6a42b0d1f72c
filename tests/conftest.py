"""Shared fixtures: databases on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL, and a frozen clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import clock as clock_module
from storage.clock import FrozenClock
from storage.db import session_factory
from tests.dbutil import PG_URL, fresh_engine

CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright's own browser downloads do not work here
requires_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
TIMEOUT_MS = 15_000  # browser waits

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set: no PostgreSQL to test against"),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrise a test over every database backend available."""
    return request.param


@pytest.fixture
async def any_engine(backend: str, tmp_path) -> AsyncIterator[AsyncEngine]:
    async with fresh_engine(backend, tmp_path) as engine:
        yield engine


@pytest.fixture
async def any_sessions(any_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(any_engine)


@pytest.fixture
async def engine(tmp_path) -> AsyncIterator[AsyncEngine]:
    """SQLite only: for tests whose subject is not the database."""
    async with fresh_engine("sqlite", tmp_path) as value:
        yield value


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """Monday 2026-03-02 09:00 Asia/Shanghai (01:00 UTC)."""
    frozen = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    previous = clock_module.use_clock(frozen)
    try:
        yield frozen
    finally:
        clock_module.use_clock(previous)


@pytest.fixture
async def browser() -> AsyncIterator:
    """Debian's Chromium driven by Playwright, launched by its path with the flags this machine needs."""
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()
