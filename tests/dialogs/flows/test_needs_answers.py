"""Bare typed answers in the needs intake read numbers the way the sentence parser does (matching.numbers)."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.flows import needs
from matching.criteria import Criteria
from matching.districts import DistrictIndex

INDEX = DistrictIndex.build([])
TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(("text", "amount"), [
    ("8000", 8000), ("8,000", 8000), ("¥8k", 8000), ("8.5k", 8500), ("1.2w", 12000), ("300万", 3_000_000),
    ("一万二", 12000), ("八千", 8000), ("3千元", 3000), ("2m", 2_000_000), ("8000 rmb", 8000),
])
def test_a_bare_budget_is_read_with_its_multiplier(text: str, amount: float) -> None:
    criteria = Criteria()
    assert needs._read_budget(text, criteria, INDEX, TODAY)
    assert criteria.budget_max == amount


@pytest.mark.parametrize("text", ["cheap", "8,5", "-", "8000 per week please"])
def test_what_is_not_one_number_is_not_a_budget(text: str) -> None:
    assert not needs._read_budget(text, Criteria(), INDEX, TODAY)


@pytest.mark.parametrize(("text", "low", "high"), [
    ("2", 2, 2), ("两室", 2, 2), ("三居", 3, 3), ("4+", 4, None), ("一", 1, 1), ("五房", 5, 5),
])
def test_a_bare_bedroom_count(text: str, low: int, high: int | None) -> None:
    criteria = Criteria()
    assert needs._read_rooms(text, criteria, INDEX, TODAY)
    assert (criteria.bedrooms_min, criteria.bedrooms_max) == (low, high)
