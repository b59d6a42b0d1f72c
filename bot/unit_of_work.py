"""One unit of work per update, as an aiogram outer middleware on the Dispatcher's update observer.

The unit of work (storage.unit_of_work) starts by claiming the stored update (received -> done); if another
worker or instance got there first, nothing runs. The handler's whole effect (conversation state, history,
outbox rows, the update's status) commits atomically, so an update is handled exactly once even across
crashes. After commit the workplace publishes the live events and wakes the sender; then a pressed button is
answered (every press, even when handling failed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update

from dialogs.replies import ButtonAnswer
from storage import updates
from storage.unit_of_work import Actor, FlowFailed, Workplace

log = logging.getLogger(__name__)
MAX_CALLBACK_ANSWER = 200  # Telegram's limit for answerCallbackQuery text
_SKIPPED = object()  # the update was handled before (another worker or instance)


@dataclass
class PressAnswer:
    """What to show on a pressed button once the update committed; handlers set `answer`."""

    answer: ButtonAnswer | None = None


class UnitOfWorkMiddleware(BaseMiddleware):
    """Handlers get `work` (storage.unit_of_work.Work) and `press` (PressAnswer) in their data."""

    def __init__(self, workplace: Workplace) -> None:
        self._workplace = workplace

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            raise TypeError(f"the unit of work wraps whole updates, not {type(event).__name__}")
        bot: Bot = data["bot"]
        query = event.callback_query
        press = PressAnswer()
        try:
            try:
                result = await self._once(handler, event, data, press, apologise=False)
            except FlowFailed:
                # The flow failed: its whole unit of work rolled back (no savepoint on the common path). Handle the
                # update again in a new one that records it and apologises to the customer.
                press = PressAnswer()
                result = await self._once(handler, event, data, press, apologise=True)
        except updates.EarlierPending:  # not handled yet: the press is answered when it is
            raise
        except Exception:
            if query is not None:  # the customer's spinner stops even when we failed
                await _answer(bot, query.id, None)
            raise
        if query is not None and result is not _SKIPPED:
            await _answer(bot, query.id, press.answer)
        return None if result is _SKIPPED else result

    async def _once(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: Update,
                    data: dict[str, Any], press: PressAnswer, *, apologise: bool) -> Any:
        async with self._workplace.open(Actor.customer()) as work:
            if not await updates.claim(work.session, event.update_id):
                log.info("update %s was already handled; skipped", event.update_id)
                return _SKIPPED
            work.redo_failed_flows = True
            work.apologise = apologise
            data["work"] = work
            data["press"] = press
            return await handler(event, data)


async def _answer(bot: Bot, query_id: str, answer: ButtonAnswer | None) -> None:
    text = (answer.text if answer else "")[:MAX_CALLBACK_ANSWER] or None
    try:
        await bot.answer_callback_query(query_id, text=text, show_alert=bool(answer and answer.alert),
                                        request_timeout=10)
    except Exception as exc:  # a stale query (after a restart) or a network blip: the press itself is handled
        log.warning("answerCallbackQuery failed for %s: %s", query_id, exc)
