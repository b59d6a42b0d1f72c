"""Hard filters and the 0-100 score, vectorised over columns of listings (numpy), no database here.

The same functions serve the whole candidate set (ranking) and single rows (reasons, fresh checks),
so what is filtered, scored and explained can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import numpy as np

from matching.criteria import Criteria
from matching.districts import DistrictIndex
from matching.weights import DEFAULT_WEIGHTS, Weights
from storage.vocabulary import DEAL_TYPES, DECORATIONS, LISTING_STATUSES, PROPERTY_TYPES

KNOWN_FEATURES = ("parking", "elevator", "near_metro", "balcony", "garden", "gym", "pool", "school", "south_facing")
_feature_bits: dict[str, int] = {slug: 1 << i for i, slug in enumerate(KNOWN_FEATURES)}
NO_DATE = 0  # ordinal used for an unknown availability date
EARTH_KM = 6371.0


def feature_bit(slug: str) -> int:
    """A bit per feature slug; slugs seen for the first time get the next free bit (63 at most)."""
    bit = _feature_bits.get(slug)
    if bit is None:
        if len(_feature_bits) >= 62:
            return 1 << 62  # overflow bucket: rare custom features share it (filters stay conservative)
        bit = 1 << len(_feature_bits)
        _feature_bits[slug] = bit
    return bit


def feature_mask(slugs: Any) -> int:
    mask = 0
    for slug in slugs or ():
        mask |= feature_bit(str(slug))
    return mask


def _code(value: Any, table: tuple[str, ...]) -> int:
    try:
        return table.index(value)
    except ValueError:
        return -1


def _tri(value: Any) -> int:
    return -1 if value is None else int(bool(value))


# The listing columns ranking needs, in the order `Columns.from_rows` expects them.
ROW_FIELDS = (
    "id", "status", "deal_type", "property_type", "price", "district_id", "bedrooms", "area_m2",
    "available_from", "lat", "lon", "furnished", "pets_allowed", "features", "partly_furnished", "decoration",
)
PARTLY = 2  # Columns.furnished code of a partly furnished listing


@dataclass
class Columns:
    ids: np.ndarray  # int64, sorted ascending in snapshots
    status: np.ndarray  # int8 index into LISTING_STATUSES
    deal: np.ndarray  # int8 index into DEAL_TYPES
    ptype: np.ndarray  # int8 index into PROPERTY_TYPES
    price: np.ndarray  # float64
    district: np.ndarray  # int64, -1 when unknown
    bedrooms: np.ndarray  # int16
    area: np.ndarray  # float64
    available: np.ndarray  # int32 date ordinal, NO_DATE when unknown
    lat: np.ndarray  # float64, nan when unknown
    lon: np.ndarray
    furnished: np.ndarray  # int8: -1 unknown, 0, 1, 2 (PARTLY: furnished, only partly)
    pets: np.ndarray  # int8
    features: np.ndarray  # int64 bit mask
    decoration: np.ndarray  # int8 index into DECORATIONS (bare < basic < fine), -1 unknown

    @classmethod
    def from_rows(cls, rows: list[Any]) -> Columns:
        """rows: tuples in ROW_FIELDS order (features as a list of slugs)."""
        n = len(rows)

        def col(i: int, dtype: Any, convert: Any = None, default: Any = 0) -> np.ndarray:
            if convert is None:
                return np.fromiter(((default if r[i] is None else r[i]) for r in rows), dtype=dtype, count=n)
            return np.fromiter((convert(r[i]) for r in rows), dtype=dtype, count=n)

        nan = float("nan")
        return cls(
            ids=col(0, np.int64),
            status=col(1, np.int8, lambda v: _code(v, LISTING_STATUSES)),
            deal=col(2, np.int8, lambda v: _code(v, DEAL_TYPES)),
            ptype=col(3, np.int8, lambda v: _code(v, PROPERTY_TYPES)),
            price=col(4, np.float64, lambda v: nan if v is None else float(v)),
            district=col(5, np.int64, default=-1),
            bedrooms=col(6, np.int16),
            area=col(7, np.float64, lambda v: 0.0 if v is None else float(v)),
            available=col(8, np.int32, lambda v: _date_ordinal(v)),
            lat=col(9, np.float64, lambda v: nan if v is None else float(v)),
            lon=col(10, np.float64, lambda v: nan if v is None else float(v)),
            furnished=np.fromiter((PARTLY if r[11] and r[14] else _tri(r[11]) for r in rows), dtype=np.int8, count=n),
            pets=col(12, np.int8, _tri),
            features=col(13, np.int64, feature_mask),
            decoration=col(15, np.int8, lambda v: _code(v, DECORATIONS)),
        )

    @classmethod
    def empty(cls) -> Columns:
        return cls.from_rows([])

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: np.ndarray) -> Columns:
        return Columns(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[Columns]) -> Columns:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def _date_ordinal(value: Any) -> int:
    if value is None:
        return NO_DATE
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.toordinal()


@dataclass
class Feedback:
    """A listing the customer turned down, with why: similar listings lose points."""

    listing_id: int
    reason: str
    deal: int
    ptype: int
    district: int
    price: float
    area: float
    bedrooms: int


@dataclass
class Plan:
    """Criteria compiled against the district index: ids, ordinals and bit masks, ready for numpy."""

    criteria: Criteria
    weights: Weights
    deal: int | None
    ptypes: list[int]
    price_lo: float | None
    price_hi: float | None
    chosen: np.ndarray
    neighbours: np.ndarray
    centres: np.ndarray  # (k, 2) lat, lon of chosen districts with coordinates
    location: bool
    bed_lo: int | None
    bed_hi: int | None
    area_lo: float | None
    area_hi: float | None
    move_in: int | None
    must_mask: int
    exclude_mask: int
    district_names: dict[int, str] = field(default_factory=dict)
    feedback: list[Feedback] = field(default_factory=list)
    rejected_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def compile_plan(
    criteria: Criteria,
    index: DistrictIndex,
    weights: Weights = DEFAULT_WEIGHTS,
    feedback: list[Feedback] | None = None,
) -> Plan:
    w = weights
    chosen_names = [n for n in criteria.districts if n in index.records]
    neighbour_names = {nb for n in chosen_names for nb in index.neighbours(n)} - set(chosen_names)
    chosen = np.array([index.id_by_name[n] for n in chosen_names if n in index.id_by_name], dtype=np.int64)
    neighbours = np.array([index.id_by_name[n] for n in neighbour_names if n in index.id_by_name], dtype=np.int64)
    centres = np.array([c for n in chosen_names if (c := index.centroid(n))], dtype=np.float64).reshape(-1, 2)
    low, high = criteria.budget_min, criteria.budget_max
    return Plan(
        criteria=criteria,
        weights=w,
        deal=_code(criteria.deal_type, DEAL_TYPES) if criteria.deal_type else None,
        ptypes=[i for i in (_code(t, PROPERTY_TYPES) for t in criteria.property_types) if i >= 0],
        price_lo=low * (1 - w.budget_under) if low else None,
        price_hi=high * (1 + w.budget_over) if high else None,
        chosen=chosen,
        neighbours=neighbours,
        centres=centres,
        location=bool(chosen_names),
        bed_lo=criteria.bedrooms_min,
        bed_hi=criteria.bedrooms_max + w.extra_bedrooms if criteria.bedrooms_max is not None else None,
        area_lo=criteria.area_min * (1 - w.area_tolerance) if criteria.area_min else None,
        area_hi=criteria.area_max * (1 + w.area_tolerance) if criteria.area_max else None,
        move_in=criteria.move_in_by.toordinal() + w.move_in_grace_days if criteria.move_in_by else None,
        must_mask=feature_mask(criteria.must_have),
        exclude_mask=feature_mask(criteria.exclude),
        district_names=dict(index.by_id),
        feedback=list(feedback or []),
        rejected_ids=np.array(sorted({f.listing_id for f in feedback or []}), dtype=np.int64),
    )


def isin(values: np.ndarray, wanted: np.ndarray | list[int]) -> np.ndarray:
    """np.isin, but a few equality tests when the wanted set is small (several times faster)."""
    if len(wanted) > 8:
        return np.isin(values, wanted)
    out = np.zeros(len(values), dtype=bool)
    for item in wanted:
        out |= values == item
    return out


def distances_km(cols: Columns, centres: np.ndarray) -> np.ndarray:
    """Distance from each listing to the nearest centre (inf when either has no coordinates)."""
    if len(centres) == 0 or len(cols) == 0:
        return np.full(len(cols), np.inf)
    lat1, lon1 = np.radians(cols.lat)[:, None], np.radians(cols.lon)[:, None]
    lat2, lon2 = np.radians(centres[:, 0])[None, :], np.radians(centres[:, 1])[None, :]
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    d = 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    d = np.where(np.isnan(d), np.inf, d)
    return d.min(axis=1)


# Each hard filter by name, so 'why no results' can switch one off at a time.
FILTERS = (
    "base", "property_types", "budget", "districts", "bedrooms", "area", "move_in", "must_have", "pets", "furnished",
    "decoration",
)


def location_mask(cols: Columns, plan: Plan, distance: np.ndarray | None = None) -> np.ndarray:
    """In a chosen or neighbouring district, or within the radius of a chosen one."""
    if distance is None:
        distance = distances_km(cols, plan.centres)
    near = isin(cols.district, plan.chosen) | isin(cols.district, plan.neighbours)
    return near | (distance <= plan.weights.radius_km)


def filter_masks(
    cols: Columns, plan: Plan, distance: np.ndarray | None = None, skip: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Each stated hard filter as a boolean mask (all filters are ANDed)."""
    c = plan.criteria
    ones = np.ones(len(cols), dtype=bool)
    base = cols.status == 0
    if plan.deal is not None:
        base &= cols.deal == plan.deal
    if len(plan.rejected_ids):
        base &= ~np.isin(cols.ids, plan.rejected_ids)
    if plan.exclude_mask:
        base &= (cols.features & plan.exclude_mask) == 0
    masks = {"base": base}
    if c.property_types:
        masks["property_types"] = isin(cols.ptype, plan.ptypes)
    if plan.price_hi is not None or plan.price_lo is not None:
        budget = ones.copy()
        if plan.price_hi is not None:
            budget &= cols.price <= plan.price_hi
        if plan.price_lo is not None:
            budget &= cols.price >= plan.price_lo
        masks["budget"] = budget
    if plan.location and "districts" not in skip:
        masks["districts"] = location_mask(cols, plan, distance)
    if plan.bed_lo is not None or plan.bed_hi is not None:
        beds = ones.copy()
        if plan.bed_lo is not None:
            beds &= cols.bedrooms >= plan.bed_lo
        if plan.bed_hi is not None:
            beds &= cols.bedrooms <= plan.bed_hi
        masks["bedrooms"] = beds
    if plan.area_lo is not None or plan.area_hi is not None:
        area = ones.copy()
        if plan.area_lo is not None:
            area &= cols.area >= plan.area_lo
        if plan.area_hi is not None:
            area &= cols.area <= plan.area_hi
        masks["area"] = area
    if plan.move_in is not None:
        masks["move_in"] = (cols.available == NO_DATE) | (cols.available <= plan.move_in)
    if plan.must_mask:
        masks["must_have"] = (cols.features & plan.must_mask) == plan.must_mask
    if c.pets:
        masks["pets"] = cols.pets != 0
    if c.furnished is not None:
        # Furnished (fully or partly) or not known; unfurnished or not known.
        masks["furnished"] = (cols.furnished != 0) if c.furnished else ((cols.furnished == 0) | (cols.furnished == -1))
    if c.decoration in DECORATIONS:
        # This level or a better one, or not known: whoever wants 简装 takes 精装 too, a bare shell suits anyone.
        masks["decoration"] = (cols.decoration == -1) | (cols.decoration >= DECORATIONS.index(c.decoration))
    return masks


