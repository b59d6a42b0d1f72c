"""Telegram's sending limits, kept on our side so the server never has to refuse us.

- overall: one send slot every 1/global_rate seconds (evenly spaced: a leaky bucket with a burst would
  overshoot Telegram's sliding window), at most global_rate - concurrent sends starting in any second, and
  at most `concurrent` requests in flight. Requests started in order can reach the server out of order
  only among those in flight together, so any second at the server then holds at most
  global_rate + concurrent - 1 sends: 30 with the defaults, which Telegram still accepts, however
  late a busy event loop or network delivers them. (A request slower than `slow_request_seconds` gives its
  place up, so one hung upload cannot stall every chat.)
- a private chat (positive id): at least per_chat_seconds between two sends;
- a group (negative id): at least 60/group_per_minute seconds between two sends;
- pauses: a 429 pauses the chat (and, for a flood wait, everything) for retry_after.
Clock and sleep are injectable so tests never wait on wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable


class SendLimiter:
    def __init__(
        self,
        global_rate: float | None = 29.0,
        per_chat_seconds: float = 1.0,
        group_per_minute: float = 20.0,
        *,
        concurrent: int = 2,
        slow_request_seconds: float = 2.0,
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
        self.window_limit = max(1, int(global_rate) - max(1, concurrent)) if global_rate else 0
        self._recent: deque[float] = deque()
        self._in_flight = asyncio.Semaphore(concurrent) if global_rate and concurrent else None
        self.slow_request_seconds = slow_request_seconds

    def interval_for(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.private_interval

    @contextlib.asynccontextmanager
    async def sending(self, chat_id: int, weight: int = 1) -> AsyncIterator[None]:
        """Hold a send slot while the request runs: `async with limiter.sending(chat): await bot(...)`."""
        await self._chat_slot(chat_id)
        if self._in_flight is None:
            for _ in range(weight):
                await self._global_slot()
            yield
            return
        await self._in_flight.acquire()
        semaphore = self._in_flight
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                semaphore.release()

        timer = asyncio.get_running_loop().call_later(self.slow_request_seconds, release)
        try:
            for _ in range(weight):
                await self._global_slot()
            yield
        finally:
            timer.cancel()
            release()

    async def acquire(self, chat_id: int) -> None:
        """Wait for this chat's next slot, then for a global one (no in-flight bound: see `sending`)."""
        await self._chat_slot(chat_id)
        await self._global_slot()

    async def _chat_slot(self, chat_id: int) -> None:
        now = self._monotonic()
        chat_at = max(now, self._next_chat.get(chat_id, 0.0))
        self._next_chat[chat_id] = chat_at + self.interval_for(chat_id)
        if chat_at > now:
            await self._sleep(chat_at - now)

    async def _global_slot(self) -> None:
        while True:
            now = self._monotonic()
            at = max(now, self._next_global, self._paused_until)
            self._next_global = at + self.global_interval
            if at > now:
                await self._sleep(at - now)
            if self._monotonic() >= self._paused_until:  # a flood wait may have begun while we slept
                break
        await self._sliding_window()

    async def _sliding_window(self) -> None:
        if not self.window_limit:
            return
        while True:
            now = self._monotonic()
            while self._recent and self._recent[0] <= now - 1.0 + 1e-9:  # float rounding of sleeps
                self._recent.popleft()
            if len(self._recent) < self.window_limit:
                self._recent.append(now)
                return
            await self._sleep(self._recent[0] + 1.0 - now)

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
