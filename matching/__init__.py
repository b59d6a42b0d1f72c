"""Matching: understand what a customer asks for and rank listings fast, with reasons in both languages.

Public API:
    parse_need(text, index, today, levels=None) -> Criteria
    owner_intent(text) -> 'sell' | 'let' | None                    (an owner, not a searcher)
    await load_price_levels(session, index, usd_cny) -> PriceLevels (what homes cost, per city)
    DistrictIndex.build(rows), index.resolve(text), index.find_in_text(text), index.neighbours(name)
    await load_district_index(session) -> DistrictIndex            (cached, refreshed on change)
    await find_matches(session, criteria, top=10, customer_id=None, index=None) -> list[Match]
    await explain_no_results(session, criteria) -> list[Relaxation]
    render(code, lang, **params) -> str                            (reason, miss and warning texts)
"""

from matching.criteria import CONTRACT_KEYS, Criteria
from matching.districts import DistrictIndex, Resolution, load_district_index
from matching.levels import DEFAULT_LEVELS, PriceLevels
from matching.owner_intent import owner_intent
from matching.parse import parse_need
from matching.rank import Match, Relaxation, count_matches, explain_no_results, find_matches
from matching.reasons import render
from matching.snapshot import load_price_levels
from matching.weights import DEFAULT_WEIGHTS, Weights

__all__ = [
    "CONTRACT_KEYS",
    "DEFAULT_LEVELS",
    "DEFAULT_WEIGHTS",
    "Criteria",
    "DistrictIndex",
    "Match",
    "PriceLevels",
    "Relaxation",
    "Resolution",
    "Weights",
    "count_matches",
    "explain_no_results",
    "find_matches",
    "load_district_index",
    "load_price_levels",
    "owner_intent",
    "parse_need",
    "render",
]
