"""An in-memory, column-wise copy of the listings' scoring fields, one per database.

SQL picks candidate ids from the covering index; the other filters and the score run on these columns
with numpy, which is what keeps a query over 100,000 listings within a few milliseconds. The copy
follows the database: changes committed in this process are applied at once (matching.changes),
other processes' edits are noticed by a cheap probe, and every result is re-checked against fresh rows
before it is shown (matching.rank), so a stale copy can cost ranking accuracy for seconds, never
correctness.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from matching import changes, query
from matching.districts import DistrictIndex
from matching.levels import PriceLevels, levels_from_listings
from matching.score import Columns
from storage.vocabulary import DEAL_TYPES

PROBE_INTERVAL_S = 5.0
_CHUNK = 500  # ids per IN (...) list
_PAGE = 10_000  # rows per page when loading everything
_snapshots: weakref.WeakKeyDictionary[Any, ListingSnapshot] = weakref.WeakKeyDictionary()
monotonic: Callable[[], float] = time.monotonic


class ListingSnapshot:
    def __init__(self) -> None:
        self._levels: tuple[int, PriceLevels] | None = None
        self._cols = Columns.empty()
        self._active: dict[int | None, Columns] = {}
        self._full_reload = True
        self._pending: set[int] = set()
        self._probe: tuple[Any, ...] | None = None
        self._probed_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def cols(self) -> Columns:
        return self._cols

    @cols.setter
    def cols(self, value: Columns) -> None:
        self._cols = value
        self._active = {}
        self._levels = None

    def price_levels(self, index: DistrictIndex, usd_cny: float | None = None) -> PriceLevels:
        """What homes cost, per city, from the active listings (cached until the listings change)."""
        if self._levels is None or self._levels[0] != id(index):
            cols = self.active(None)
            city_of = {i: index.records[name].city for i, name in index.by_id.items() if name in index.records}
            rows = zip(
                (DEAL_TYPES[d] if d >= 0 else "" for d in cols.deal.tolist()),
                cols.price.tolist(),
                cols.area.tolist(),
                (city_of.get(d) for d in cols.district.tolist()),
                strict=True,
            )
            self._levels = (id(index), levels_from_listings(rows))
        return self._levels[1].with_rate(usd_cny)

    def active(self, deal: int | None) -> Columns:
        """Active listings only, of one deal type when given: what every search starts from."""
        if deal not in self._active:
            keep = self._cols.status == 0
            if deal is not None:
                keep &= self._cols.deal == deal
            self._active[deal] = self._cols.take(np.flatnonzero(keep))
        return self._active[deal]

    def note_changed(self, ids: set[int] | None) -> None:
        if ids is None:
            self._full_reload = True
        else:
            self._pending |= ids

    async def refresh(self, session: AsyncSession) -> None:
        async with self._lock:
            now = monotonic()
            if not self._full_reload and not self._pending and now - self._probed_at >= PROBE_INTERVAL_S:
                fingerprint = tuple((await query.fetch_all(session, query.probe()))[0])
                self._probed_at = now
                if fingerprint != self._probe:
                    await self._load_changed_since(session)
                    if len(self.cols) != fingerprint[0]:
                        self._full_reload = True  # rows were deleted somewhere
                    self._probe = fingerprint
            if self._full_reload:
                self._full_reload, self._pending = False, set()
                self._probe = tuple((await query.fetch_all(session, query.probe()))[0])
                self._probed_at = now
                self.cols = await self._load_all(session)
            elif self._pending:
                ids, self._pending = sorted(self._pending), set()
                rows = []
                for start in range(0, len(ids), _CHUNK):
                    rows += await query.fetch_all(session, query.rows_by_id(ids[start : start + _CHUNK]))
                self._merge(np.array(ids, dtype=np.int64), rows)

    @staticmethod
    async def _load_all(session: AsyncSession) -> Columns:
        parts, last_id = [], 0
        while True:
            rows = await query.fetch_all(session, query.snapshot_rows(last_id, _PAGE))
            if not rows:
                break
            parts.append(Columns.from_rows(rows))
            last_id = rows[-1][0]
        return Columns.concat(parts) if parts else Columns.empty()

    async def _load_changed_since(self, session: AsyncSession) -> None:
        if self._probe is None or self._probe[2] is None:
            self._full_reload = True
            return
        rows = await query.fetch_all(session, query.rows_changed_since(self._probe[2], self._probe[1] or 0))
        self._merge(np.array([r[0] for r in rows], dtype=np.int64), rows)

    def _merge(self, changed: np.ndarray, rows: list[Any]) -> None:
        """Replace changed ids by their fresh rows (dropping deleted ones), keeping ids sorted."""
        keep = ~np.isin(self.cols.ids, changed)
        fresh = Columns.from_rows(rows)
        merged = Columns.concat([self.cols.take(keep), fresh])
        self.cols = merged.take(np.argsort(merged.ids, kind="stable"))

    def lookup(self, ids: np.ndarray) -> tuple[Columns, np.ndarray]:
        """Columns for these ids (sorted), and the ids the snapshot does not have yet."""
        if not len(self.cols):
            return self.cols, ids
        pos = np.minimum(np.searchsorted(self.cols.ids, ids), len(self.cols) - 1)
        found = self.cols.ids[pos] == ids
        return self.cols.take(pos[found]), ids[~found]


async def snapshot_for(session: AsyncSession) -> ListingSnapshot:
    """The refreshed snapshot of the session's database."""
    changes.install()
    engine = session.get_bind()
    snapshot = _snapshots.get(engine)
    if snapshot is None:
        snapshot = ListingSnapshot()
        _snapshots[engine] = snapshot
        changes.subscribe(snapshot)
    await snapshot.refresh(session)
    return snapshot


async def load_price_levels(
    session: AsyncSession, index: DistrictIndex, usd_cny: float | None = None
) -> PriceLevels:
    """The price levels the parser reads bare budgets against (matching.levels), from the listings."""
    return (await snapshot_for(session)).price_levels(index, usd_cny)


def invalidate() -> None:
    """Reload every snapshot on next use (e.g. after a bulk import done with plain SQL)."""
    for snapshot in list(_snapshots.values()):
        snapshot.note_changed(None)