def hard_mask(
    cols: Columns, plan: Plan, distance: np.ndarray | None = None, skip: tuple[str, ...] = ()
) -> np.ndarray:
    mask = np.ones(len(cols), dtype=bool)
    for name, part in filter_masks(cols, plan, distance, skip).items():
        if name not in skip:
            mask &= part
    return mask


def components(cols: Columns, plan: Plan, distance: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each part of the score as a share in [0, 1]; unstated criteria give full marks."""
    c, w, n = plan.criteria, plan.weights, len(cols)
    one = np.ones(n)
    out: dict[str, np.ndarray] = {}

    price = one.copy()
    if c.budget_max:
        over = np.clip((cols.price - c.budget_max) / (c.budget_max * w.budget_over), 0, 1)
        price = np.where(cols.price > c.budget_max, 1 - (1 - w.over_budget_floor) * over, price)
    if c.budget_min:
        under = np.clip((c.budget_min - cols.price) / (c.budget_min * w.budget_under), 0, 1)
        price = np.where(cols.price < c.budget_min, 1 - (1 - w.under_budget_floor) * under, price)
    out["price"] = price

    if plan.location:
        if distance is None:
            distance = distances_km(cols, plan.centres)
        nearby = w.nearby_share * np.clip(1 - distance / w.radius_km, 0, 1)
        loc = np.where(isin(cols.district, plan.neighbours), w.neighbour_share, nearby)
        out["location"] = np.where(isin(cols.district, plan.chosen), 1.0, loc)
    else:
        out["location"] = one

    rooms = one.copy()
    if c.bedrooms_max is not None:
        rooms = np.where(cols.bedrooms > c.bedrooms_max, w.extra_bedroom_share, rooms)
    if c.bedrooms_min is not None:
        rooms = np.where(cols.bedrooms < c.bedrooms_min, 0.0, rooms)
    out["rooms"] = rooms

    area = one.copy()
    if c.area_min:
        short = np.clip((c.area_min - cols.area) / (c.area_min * w.area_tolerance), 0, 1)
        area = np.where(cols.area < c.area_min, 1 - 0.6 * short, area)
    if c.area_max:
        extra = np.clip((cols.area - c.area_max) / (c.area_max * w.area_tolerance), 0, 1)
        area = np.where(cols.area > c.area_max, 1 - 0.4 * extra, area)
    out["area"] = area

    move = one.copy()
    if c.move_in_by:
        wanted = c.move_in_by.toordinal()
        late = np.clip((cols.available - wanted) / max(w.move_in_grace_days, 1), 0, 1)
        move = np.where(cols.available > wanted, 1 - (1 - w.late_move_in_floor) * late, move)
        move = np.where(cols.available == NO_DATE, w.unknown_share, move)
    out["move_in"] = move

    parts: list[np.ndarray] = []
    for slug in c.must_have:
        parts.append(((cols.features & feature_bit(slug)) != 0).astype(float))
    if c.pets:
        parts.append(np.select([cols.pets == 1, cols.pets == -1], [1.0, w.unknown_share], 0.0))
    if c.furnished is not None:
        if not c.furnished:
            parts.append(np.select([cols.furnished == 0, cols.furnished == -1], [1.0, w.unknown_share], 0.0))
        elif c.partly_furnished:  # partly is what was asked: fully furnished is as good
            parts.append(np.select([cols.furnished >= 1, cols.furnished == -1], [1.0, w.unknown_share], 0.0))
        else:  # fully furnished asked: partly counts like not knowing
            parts.append(np.select([cols.furnished == 1, cols.furnished == -1, cols.furnished == PARTLY],
                                   [1.0, w.unknown_share, w.unknown_share], 0.0))
    out["features"] = np.mean(parts, axis=0) if parts else one
    return out


def feedback_hits(cols: Columns, plan: Plan) -> np.ndarray:
    """How many rejected listings each candidate resembles, in the way the customer disliked them."""
    hits = np.zeros(len(cols), dtype=np.int32)
    for fb in plan.feedback:
        same_kind = (cols.deal == fb.deal) & (cols.ptype == fb.ptype)
        if fb.reason == "too_far":
            similar = cols.district == fb.district
            if len(plan.chosen):
                similar &= ~isin(cols.district, plan.chosen)
        elif fb.reason == "too_expensive":
            similar = same_kind & (cols.price >= fb.price * 0.95)
        elif fb.reason == "too_small":
            similar = same_kind & (cols.area <= fb.area * 1.05)
        elif fb.reason == "layout":
            similar = same_kind & (cols.bedrooms == fb.bedrooms) & (np.abs(cols.area - fb.area) <= fb.area * 0.1)
        else:
            similar = (
                same_kind
                & (cols.district == fb.district)
                & (cols.bedrooms == fb.bedrooms)
                & (np.abs(cols.price - fb.price) <= fb.price * 0.1)
            )
        hits += similar.astype(np.int32)
    return hits


def scores(cols: Columns, plan: Plan, distance: np.ndarray | None = None) -> np.ndarray:
    """0-100 integer scores (feedback penalties included)."""
    w = plan.weights
    parts = components(cols, plan, distance)
    total = sum(getattr(w, name) * share for name, share in parts.items())
    total = total * (100.0 / w.total)
    if plan.feedback:
        total = total - np.minimum(feedback_hits(cols, plan) * w.feedback_penalty, w.feedback_penalty_cap)
    return np.clip(np.rint(total), 0, 100).astype(np.int64)


# Ranking sorts by the score, but a listing over the stated budget cap goes after every listing within it: the
# tolerance lets it be shown (with its ⚠️ line), never ahead of a home the customer can afford.
OVER_BUDGET_DROP = 101  # more than any score


def rank_keys(cols: Columns, plan: Plan, score: np.ndarray) -> np.ndarray:
    """What ranking sorts by (best first): the score, minus OVER_BUDGET_DROP over the budget cap."""
    cap = plan.criteria.budget_max
    if not cap:
        return score
    return score - OVER_BUDGET_DROP * (cols.price > cap).astype(np.int64)


def top_indices(score: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best, by score then newest id (stable across backends)."""
    if len(score) == 0 or k <= 0:
        return np.empty(0, dtype=np.int64)
    if len(score) > k:
        cut = np.partition(score, len(score) - k)[len(score) - k]
        keep = np.flatnonzero(score >= cut)
    else:
        keep = np.arange(len(score))
    order = np.lexsort((-ids[keep], -score[keep]))
    return keep[order[:k]]


Reason = tuple[str, dict[str, Any]]


def explain(cols: Columns, i: int, plan: Plan, distance: np.ndarray | None = None) -> tuple[list[Reason], list[Reason]]:
    """Reason and miss codes (with parameters) for row i."""
    c = plan.criteria
    reasons: list[Reason] = []
    misses: list[Reason] = []
    names = plan.district_names
    district = int(cols.district[i])
    deal = DEAL_TYPES[cols.deal[i]] if cols.deal[i] >= 0 else None
    price = float(cols.price[i])

    if plan.location:
        chosen_name = names.get(int(plan.chosen[0])) if len(plan.chosen) else (c.districts[0] if c.districts else "")
        if district in set(plan.chosen.tolist()):
            reasons.append(("loc_in", {"district": names.get(district, "")}))
        elif district in set(plan.neighbours.tolist()):
            reasons.append(("loc_neighbour", {"district": names.get(district, ""), "near": chosen_name}))
        else:
            d = distances_km(cols.take(np.array([i])), plan.centres)[0] if distance is None else distance[i]
            if np.isfinite(d):
                reasons.append(("loc_nearby", {"km": f"{d:.1f}", "near": chosen_name}))

    if c.budget_min or c.budget_max:
        params = {"price_value": price, "deal_type": deal}
        if c.budget_max and price > c.budget_max:
            misses.append(("price_over", {**params, "pct": max(1, round((price / c.budget_max - 1) * 100))}))
        elif c.budget_min and price < c.budget_min:
            reasons.append(("price_below", params))
        else:
            reasons.append(("price_within", params))

    beds = int(cols.bedrooms[i])
    if c.bedrooms_min is not None or c.bedrooms_max is not None:
        if c.bedrooms_max is not None and beds > c.bedrooms_max:
            reasons.append(("rooms_extra", {"n": beds}))
        elif beds == 0:
            reasons.append(("rooms_studio", {}))
        else:
            reasons.append(("rooms_match", {"n": beds}))

    if c.area_min or c.area_max:
        area = f"{float(cols.area[i]):.0f}"
        if c.area_min and cols.area[i] < c.area_min:
            misses.append(("area_small", {"area": area}))
        elif c.area_max and cols.area[i] > c.area_max:
            reasons.append(("area_large", {"area": area}))
        else:
            reasons.append(("area_ok", {"area": area}))

    if c.move_in_by:
        available = int(cols.available[i])
        if available == NO_DATE:
            misses.append(("move_in_unknown", {}))
        else:
            when = date.fromordinal(available).isoformat()
            wanted = c.move_in_by.toordinal()
            if available > wanted:
                misses.append(("move_in_late", {"date": when}))
            else:
                reasons.append(("move_in_ok", {"date": when}))

    for slug in c.must_have:
        if int(cols.features[i]) & feature_bit(slug):
            reasons.append(("feature_has", {"feature": slug}))
    if c.pets:
        if cols.pets[i] == 1:
            reasons.append(("pets_ok", {}))
        else:
            misses.append(("pets_unknown", {}))
    if c.furnished is not None:
        if cols.furnished[i] == -1:
            misses.append(("furnished_unknown", {}))
        elif cols.furnished[i] == PARTLY:
            if c.partly_furnished:
                reasons.append(("partly_furnished_ok", {}))
            else:
                misses.append(("partly_furnished", {}))
        else:
            reasons.append(("furnished_ok", {}) if c.furnished else ("unfurnished_ok", {}))
    if c.decoration in DECORATIONS:
        level = int(cols.decoration[i])
        if level == -1:
            misses.append(("decoration_unknown", {}))
        else:
            reasons.append(("decoration_ok", {"level": DECORATIONS[level]}))

    for fb in plan.feedback:
        if feedback_hits(cols.take(np.array([i])), Plan(**{**plan.__dict__, "feedback": [fb]}))[0]:
            misses.append(("feedback_similar", {"why": fb.reason}))
            break

    if not reasons:
        kind = PROPERTY_TYPES[cols.ptype[i]] if cols.ptype[i] >= 0 else "apartment"
        reasons.append(("kind", {"kind": kind, "deal": deal or "sale"}))
    return reasons, misses
