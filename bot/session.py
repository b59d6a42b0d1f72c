"""The Bot API HTTP session: aiogram's aiohttp session, keeping the response models it builds.

aiogram validates every answer as `Response[<the method's result type>]`, a pydantic generic built on first use
and kept by pydantic in a weak cache only. Between uses nothing else holds it, so the garbage collector frees
it and the next request builds it again: measured with py-spy under load, about a tenth of the event loop's
time went into rebuilding `Response[Message]` (issue 17). Holding each one built is a few dozen classes at
most (one per result type the bot uses).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods.base import Response, TelegramMethod, TelegramType

_KEPT: dict[Any, Any] = {}


class BotApiSession(AiohttpSession):
    def check_response(self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int,
                       content: str) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _KEPT:
            _KEPT[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)
