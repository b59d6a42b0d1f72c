"""A valuation range for an owner's home, from comparable listings: pure computation plus one query.

Method (the README says the same): the comparables are the active listings of the same deal type in the same
district — widened to its neighbouring districts when there are too few — whose area is within ±30 % of the
home's and whose bedrooms are within one of its; each gives a price per m², and the range is the home's area
times the middle half of those prices per m² (25th to 75th percentile), the estimate the area times their
median. With fewer comparables than the configured minimum there is no range: the owner is told so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Float, Select, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from matching.districts import DistrictIndex
from storage.models import Listing

AREA_BAND = 0.30  # comparables within ±30 % of the home's area
ROOMS_BAND = 1  # and within one bedroom
SHOWN = 3  # comparables shown to the owner as cards
MAX_ROWS = 500  # the nearest this many by area are plenty for a percentile


@dataclass(frozen=True)
class Comparable:
    listing_id: int
    ref_code: str
    price: float
    area_m2: float
    bedrooms: int
    district: str

    @property
    def per_m2(self) -> float:
        return self.price / self.area_m2


@dataclass(frozen=True)
class Valuation:
    """What the owner is told. `low`/`high`/`estimate` are None when there were too few comparables."""

    deal_type: str
    district: str
    area_m2: float
    bedrooms: int | None
    count: int
    low: float | None = None
    high: float | None = None
    estimate: float | None = None
    per_m2_low: float | None = None
    per_m2_high: float | None = None
    widened: bool = False  # the neighbouring districts were needed
    shown: list[Comparable] = field(default_factory=list)

    @property
    def enough(self) -> bool:
        return self.low is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Valuation:
        values = dict(data)
        values["shown"] = [Comparable(**item) for item in values.get("shown") or []]
        return cls(**values)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q from 0 to 1) of a non-empty sequence."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def rounded(amount: float, deal_type: str) -> float:
    """Sale prices to ¥10,000, rents to ¥100: a range is an estimate, not a quote."""
    step = 100 if deal_type == "rent" else 10_000
    return float(round(amount / step) * step)


def similar(rows: Sequence[Comparable], area_m2: float, bedrooms: int | None) -> list[Comparable]:
    """The rows that are comparable (area within the band, bedrooms within one), most similar first."""
    low, high = area_m2 * (1 - AREA_BAND), area_m2 * (1 + AREA_BAND)
    kept = [r for r in rows if r.area_m2 > 0 and r.price > 0 and low <= r.area_m2 <= high
            and (bedrooms is None or abs(r.bedrooms - bedrooms) <= ROOMS_BAND)]

    def distance(row: Comparable) -> tuple[float, int]:
        rooms = 0 if bedrooms is None else abs(row.bedrooms - bedrooms)
        return abs(row.area_m2 - area_m2) / area_m2 + 0.15 * rooms, row.listing_id

    return sorted(kept, key=distance)


def value(deal_type: str, district: str, area_m2: float, bedrooms: int | None, rows: Sequence[Comparable],
          minimum: int, *, widened: bool = False) -> Valuation:
    """The valuation from comparable rows (already of the right deal type and place)."""
    comparables = similar(rows, area_m2, bedrooms)
    base = Valuation(deal_type=deal_type, district=district, area_m2=area_m2, bedrooms=bedrooms,
                     count=len(comparables), widened=widened, shown=comparables[:SHOWN])
    if len(comparables) < minimum:
        return base
    per_m2 = [c.per_m2 for c in comparables]
    low_m2, mid_m2, high_m2 = percentile(per_m2, 0.25), percentile(per_m2, 0.5), percentile(per_m2, 0.75)
    return Valuation(**{**base.__dict__, "low": rounded(low_m2 * area_m2, deal_type),
                        "high": rounded(high_m2 * area_m2, deal_type),
                        "estimate": rounded(mid_m2 * area_m2, deal_type),
                        "per_m2_low": round(low_m2, 2), "per_m2_high": round(high_m2, 2)})


def comparables_query(deal_type: str, district_ids: Sequence[int], area_m2: float) -> Select[Any]:
    """Active, recommendable listings of this deal type in these districts, with an area in the band."""
    return (
        select(Listing.id, Listing.ref_code, cast(Listing.price, Float), Listing.area_m2, Listing.bedrooms,
               Listing.district_name)
        .where(Listing.status == "active", Listing.withheld_at.is_(None), Listing.deal_type == deal_type,
               Listing.district_id.in_(list(district_ids)),
               Listing.area_m2 >= area_m2 * (1 - AREA_BAND), Listing.area_m2 <= area_m2 * (1 + AREA_BAND))
        .order_by(Listing.id)
        .limit(MAX_ROWS)
    )


async def _rows(session: AsyncSession, deal_type: str, district_ids: Sequence[int],
                area_m2: float) -> list[Comparable]:
    if not district_ids:
        return []
    found = await session.execute(comparables_query(deal_type, district_ids, area_m2))
    return [Comparable(listing_id=r[0], ref_code=r[1], price=float(r[2]), area_m2=float(r[3]), bedrooms=int(r[4]),
                       district=r[5] or "") for r in found.all()]


async def valuate(session: AsyncSession, *, deal_type: str, district: str, area_m2: float, bedrooms: int | None,
                  index: DistrictIndex, minimum: int) -> Valuation:
    """Value a home of `area_m2` in `district` (a canonical district name) for sale or rent (`deal_type`)."""
    own = index.id_by_name.get(district)
    ids = [own] if own is not None else []
    rows = await _rows(session, deal_type, ids, area_m2)
    result = value(deal_type, district, area_m2, bedrooms, rows, minimum)
    if result.enough:
        return result
    record = index.records.get(district)
    neighbours = [index.id_by_name[n] for n in (record.neighbours if record else ()) if n in index.id_by_name]
    if not neighbours:
        return result
    wider = rows + await _rows(session, deal_type, neighbours, area_m2)
    return value(deal_type, district, area_m2, bedrooms, wider, minimum, widened=True)
