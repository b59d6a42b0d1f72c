"""Chat filters as aiogram `Filter` classes.

aiogram runs a filter that is not a coroutine, magic filters (`F.chat.type == ...`) included, in a worker thread
(`asyncio.to_thread`), so each of the five such checks on a customer's message woke a thread and passed the GIL
twice (py-spy under load, issue 17). These do the same checks as coroutines, on the event loop.
"""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})


class PrivateChat(Filter):
    """A private chat (for a message: with a sender; for a button press: on a message of a private chat)."""

    async def __call__(self, event: Message | CallbackQuery | ChatMemberUpdated) -> bool:
        if isinstance(event, Message):
            return event.chat.type == ChatType.PRIVATE and event.from_user is not None
        if isinstance(event, CallbackQuery):
            return event.message is not None and event.message.chat.type == ChatType.PRIVATE
        return event.chat.type == ChatType.PRIVATE


class GroupChat(Filter):
    async def __call__(self, event: Message) -> bool:
        return event.chat.type in GROUP_TYPES
