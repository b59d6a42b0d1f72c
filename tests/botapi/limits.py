"""Telegram-like flood control for the offline Bot API server.

Defaults mirror Telegram's published guidance for bots:
- overall: at most 30 messages in any sliding 1-second window;
- private chats (positive chat ids): a token bucket holding 3 messages, refilled at
  1 message per second, so a short burst of 3 passes and then 1/s is sustained;
- groups (negative chat ids): at most 20 messages in any sliding 60-second window.
Counted sends: sendMessage, sendPhoto, sendDocument, sendLocation, and sendMediaGroup once
per album; edits, chat actions and callback answers are not limited. A refused send is not
counted against any window. Every limit can be switched off
by setting it to None, or all of them by passing ``limits=None`` to the server.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    global_per_second: int | None = 30
    private_burst: int | None = 3
    private_per_second: float = 1.0
    group_per_minute: int | None = 20


def _retry_after(seconds: float) -> int:
    # Telegram always asks for a whole number of seconds, at least one.
    return max(1, math.ceil(seconds))


class RateLimiter:
    """Decides whether a send may go now; O(1) amortised per call."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._global: deque[float] = deque()
        self._private: dict[int, tuple[float, float]] = {}  # chat id -> (tokens, last refill time)
        self._groups: dict[int, deque[float]] = {}

    def acquire(self, chat_id: int, now: float) -> int | None:
        """Record a send and return None, or return retry_after seconds without recording it."""
        limits = self.limits
        if limits.global_per_second is not None:
            window = self._global
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limits.global_per_second:
                return _retry_after(window[0] + 1.0 - now)

        tokens = 0.0
        group_window: deque[float] | None = None
        if chat_id > 0 and limits.private_burst is not None:
            tokens, last = self._private.get(chat_id, (float(limits.private_burst), now))
            tokens = min(float(limits.private_burst), tokens + (now - last) * limits.private_per_second)
            if tokens < 1.0:
                return _retry_after((1.0 - tokens) / limits.private_per_second)
        elif chat_id < 0 and limits.group_per_minute is not None:
            group_window = self._groups.setdefault(chat_id, deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= limits.group_per_minute:
                return _retry_after(group_window[0] + 60.0 - now)

        if limits.global_per_second is not None:
            self._global.append(now)
        if chat_id > 0 and limits.private_burst is not None:
            self._private[chat_id] = (tokens - 1.0, now)
        elif group_window is not None:
            group_window.append(now)
        return None
