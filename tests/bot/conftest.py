"""The real aiogram Dispatcher and our sender, over real HTTP, against the offline Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channel import ChannelOptions, TelegramChannel
from bot.limits import SendLimiter
from storage.events import EventBus
from storage.settings import Settings, load_settings
from tests.botapi import BotApiServer
from tests.botapi.limits import RateLimits

# The settings validator wants a real-looking token; the offline server accepts any.
TOKEN = "123456789:AAHomedeskOfflineTestToken0123456789ab"


def settings_for(api: BotApiServer, database_url: str = "sqlite+aiosqlite:///unused.db",
                 **extra: Any) -> Settings:
    return load_settings(telegram_bot_token=TOKEN, telegram_api_base=api.base_url, database_url=database_url,
                         **extra)


def fast_limiter() -> SendLimiter:
    """No pacing: for tests about ordering and correctness, with the server's limits off."""
    return SendLimiter(global_rate=None, per_chat_seconds=0.0, group_per_minute=0)


@pytest.fixture
async def api() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(token=TOKEN, limits=None) as server:
        yield server


@pytest.fixture
async def limited_api() -> AsyncIterator[BotApiServer]:
    """Telegram's flood limits on (30/s overall, burst 3 then 1/s per private chat, 20/min per group)."""
    async with BotApiServer(token=TOKEN, limits=RateLimits()) as server:
        yield server


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


ChannelFactory = Callable[..., Any]


@pytest.fixture
def make_channel(sessions: async_sessionmaker[AsyncSession], bus: EventBus) -> ChannelFactory:
    return channel_factory(sessions, bus)


@pytest.fixture
def make_any_channel(any_sessions: async_sessionmaker[AsyncSession], bus: EventBus) -> ChannelFactory:
    """Like make_channel, on every database backend available (PostgreSQL with TEST_DATABASE_URL)."""
    return channel_factory(any_sessions, bus)


def channel_factory(sessions: async_sessionmaker[AsyncSession], bus: EventBus) -> ChannelFactory:
    @asynccontextmanager
    async def factory(server: BotApiServer, **options: Any) -> AsyncIterator[TelegramChannel]:
        options.setdefault("limiter", fast_limiter())
        options.setdefault("poll_timeout", 1)
        sender = {"poll_interval": 0.05, "backoff_base": 0.01, "backoff_cap": 0.05,
                  **options.pop("sender", {})}
        channel = TelegramChannel(settings_for(server), sessions, bus,
                                  ChannelOptions(sender=sender, **options))
        await channel.start()
        try:
            yield channel
        finally:
            await channel.stop()

    return factory


async def eventually(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:  # noqa: ASYNC109
    """Poll until predicate() is true; fails the test (not on speed: the timeout is only a safety net)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
