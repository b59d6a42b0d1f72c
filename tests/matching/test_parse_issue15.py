"""Issue 15 §1: every form the issue names, and each number it says was read wrong, read right or questioned."""

from __future__ import annotations

import pytest

from matching.levels import DEFAULT_LEVELS, PriceLevels, levels_from_listings
from matching.parse import parse_need
from tests.matching.fixtures import beijing_index
from tests.matching.test_parse_input import TODAY

INDEX = beijing_index()


def parse(text: str, levels: PriceLevels | None = None):
    return parse_need(text, INDEX, TODAY, levels)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("between 5000 and 8000", 5000, 8000),
        ("between 5k and 8k a month", 5000, 8000),
        ("5000 to 8000", 5000, 8000),
        ("from 6000", 6000, None),
        ("at least 6000", 6000, None),
        ("no more than 8000", None, 8000),
        ("not over 8000 yuan", None, 8000),
        ("at most 8000 RMB", None, 8000),
        ("8000 tops", None, 8000),
        ("max 8000", None, 8000),
        ("8000 max", None, 8000),
        ("≤ 8000", None, 8000),
        ("up to 8000 CNY", None, 8000),
        ("below 8000", None, 8000),
        ("8000以内", None, 8000),
        ("8000以下", None, 8000),
        ("不超过8000元", None, 8000),
        ("最多8000块", None, 8000),
        ("8000左右", 7200, 8800),
        ("¥8000", None, 8000),
        ("8k", None, 8000),
        ("1.2w", None, 12000),
        ("0.8w", None, 8000),
        ("800万", None, 8_000_000),
        ("8千", None, 8000),
        ("三千二", None, 3200),
        ("一万二", None, 12000),
        ("8千5", None, 8500),  # was 8000
        ("三点五亿", None, 350_000_000),  # was 3
        ("五六千", 5000, 6000),
        ("首付100万 总价350万", None, 3_500_000),  # the down payment is not the budget
    ],
)
def test_budget_forms(text: str, low: float | None, high: float | None) -> None:
    criteria = parse(text)
    assert (criteria.budget_min, criteria.budget_max) == (low, high)
    assert not criteria.questioned


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("-5000", "budget"),  # was 5000
        ("budget 1e309", "budget"),  # was ¥1
        ("9999999999 bedrooms", "bedrooms"),  # was a budget and 9 bedrooms
        ("15 bedrooms", "bedrooms"),
        ("budget ¥3", "budget"),
        ("rent, 80000000 per month", "budget"),
        ("2 sqm", "area"),
        ("90000 sqm", "area"),
    ],
)
def test_numbers_that_cannot_be_right_are_questioned_not_taken(text: str, field: str) -> None:
    criteria = parse(text)
    assert field in criteria.questioned
    assert (criteria.budget_min, criteria.budget_max) == (None, None)
    assert (criteria.bedrooms_min, criteria.bedrooms_max, criteria.area_min, criteria.area_max) == (None,) * 4


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("3b2b", 3, 3), ("1br1ba", 1, 1), ("2bd/1ba", 2, 2), ("3 bed", 3, 3), ("studio", 0, 0), ("3室2厅", 3, 3),
     ("两室一厅", 2, 2), ("三居", 3, 3), ("studio or 1 bed", 0, 1), ("一房一厅", 1, 1)],
)
def test_room_forms(text: str, low: int, high: int) -> None:
    criteria = parse(text)
    assert (criteria.bedrooms_min, criteria.bedrooms_max) == (low, high)
    assert criteria.budget_max is None  # a room count is never money


def test_deal_type_from_the_budgets_size_and_only_then() -> None:
    assert (parse("2br Chaoyang 8000").deal_type, parse("2br Chaoyang 8000").deal_type_inferred) == ("rent", True)
    assert (parse("2br Chaoyang 800万").deal_type, parse("2br Chaoyang 800万").deal_type_inferred) == ("sale", True)
    assert parse("2br Chaoyang 300k").deal_type is None  # between a high rent and a low price: asked
    stated = parse("buy a 2br in Chaoyang, 8000")  # a deal word wins: not inferred (the budget is then asked)
    assert (stated.deal_type, stated.deal_type_inferred) == ("sale", None)


def test_dollars_are_converted_at_the_rate_given_and_kept_as_written() -> None:
    criteria = parse("2br under $2,000 a month", DEFAULT_LEVELS.with_rate(6.5))
    assert (criteria.budget_max, criteria.currency, criteria.currency_stated) == (13000, "CNY", "USD")
    assert (criteria.budget_stated_max, criteria.exchange_rate) == (2000, 6.5)


def test_levels_come_from_each_citys_listings() -> None:
    rows = [("rent", 900.0 + i * 10, 40.0, "Harbin") for i in range(50)]
    rows += [("sale", 300_000.0 + i * 10_000, 60.0, "Harbin") for i in range(50)]
    levels = levels_from_listings(rows, usd_cny=7.0)
    harbin = levels.for_city("Harbin")
    assert harbin.rent[1] < 1500 and harbin.sale[0] < 400_000 and harbin.usd_cny == 7.0
    assert levels.for_city("Beijing") is levels  # a city without listings of its own: all cities together
    assert harbin.deal_for(1200) == "rent" and harbin.deal_for(500_000) == "sale"


@pytest.mark.parametrize(
    ("text", "district"),
    [("朝杨 两居", "Chaoyang"), ("海店区 一居", "Haidian"), ("chao yang 2br", "Chaoyang"), ("hai dian", "Haidian"),
     ("石井山", "Shijingshan")],
)
def test_district_typos_by_sound(text: str, district: str) -> None:
    assert parse(text).districts == [district]


def test_a_rarer_reading_is_asked_not_assumed() -> None:
    criteria = parse("王京 两居")
    assert criteria.districts == [] and list(criteria.district_candidates.values()) == [["Wangjing"]]
    assert parse("大型小区 两居").district_candidates == {}  # an ordinary word is no district


@pytest.mark.parametrize(
    ("text", "decoration", "furnished", "partly"),
    [("精装两居", "fine", None, None), ("简装", "basic", None, None), ("毛坯房", "bare", None, None),
     ("newly renovated", "fine", None, None), ("bare shell", "bare", None, None),
     ("partly furnished", None, True, True), ("部分家具", None, True, True), ("fully furnished", None, True, None),
     ("不要毛坯", None, None, None)],
)
def test_decoration_and_partly_furnished(text, decoration, furnished, partly) -> None:
    criteria = parse(text)
    assert (criteria.decoration, criteria.furnished, criteria.partly_furnished) == (decoration, furnished, partly)
