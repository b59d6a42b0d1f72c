"""Telegram's sending limits, kept on our side so the server never has to refuse us.

- overall: one send slot every 1/global_rate seconds (evenly spaced, so no 1-second window ever holds more
  than global_rate + 1 sends; a leaky bucket with a burst would overshoot Telegram's sliding window);
- a private chat (positive id): at least per_chat_seconds between two sends;
- a group (negative id): at least 60/group_per_minute seconds between two sends;
- pauses: a 429 pauses the chat (and, for a flood wait, everything) for retry_after.
Clock and sleep are injectable so tests never wait on wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class SendLimiter:
    def __init__(
        self,
        global_rate: float | None = 29.0,
        per_chat_seconds: float = 1.0,
        group_per_minute: float = 20.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.global_interval = 1.0 / global_rate if global_rate else 0.0
        self.private_interval = per_chat_seconds
        self.group_interval = 60.0 / group_per_minute if group_per_minute else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0

    def interval_for(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.private_interval

    async def acquire(self, chat_id: int) -> None:
        """Wait for this chat's next slot, then for a global one; both are reserved before sleeping."""
        now = self._monotonic()
        chat_at = max(now, self._next_chat.get(chat_id, 0.0))
        self._next_chat[chat_id] = chat_at + self.interval_for(chat_id)
        if chat_at > now:
            await self._sleep(chat_at - now)
        while True:
            now = self._monotonic()
            at = max(now, self._next_global, self._paused_until)
            self._next_global = at + self.global_interval
            if at > now:
                await self._sleep(at - now)
            if self._monotonic() >= self._paused_until:  # a flood wait may have begun while we slept
                return

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        until = self._monotonic() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)

    def pause_all(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def forget_idle(self) -> None:
        """Drop chats whose slot is in the past, so memory follows active chats, not all chats ever."""
        now = self._monotonic()
        for chat_id in [c for c, at in self._next_chat.items() if at < now]:
            del self._next_chat[chat_id]
