"""Per-visitor and per-address rate limits for the web chat (aiolimiter leaky buckets, kept in this process).

A message or upload over either limit is refused with a clear error frame; nothing waits, so a flooding browser
never holds a handler. Idle buckets are forgotten, so memory stays bounded however many visitors come and go.
"""

from __future__ import annotations

from collections import OrderedDict

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
