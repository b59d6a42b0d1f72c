"""One database transaction per update, as an aiogram outer middleware on the Dispatcher's update observer.

The transaction starts by claiming the stored update (received -> done); if another worker or instance got
there first, nothing runs. The handler's whole effect (conversation state, history, outbox rows, the update's
status) commits atomically, so an update is handled exactly once even across crashes. After commit: events
are published, the sender is woken and a pressed button is answered (every press, even when handling failed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import updates
from dialogs.replies import ButtonAnswer
from storage.events import Event, EventBus
from storage.gate import WriteGate

log = logging.getLogger(__name__)
MAX_CALLBACK_ANSWER = 200  # Telegram's limit for answerCallbackQuery text


@dataclass
class UnitOfWork:
    """What a handler gets: the transaction's session, and what to do once it commits."""

    session: AsyncSession
    events: list[Event] = field(default_factory=list)
    button_answer: ButtonAnswer | None = None


class UnitOfWorkMiddleware(BaseMiddleware):
    def __init__(
        self,
        gate: WriteGate,
        bus: EventBus,
        on_committed: Callable[[], None] = lambda: None,
    ) -> None:
        self._gate = gate
        self._bus = bus
        self._on_committed = on_committed

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        query = event.callback_query
        try:
            async with self._gate.transaction() as session:
                if not await updates.claim(session, event.update_id):
                    log.info("update %s was already handled; skipped", event.update_id)
                    return None
                work = UnitOfWork(session)
                data["work"] = work
                result = await handler(event, data)
        except Exception:
            if query is not None:  # the customer's spinner stops even when we failed
                await _answer(bot, query.id, None)
            raise
        for item in work.events:
            try:
                await self._bus.publish(item)
            except Exception:  # the update is committed; a lost live event only delays a console refresh
                log.exception("could not publish %s", item.kind)
        self._on_committed()
        if query is not None:
            await _answer(bot, query.id, work.button_answer)
        return result


async def _answer(bot: Bot, query_id: str, answer: ButtonAnswer | None) -> None:
    text = (answer.text if answer else "")[:MAX_CALLBACK_ANSWER] or None
    try:
        await bot.answer_callback_query(query_id, text=text, show_alert=bool(answer and answer.alert),
                                        request_timeout=10)
    except Exception as exc:  # a stale query (after a restart) or a network blip: the press itself is handled
        log.warning("answerCallbackQuery failed for %s: %s", query_id, exc)
