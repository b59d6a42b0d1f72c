"""`homedesk match --json`: the contract keys are all still there, with issue 15's keys added beside them."""

from __future__ import annotations

import json
from datetime import date

from matching.cli import run_match
from matching.criteria import ADDED_KEYS, CONTRACT_KEYS
from tests.matching.seed import listing, seed_districts

TODAY = date(2026, 1, 15)


async def _seed(any_sessions) -> None:
    async with any_sessions() as session:
        d = await seed_districts(session)
        session.add_all([
            listing(d, ref_code="FINE", price=14000, furnished=True, partly_furnished=True, decoration="fine"),
            listing(d, ref_code="BARE", price=9000, furnished=False, decoration="bare"),
            listing(d, ref_code="SALE", deal_type="sale", price=5_000_000),
        ])
        await session.commit()


async def test_contract_keys_stay_and_new_keys_are_added(any_sessions) -> None:
    await _seed(any_sessions)
    text = "朝阳两居 $2000 精装 部分家具"
    out = json.loads(await run_match(any_sessions, text, None, 5, True, today=TODAY, usd_cny=7.2))
    criteria = out["criteria"]
    assert list(criteria)[: len(CONTRACT_KEYS)] == list(CONTRACT_KEYS)  # contract keys first, in contract order
    assert set(ADDED_KEYS) <= set(criteria)
    assert (criteria["deal_type"], criteria["deal_type_inferred"]) == ("rent", True)
    assert (criteria["budget_max"], criteria["currency"]) == (14400, "CNY")  # compared in CNY ...
    assert (criteria["currency_stated"], criteria["budget_stated_max"], criteria["exchange_rate"]) == ("USD", 2000, 7.2)
    assert (criteria["decoration"], criteria["furnished"], criteria["partly_furnished"]) == ("fine", True, True)
    assert [r["ref_code"] for r in out["results"]] == ["FINE"]  # bare is worse than asked; a sale is no rent
    assert "Finely decorated" in out["results"][0]["reasons"]


async def test_deal_flag_overrides_an_inferred_deal_type(any_sessions) -> None:
    await _seed(any_sessions)
    out = json.loads(await run_match(any_sessions, "朝阳两居 9000", "sale", 5, True, today=TODAY))
    assert (out["criteria"]["deal_type"], out["criteria"]["deal_type_inferred"]) == ("sale", None)


async def test_the_table_says_what_was_inferred_and_questioned(any_sessions) -> None:
    await _seed(any_sessions)
    text = await run_match(any_sessions, "朝阳 9999999999 bedrooms 9000", None, 5, False, today=TODAY)
    first = text.splitlines()[0]
    assert first.startswith("Understood: rent (from the budget), Chaoyang, budget ≤ 9,000")
    assert "Note: bedrooms '9999999999 bedrooms' looks wrong and was not used" in text
