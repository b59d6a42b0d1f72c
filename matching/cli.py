"""`homedesk match --text "…" [--deal rent|sale] [--top N] [--json]`: parsed criteria and ranked results."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from matching.criteria import Criteria
from matching.districts import load_district_index
from matching.parse import parse_need
from matching.rank import Match, explain_no_results, find_matches
from matching.reasons import render
from storage import clock


async def run_match(
    session_factory: Any,
    text: str,
    deal: str | None,
    top: int,
    as_json: bool,
    today: date | None = None,
) -> str:
    """The command's whole output. `deal` (from --deal) overrides what the text says."""
    async with session_factory() as session:
        index = await load_district_index(session)
        criteria = parse_need(text, index, today or clock.now().date())
        if deal:
            criteria.deal_type = deal
            if "deal_type_ambiguous" in criteria.warnings:
                criteria.warnings.remove("deal_type_ambiguous")
        matches = await find_matches(session, criteria, top=top, index=index)
        if as_json:
            return json.dumps(
                {"criteria": criteria.to_json(), "results": [m.to_json() for m in matches]},
                ensure_ascii=False,
            )
        relaxations = [] if matches else await explain_no_results(session, criteria, index=index)
    lines = ["Understood: " + describe(criteria)]
    lines += [f"Note: {render(code, 'en')}" for code in criteria.warnings]
    for said, candidates in criteria.district_candidates.items():
        lines.append(f"Note: '{said}' could be {' or '.join(candidates)}")
    if not matches:
        lines.append("No matching listings.")
        lines += [f"  {r.message_en}" for r in relaxations if r.results]
        return "\n".join(lines)
    lines.append(table(matches))
    return "\n".join(lines)


def describe(criteria: Criteria) -> str:
    stated = {k: v for k, v in criteria.to_json().items() if v not in (None, [], {}) and k in _LABELS}
    if not stated:
        return "nothing specific"
    return ", ".join(f"{_LABELS[k]} {_show(v)}" for k, v in stated.items())


_LABELS = {
    "deal_type": "deal", "property_types": "type", "districts": "districts", "budget_min": "budget from",
    "budget_max": "budget up to", "currency": "currency", "bedrooms_min": "bedrooms from",
    "bedrooms_max": "bedrooms up to", "area_min": "m² from", "area_max": "m² up to", "move_in_by": "move in by",
    "must_have": "must have", "furnished": "furnished", "pets": "pets", "exclude": "without",
}


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def table(matches: list[Match]) -> str:
    header = ("#", "ref", "score", "listing", "district", "price", "beds", "m²", "why")
    rows = [
        (
            str(n),
            m.ref_code,
            str(m.score),
            f"{m.property_type or ''} {m.deal_type or ''}".strip(),
            m.district,
            f"{m.price:,.0f}",
            str(m.bedrooms),
            f"{m.area_m2:.0f}",
            "; ".join(m.reasons[:3] + [f"but: {miss}" for miss in m.misses[:1]]),
        )
        for n, m in enumerate(matches, 1)
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *rows]:
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    return "\n".join(out)
