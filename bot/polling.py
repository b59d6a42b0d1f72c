"""Long polling with getUpdates; every batch is stored (or its poison updates dead-lettered) before the offset
moves past it."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramConflictError, TelegramUnauthorizedError
from aiogram.methods.base import TelegramMethod

from bot.pipeline import InboundPipeline
from bot.sender import raise_if_cancelled

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class GetRawUpdates(TelegramMethod[list[Any]]):
    """getUpdates returning plain JSON, so one malformed update cannot poison the whole batch: each one is
    validated (and, when invalid, stored as failed) on its own."""

    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


class Poller:
    def __init__(self, bot: Bot, pipeline: InboundPipeline, *, timeout: int = 25, limit: int = 100,
                 backoff_cap: float = 2.0) -> None:
        self.bot = bot
        self.pipeline = pipeline
        self.timeout = timeout
        self.limit = limit
        self.backoff_cap = backoff_cap
        self.offset: int | None = None

    async def run(self) -> None:
        failures = 0
        while True:
            await self.pipeline.wait_for_room()
            try:
                batch = await self.bot(
                    GetRawUpdates(offset=self.offset, limit=self.limit, timeout=self.timeout,
                                  allowed_updates=ALLOWED_UPDATES),
                    request_timeout=self.timeout + 15,
                )
            except TelegramUnauthorizedError:
                log.error("Telegram rejected the bot token (401); polling stops")
                raise
            except (TimeoutError, AiogramError, OSError) as exc:
                raise_if_cancelled()
                failures += 1
                delay = min(self.backoff_cap, 0.5 * 2**failures) * random.uniform(0.5, 1.0)  # noqa: S311
                level = logging.WARNING if not isinstance(exc, TelegramConflictError) else logging.ERROR
                log.log(level, "getUpdates failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if not batch:
                continue
            await self._store(batch)
            ids = [raw["update_id"] for raw in batch
                   if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)]
            if ids:
                self.offset = max(ids) + 1

    async def _store(self, batch: list[Any]) -> None:
        """Store the batch before the offset moves past it (that would lose it). accept() dead-letters what the
        database refuses, so it only fails while the database is away: then try again once it answers."""
        outages = 0
        while True:
            try:
                await self.pipeline.accept(batch)
                return
            except Exception as exc:
                raise_if_cancelled()
                outages += 1
                log.warning("could not store %d update(s) (%s); retrying when the database answers", len(batch),
                            exc, exc_info=outages == 1)
                await self.pipeline.after_outage(outages)
