"""Per-visitor and per-address rate limits for the web chat (aiolimiter leaky buckets, kept in this process).

A message or upload over either limit is refused with a clear error frame; nothing waits, so a flooding browser
never holds a handler. Idle buckets are forgotten, so memory stays bounded however many visitors come and go.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from aiolimiter import AsyncLimiter

MAX_BUCKETS = 20_000


class Buckets:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: OrderedDict[str, AsyncLimiter] = OrderedDict()

    def _bucket(self, key: str) -> AsyncLimiter:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = AsyncLimiter(self.per_minute, 60)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def has_room(self, key: str) -> bool:
        return self._bucket(key).has_capacity()

    async def take(self, key: str) -> None:
        await self._bucket(key).acquire()  # has_room said yes: returns at once


class RateLimits:
    def __init__(self, visitor_per_minute: int, ip_per_minute: int) -> None:
        self.visitors = Buckets(visitor_per_minute)
        self.addresses = Buckets(ip_per_minute)

    async def allow(self, visitor_id: str, address: str) -> bool:
        """Count one message for this visitor and address; False (nothing counted) when either is over."""
        if not (self.visitors.has_room(visitor_id) and self.addresses.has_room(address)):
            return False
        await self.visitors.take(visitor_id)
        await self.addresses.take(address)
        return True


class Throttle:
    """At most one pass per key every `seconds`; calls in between are dropped (never queued). For hints such as
    "the visitor is typing", where the latest one is all that matters. The clock is injectable (tests)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()

    def allow(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > MAX_BUCKETS:
            self._last.popitem(last=False)
        return True
