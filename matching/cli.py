"""`homedesk match --text "…" [--deal rent|sale] [--top N] [--json]`: parsed criteria and ranked results."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from matching.criteria import Criteria
from matching.districts import load_district_index
from matching.parse import parse_need
from matching.rank import Match, explain_no_results, find_matches
from matching.reasons import render
from matching.snapshot import load_price_levels
from storage import clock


async def run_match(
    session_factory: async_sessionmaker[AsyncSession],
    text: str,
    deal: str | None,
    top: int,
    as_json: bool,
    today: date | None = None,
    usd_cny: float | None = None,
) -> str:
    """The command's whole output. `deal` (from --deal) overrides what the text says; `usd_cny` is the setting
    USD_CNY_RATE (budgets written in dollars are converted at it)."""
    async with session_factory() as session:
        index = await load_district_index(session)
        levels = await load_price_levels(session, index, usd_cny)
        criteria = parse_need(text, index, today or clock.now().date(), levels)
        if deal:
            criteria.deal_type = deal
            criteria.deal_type_inferred = None
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
    for field, words in criteria.questioned.items():
        lines.append(f"Note: {field} '{words}' looks wrong and was not used")
    for said, candidates in criteria.district_candidates.items():
        lines.append(f"Note: '{said}' could be {' or '.join(candidates)}")
    if not matches:
        lines.append("No matching listings.")
        lines += [f"  {r.message_en}" for r in relaxations if r.results]
        return "\n".join(lines)
    lines.append(table(matches))
    return "\n".join(lines)


def describe(criteria: Criteria) -> str:
    """One line of what was understood, e.g. 'rent, Chaoyang, budget ≤ 8,000, 2 bedrooms'."""
    c = criteria
    parts = [(c.deal_type or "") + (" (from the budget)" if c.deal_type_inferred else ""),
             "/".join(c.property_types), "/".join(c.districts)]
    parts.append(_range("budget", c.budget_min, c.budget_max))
    if c.currency:
        parts.append(c.currency)
    if c.currency_stated and c.currency_stated != c.currency and c.exchange_rate:
        stated = _range(c.currency_stated, c.budget_stated_min, c.budget_stated_max).replace(" ", " $", 1)
        parts.append(f"from {stated} at {c.exchange_rate:g}")
    if c.decoration:
        parts.append(f"decoration {c.decoration}")
    parts.append(_range("bedrooms", c.bedrooms_min, c.bedrooms_max))
    parts.append(_range("m²", c.area_min, c.area_max))
    if c.move_in_by:
        parts.append(f"move in by {c.move_in_by.isoformat()}")
    if c.must_have:
        parts.append("with " + ", ".join(c.must_have))
    if c.exclude:
        parts.append("without " + ", ".join(c.exclude))
    if c.furnished is not None:
        parts.append(("partly furnished" if c.partly_furnished else "furnished") if c.furnished else "unfurnished")
    if c.pets is not None:
        parts.append("pets" if c.pets else "no pets")
    said = [p for p in parts if p]
    return ", ".join(said) if said else "nothing specific"


def _range(label: str, low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return f"{label} {low:,.0f}" if low == high else f"{label} {low:,.0f}-{high:,.0f}"
    return f"{label} ≥ {low:,.0f}" if low is not None else f"{label} ≤ {high:,.0f}"


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
