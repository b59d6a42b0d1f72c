"""Find and explain matches: SQL candidates, numpy filters and scores, fresh re-check of the winners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from matching import query
from matching.criteria import Criteria
from matching.districts import DistrictIndex, load_district_index
from matching.reasons import render
from matching.score import (
    ROW_FIELDS,
    Columns,
    Feedback,
    Plan,
    compile_plan,
    distances_km,
    explain,
    filter_masks,
    hard_mask,
    location_mask,
    rank_keys,
    scores,
    top_indices,
)
from matching.snapshot import snapshot_for
from matching.weights import DEFAULT_WEIGHTS, Weights
from storage.vocabulary import DEAL_TYPES, PROPERTY_TYPES

# Winners are re-read from the database; a few spares cover any that changed meanwhile.
_SPARE = 5
_ATTEMPTS = 3
CandidateSource = Literal["snapshot", "sql"]


@dataclass
class Match:
    listing_id: int
    ref_code: str
    score: int
    reasons: list[str]  # English
    reasons_zh: list[str]
    misses: list[str] = field(default_factory=list)
    misses_zh: list[str] = field(default_factory=list)
    reason_codes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    miss_codes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # For result cards and tables.
    deal_type: str | None = None
    property_type: str | None = None
    district: str = ""
    price: float = 0.0
    bedrooms: int = 0
    area_m2: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "ref_code": self.ref_code,
            "score": self.score,
            "reasons": self.reasons,
            "reasons_zh": self.reasons_zh,
            "misses": self.misses,
            "misses_zh": self.misses_zh,
        }


@dataclass
class Relaxation:
    """'Relaxing X alone would give N results' for one constraint the customer stated."""

    constraint: str  # budget | districts | bedrooms | area | must_have | move_in | property_types | pets | furnished
    results: int
    message_en: str
    message_zh: str


async def _feedback(session: AsyncSession, customer_id: int | None) -> list[Feedback]:
    if customer_id is None:
        return []
    rows = await query.fetch_all(session, query.customer_feedback(customer_id))
    return [
        Feedback(
            listing_id=r[0],
            reason=r[1],
            deal=DEAL_TYPES.index(r[2]) if r[2] in DEAL_TYPES else -1,
            ptype=PROPERTY_TYPES.index(r[3]) if r[3] in PROPERTY_TYPES else -1,
            district=r[4] if r[4] is not None else -1,
            price=float(r[5] or 0.0),
            area=float(r[6] or 0.0),
            bedrooms=int(r[7] or 0),
        )
        for r in rows
    ]


async def _candidates(session: AsyncSession, plan: Plan, source: CandidateSource) -> Columns:
    """The listings to filter and score.

    'snapshot' (default): every listing of the in-memory copy; numpy filters them in about a millisecond.
    'sql': ids from the covering index first. It reads the index alone, yet a broad need (all rentals under
    15,000: about 38,000 ids of 100,000) costs 13 ms in SQLite before any scoring, so it is the slower
    choice for broad needs and kept for comparison and for databases too big to copy.
    """
    snapshot = await snapshot_for(session)
    if source == "snapshot":
        return snapshot.active(plan.deal)
    text = (await query.fetch_all(session, query.candidate_ids(plan)))[0][0]
    ids = np.array(text.split(","), dtype=np.int64) if text else np.empty(0, dtype=np.int64)
    ids.sort()
    cols, missing = snapshot.lookup(ids)
    if len(missing):
        # Committed by someone else since the last probe: fetch them now rather than miss them.
        snapshot.note_changed(set(missing.tolist()))
        await snapshot.refresh(session)
        cols, _ = snapshot.lookup(ids)
    return cols


def _filtered(cols: Columns, plan: Plan) -> tuple[Columns, np.ndarray | None]:
    """Apply the hard filters, cheap comparisons first, distances only for the survivors."""
    cols = cols.take(np.flatnonzero(hard_mask(cols, plan, skip=("districts",))))
    if not plan.location:
        return cols, None
    distance = distances_km(cols, plan.centres)
    near = np.flatnonzero(location_mask(cols, plan, distance))
    return cols.take(near), distance[near]


def _localise(codes: list[tuple[str, dict[str, Any]]], index: DistrictIndex, lang: str) -> list[str]:
    out = []
    for code, params in codes:
        values = dict(params)
        for key in ("district", "near"):
            if key in values:
                values[f"{key}_zh"] = index.name_zh(values[key])
        out.append(render(code, lang, **values))
    return out


async def find_matches(
    session: AsyncSession,
    criteria: Criteria,
    top: int = 10,
    customer_id: int | None = None,
    index: DistrictIndex | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    source: CandidateSource = "snapshot",
) -> list[Match]:
    """The best `top` active listings for the criteria, best first, each with reasons in both languages."""
    if top <= 0:
        return []
    index = index or await load_district_index(session)
    plan = compile_plan(criteria, index, weights, await _feedback(session, customer_id))
    matches: list[Match] = []
    for _attempt in range(_ATTEMPTS):
        cols, distance = _filtered(await _candidates(session, plan, source), plan)
        score = scores(cols, plan, distance)
        best = top_indices(rank_keys(cols, plan, score), cols.ids, top + _SPARE)
        matches, stale = await _fresh_matches(session, plan, index, cols.ids[best], score[best], top)
        if stale:
            snapshot = await snapshot_for(session)
            snapshot.note_changed(stale)
        if not stale or len(matches) >= min(top, len(best)):
            break
    return matches[:top]


async def _fresh_matches(
    session: AsyncSession, plan: Plan, index: DistrictIndex, best_ids: np.ndarray, best_scores: np.ndarray, top: int
) -> tuple[list[Match], set[int]]:
    """Re-read the winners, re-check and re-score them; report ids whose cached copy was out of date."""
    if not len(best_ids):
        return [], set()
    ids = best_ids.tolist()
    rows = sorted(await query.fetch_all(session, query.rows_by_id(ids)), key=lambda r: r[0])
    details = {r[0]: r[len(ROW_FIELDS) :] for r in rows}
    fresh = Columns.from_rows(rows)
    distance = distances_km(fresh, plan.centres) if plan.location else None
    ok = hard_mask(fresh, plan, distance=distance)
    fresh_scores = scores(fresh, plan, distance)
    cached_scores = dict(zip(ids, best_scores.tolist(), strict=True))
    stale = set(ids) - set(fresh.ids.tolist())
    matches: list[Match] = []
    for i in np.lexsort((-fresh.ids, -rank_keys(fresh, plan, fresh_scores))):
        listing_id = int(fresh.ids[i])
        if not ok[i] or cached_scores.get(listing_id) != int(fresh_scores[i]):
            stale.add(listing_id)
        if not ok[i] or len(matches) >= top:
            continue
        reasons, misses = explain(fresh, int(i), plan, distance)
        ref_code, district_name = details[listing_id]
        matches.append(
            Match(
                listing_id=listing_id,
                ref_code=ref_code,
                score=int(fresh_scores[i]),
                reasons=_localise(reasons, index, "en"),
                reasons_zh=_localise(reasons, index, "zh"),
                misses=_localise(misses, index, "en"),
                misses_zh=_localise(misses, index, "zh"),
                reason_codes=reasons,
                miss_codes=misses,
                deal_type=DEAL_TYPES[fresh.deal[i]] if fresh.deal[i] >= 0 else None,
                property_type=PROPERTY_TYPES[fresh.ptype[i]] if fresh.ptype[i] >= 0 else None,
                district=index.by_id.get(int(fresh.district[i]), district_name or ""),
                price=float(fresh.price[i]),
                bedrooms=int(fresh.bedrooms[i]),
                area_m2=float(fresh.area[i]),
            )
        )
    return matches, stale


# Which parsed fields make up each relaxable constraint.
_CONSTRAINT_FILTERS = {
    "budget": "budget",
    "districts": "districts",
    "bedrooms": "bedrooms",
    "area": "area",
    "must_have": "must_have",
    "move_in": "move_in",
    "property_types": "property_types",
    "pets": "pets",
    "furnished": "furnished",
    "decoration": "decoration",
}


async def count_matches(session: AsyncSession, criteria: Criteria, index: DistrictIndex | None = None) -> int:
    """How many listings pass the hard filters (as of the snapshot)."""
    index = index or await load_district_index(session)
    plan = compile_plan(criteria, index)
    cols, _ = _filtered(await _candidates(session, plan, "snapshot"), plan)
    return len(cols)


async def explain_no_results(
    session: AsyncSession, criteria: Criteria, index: DistrictIndex | None = None
) -> list[Relaxation]:
    """For each stated constraint, how many listings relaxing it alone would give; most helpful first."""
    index = index or await load_district_index(session)
    plan = compile_plan(criteria, index)
    cols = await _candidates(session, plan, "snapshot")
    masks = filter_masks(cols, plan)
    out = []
    for constraint, name in _CONSTRAINT_FILTERS.items():
        if name not in masks:
            continue
        rest = np.ones(len(cols), dtype=bool)
        for other, mask in masks.items():
            if other != name:
                rest &= mask
        count = int(rest.sum())
        code = "relax" if count else "relax_none"
        out.append(
            Relaxation(
                constraint=constraint,
                results=count,
                message_en=render(code, "en", constraint=constraint, count=count),
                message_zh=render(code, "zh", constraint=constraint, count=count),
            )
        )
    return sorted(out, key=lambda r: -r.results)
