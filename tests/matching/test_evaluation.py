"""Issue 15 "Done when": the evaluation set is read at 97 % of fields or better, and no top-10 result breaks a
hard filter of what the customer actually asked for (deal type, budget cap) over a seeded Beijing."""

from __future__ import annotations

import random
from datetime import date

import pytest

from matching.evaluation import FIELDS, FILES, HOLDOUT, TODAY, evaluate, load
from matching.parse import parse_need
from matching.rank import find_matches
from matching.weights import DEFAULT_WEIGHTS
from tests.matching.fixtures import BEIJING, beijing_index
from tests.matching.seed import listing, seed_districts

INDEX = beijing_index()
TARGET = 0.97


def test_the_set_is_big_and_in_every_language() -> None:
    requests = load()
    assert len(requests) >= 200
    counts = {lang: sum(r.language == lang for r in requests) for lang in ("en", "zh", "mixed")}
    assert min(counts.values()) >= 40, counts
    assert len({r.text for r in requests}) == len(requests), "a request is listed twice"
    for request in requests:
        assert set(request.expect) <= set(FIELDS), (request.text, set(request.expect) - set(FIELDS))


def test_the_set_is_read_at_97_percent_of_fields() -> None:
    report = evaluate(INDEX, load((*FILES, HOLDOUT)))
    misses = "\n".join(f"{r.language}:{r.line} {r.text!r} {key}: expected {e!r}, got {g!r}"
                       for r, key, e, g in report.misses)
    assert report.accuracy >= TARGET, misses
    # Stricter: only the fields that were stated or read (an empty field read as empty is not counted).
    assert report.stated_accuracy >= TARGET, misses


def test_a_wrong_reading_counts_as_a_miss() -> None:
    """The measure can fail: a request whose expectation is wrong is reported on the fields it gets wrong."""
    request = load()[0]
    broken = type(request)(request.text, {**request.expect, "budget_max": 1}, request.language, request.line)
    report = evaluate(INDEX, [broken])
    assert [(key, expected) for _, key, expected, _ in report.misses] == [("budget_max", 1)]


# ---- hard filters over seeded listings ---------------------------------------------------------------------

RENTS = (2500, 3500, 4500, 5500, 6500, 7500, 8500, 9500, 11000, 13000, 16000, 20000, 28000, 40000, 55000)
PRICES = (1_200_000, 2_000_000, 2_800_000, 3_500_000, 4_500_000, 5_500_000, 6_500_000, 8_000_000, 9_500_000,
          11_000_000, 14_000_000, 20_000_000, 32_000_000)
KINDS = ("apartment", "apartment", "apartment", "house", "villa", "office", "shop")


async def _seed(session) -> None:
    rng = random.Random(15)
    districts = await seed_districts(session)
    rows = []
    for name, *_ in BEIJING:
        for deal, prices in (("rent", RENTS), ("sale", PRICES)):
            for price in prices:
                for bedrooms in (0, 1, 2, 3, 4):
                    kind = rng.choice(KINDS)
                    rows.append(listing(
                        districts, name, deal_type=deal, property_type=kind, price=price, bedrooms=bedrooms,
                        area_m2=float(30 + bedrooms * 30 + rng.randint(-10, 25)),
                        available_from=date(2026, rng.randint(1, 5), rng.randint(1, 28)),
                        furnished=rng.choice((True, False, None)), partly_furnished=None,
                        pets_allowed=rng.choice((True, False, None)),
                        decoration=rng.choice(("fine", "basic", "bare", None)),
                        features=rng.sample(["parking", "elevator", "near_metro", "balcony", "garden", "gym", "pool",
                                             "school", "south_facing"], rng.randint(0, 5)),
                    ))
    for row in rows[::7]:
        if row.furnished:
            row.partly_furnished = True
    session.add_all(rows)
    await session.commit()


async def test_no_top_10_breaks_a_hard_filter_of_what_was_asked(any_sessions) -> None:
    checked = results = 0
    violations = []
    async with any_sessions() as session:
        await _seed(session)
        for request in load((*FILES, HOLDOUT)):
            truth = request.expect
            if not (truth.get("deal_type") or truth.get("budget_max")):
                continue
            criteria = parse_need(request.text, INDEX, TODAY)
            matches = await find_matches(session, criteria, top=10, index=INDEX)
            checked += 1
            results += len(matches)
            cap = truth.get("budget_max")
            within = True
            for m in matches:
                if truth.get("deal_type") and m.deal_type != truth["deal_type"]:
                    violations.append(f"{request.text!r}: {m.ref_code} is a {m.deal_type}")
                if cap is not None and m.price > cap * (1 + DEFAULT_WEIGHTS.budget_over) + 0.5:
                    violations.append(f"{request.text!r}: {m.ref_code} costs {m.price:,.0f} over the cap {cap:,}")
                over = cap is not None and m.price > cap
                if over and not m.misses:
                    violations.append(f"{request.text!r}: {m.ref_code} is over the cap without saying so")
                if not over and not within:
                    violations.append(f"{request.text!r}: {m.ref_code} within the cap ranks after one over it")
                within = within and not over
    assert checked >= 150 and results >= 500, (checked, results)  # the check ran over real results
    assert violations == []


@pytest.mark.parametrize(("text", "deal"), [("2br in Chaoyang, 8000", "rent"), ("2br in Chaoyang, 800万", "sale")])
async def test_an_inferred_deal_type_filters_like_a_stated_one(any_sessions, text: str, deal: str) -> None:
    async with any_sessions() as session:
        await _seed(session)
        criteria = parse_need(text, INDEX, TODAY)
        assert (criteria.deal_type, criteria.deal_type_inferred) == (deal, True)
        matches = await find_matches(session, criteria, top=10, index=INDEX)
    assert matches and {m.deal_type for m in matches} == {deal}
