"""Inbound pipeline shared by polling and webhook: store every update, then handle it once, in chat order.

accept(raw updates) -> stored in inbound_updates (duplicates dropped by primary key; malformed ones stored as
failed) -> submitted to the per-chat serializer -> Dispatcher.feed_update inside one transaction
(bot.unit_of_work). Callers advance the polling offset (or answer the webhook) only after accept() returned,
so an update Telegram considers delivered is always in the database first.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.ordering import ChatSerializer
from storage import updates
from storage.gate import WriteGate
from storage.updates import StoredUpdate

log = logging.getLogger(__name__)
TRANSIENT_DB_ERRORS = (OperationalError, DBAPIError)


class InboundPipeline:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        gate: WriteGate,
        *,
        concurrency: int = 16,
        max_pending: int = 2000,
        db_attempts: int = 3,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.gate = gate
        self.db_attempts = db_attempts
        self.serializer: ChatSerializer[StoredUpdate] = ChatSerializer(
            self._handle, concurrency=concurrency, max_pending=max_pending
        )

    async def recover(self) -> int:
        """Handle updates stored before a crash but never finished; call before fetching new ones."""
        async with self.gate.sessions() as session:
            stored = await updates.unfinished(session)
        for item in stored:
            self.serializer.submit(item.chat_key, item)
        if stored:
            log.info("recovering %d stored but unhandled updates", len(stored))
        return len(stored)

    async def accept(self, raw_updates: list[Any]) -> list[int]:
        """Store a batch durably and queue the new ones for handling; returns the new update ids."""
        rows: list[dict[str, Any]] = []
        items: dict[int, StoredUpdate] = {}
        for raw in raw_updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                log.warning("dropped an update without a usable update_id: %.200r", raw)
                continue
            key = updates.chat_key(raw)
            error = self._validation_error(raw)
            if error:
                log.warning("malformed update %s stored as failed: %s", update_id, error)
                rows.append({"update_id": update_id, "chat_id": key or None, "payload": raw,
                             "status": "failed", "error": error})
                continue
            rows.append({"update_id": update_id, "chat_id": key or None, "payload": raw,
                         "status": "received"})
            items[update_id] = StoredUpdate(update_id, key, raw)
        if not rows:
            return []
        async with self.gate.transaction() as session:
            new_ids = await updates.store(session, rows)
        for row in rows:  # keep Telegram's order within the batch
            item = items.get(row["update_id"])
            if item is not None and item.update_id in new_ids:
                self.serializer.submit(item.chat_key, item)
        duplicates = len(rows) - len(new_ids)
        if duplicates:
            log.info("ignored %d duplicate update(s)", duplicates)
        return sorted(new_ids)

    def _validation_error(self, raw: dict[str, Any]) -> str | None:
        try:
            Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            return f"invalid update: {exc.errors()[0].get('loc')} {exc.errors()[0].get('msg')}"
        return None

    async def wait_for_room(self) -> None:
        await self.serializer.wait_for_room()

    async def join(self) -> None:
        await self.serializer.join()

    async def close(self) -> None:
        await self.serializer.close()

    async def _handle(self, item: StoredUpdate) -> None:
        error = "unknown error"
        for attempt in range(1, self.db_attempts + 1):
            try:
                update = Update.model_validate(item.payload, context={"bot": self.bot})
                await self.dispatcher.feed_update(self.bot, update)
                return
            except TRANSIENT_DB_ERRORS as exc:  # a locked or restarted database: the next try usually works
                error = f"database error: {exc.__class__.__name__}: {str(exc)[:500]}"
                log.warning("update %s attempt %d failed: %s", item.update_id, attempt, error)
                if attempt < self.db_attempts:
                    await asyncio.sleep(0.2 * 2**attempt * random.uniform(0.5, 1.5))  # noqa: S311
            except Exception as exc:
                log.exception("update %s failed", item.update_id)
                error = f"{exc.__class__.__name__}: {str(exc)[:1000]}"
                break
        try:
            async with self.gate.transaction() as session:
                await updates.mark_failed(session, item.update_id, error)
        except Exception:
            log.exception("could not mark update %s failed; it is retried after a restart", item.update_id)
