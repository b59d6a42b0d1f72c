"""Bad and odd input never breaks parsing; numbers, dates and districts in their many spellings."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.criteria import Criteria
from matching.numbers import cn_to_number, to_number
from matching.parse import MAX_CHARS, parse_need
from tests.matching.fixtures import beijing_index

TODAY = date(2026, 1, 15)
INDEX = beijing_index()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "😀😀😀🏠🏠",
        "<script>alert('x')</script>",
        "<b></b><i></i>",
        "'; DROP TABLE listings; --",
        "1=1 OR 'a'='a'",
        "SELECT * FROM listings WHERE 1=1",
        "a" * 10_000,
        "🙂" * 10_000,
        "\x00\x01\x02",
        "hello, how are you?",
        "你好",
    ],
)
def test_junk_gives_empty_criteria(text: str) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert criteria.to_json() == {
        **Criteria().to_json(),
        **({"warnings": criteria.warnings} if criteria.warnings else {}),
    }
    assert set(criteria.warnings) <= {"text_truncated"}


def test_very_long_real_text_is_cut_with_a_warning() -> None:
    text = "rent 2br in Chaoyang under 8000. " + "blah " * 2000
    criteria = parse_need(text, INDEX, TODAY)
    assert len(text) > MAX_CHARS
    assert criteria.warnings == ["text_truncated"]
    assert (criteria.deal_type, criteria.districts, criteria.budget_max) == ("rent", ["Chaoyang"], 8000)


def test_html_around_a_real_need_is_ignored() -> None:
    criteria = parse_need("<p>rent <b>2br</b> in <i>Haidian</i></p>", INDEX, TODAY)
    assert (criteria.deal_type, criteria.districts, criteria.bedrooms_min) == ("rent", ["Haidian"], 2)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [("budget 9000-5000", 5000, 9000), ("预算9000到5000", 5000, 9000), ("rent 9k-5k", 5000, 9000)],
)
def test_contradictory_budget_is_normalised_with_a_warning(text: str, low: float, high: float) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert (criteria.budget_min, criteria.budget_max) == (low, high)
    assert "budget_swapped" in criteria.warnings


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_without_raising(text: str) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert "not_understood" not in criteria.warnings
    if criteria.budget_min is not None and criteria.budget_max is not None:
        assert criteria.budget_min <= criteria.budget_max
    assert all(d in INDEX.names for d in criteria.districts)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "rent",
                "买",
                "2br",
                "两居",
                "8k",
                "万",
                "朝阳",
                "Haidan",
                "平",
                "-",
                "~",
                "以内",
                "no",
                "不要",
                "pets",
                "3月",
                "next month",
                " ",
                ",",
                "9",
                "0",
                "一万二",
            ]
        ),
        max_size=20,
    )
)
def test_need_shaped_noise_parses_without_raising(words: list[str]) -> None:
    parse_need("".join(words), INDEX, TODAY)


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("8000", 8000),
        ("8,000", 8000),
        ("1.5", 1.5),
        ("一万二", 12000),
        ("三千五", 3500),
        ("两万", 20000),
        ("八百万", 8_000_000),
        ("一亿二千万", 120_000_000),
        ("十二", 12),
        ("二十", 20),
        ("一百二", 120),
        ("two", 2),
    ],
)
def test_numbers(token: str, value: float) -> None:
    assert to_number(token) == value


def test_not_numbers() -> None:
    assert cn_to_number("朝阳") is None
    assert to_number("") is None
    assert to_number("abc") is None


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("8000", None, 8000),
        ("budget 8k", None, 8000),
        ("¥8000", None, 8000),
        ("8,000 per month", None, 8000),
        ("5k-7k", 5000, 7000),
        ("800万", None, 8_000_000),
        ("1.2亿", None, 120_000_000),
        ("一万二", None, 12000),
        ("under 3 million", None, 3_000_000),
        ("5000以下", None, 5000),
        ("5000左右", 4500, 5500),
        ("at least 6000", 6000, None),
        ("6000以上", 6000, None),
        ("1万2", None, 12000),
        ("年租12万", None, 10000),
    ],
)
def test_budget_forms(text: str, low: float | None, high: float | None) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert (criteria.budget_min, criteria.budget_max) == (low, high)


def test_rent_per_month_vs_total_price() -> None:
    assert parse_need("8000 a month", INDEX, TODAY).deal_type == "rent"
    assert parse_need("总价800万", INDEX, TODAY).deal_type == "sale"
    # Issue 15: no deal word, so the budget's size decides, and the criteria say it was inferred.
    inferred = parse_need("8000", INDEX, TODAY)
    assert (inferred.deal_type, inferred.deal_type_inferred) == ("rent", True)
    assert parse_need("8000 a month", INDEX, TODAY).deal_type_inferred is None


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("move in March", date(2026, 3, 1)),
        ("next month", date(2026, 2, 1)),
        ("3月", date(2026, 3, 1)),
        ("下个月", date(2026, 2, 1)),
        ("2026-04-20", date(2026, 4, 20)),
        ("from January", TODAY),
        ("in December", date(2026, 12, 1)),
        ("3月15日", date(2026, 3, 15)),
        ("asap", TODAY),
        ("March 20th", date(2026, 3, 20)),
        ("1月10号", date(2027, 1, 10)),
    ],
)
def test_move_in_forms(text: str, when: date) -> None:
    assert parse_need(text, INDEX, TODAY).move_in_by == when


def test_may_is_a_month_only_with_a_preposition() -> None:
    assert parse_need("I may rent", INDEX, TODAY).move_in_by is None
    assert parse_need("move in May", INDEX, TODAY).move_in_by == date(2026, 5, 1)


def test_month_rent_word_is_not_a_month() -> None:
    assert parse_need("月租6000", INDEX, TODAY).move_in_by is None


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2br", 2, 2),
        ("2-bed", 2, 2),
        ("two bedrooms", 2, 2),
        ("两居", 2, 2),
        ("两室", 2, 2),
        ("2室1厅", 2, 2),
        ("studio", 0, 0),
        ("单间", 0, 0),
        ("3+ bedrooms", 3, None),
        ("三室以上", 3, None),
        ("2-3 bedrooms", 2, 3),
    ],
)
def test_bedroom_forms(text: str, low: int, high: int | None) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert (criteria.bedrooms_min, criteria.bedrooms_max) == (low, high)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("90 m2", 81, 99),
        ("90sqm", 81, 99),
        ("90㎡", 81, 99),
        ("90平", 81, 99),
        ("90平米", 81, 99),
        ("100平以上", 100, None),
        ("around 90", 81, 99),
        ("under 60 sqm", None, 60),
        ("80-100平", 80, 100),
    ],
)
def test_area_forms(text: str, low: float | None, high: float | None) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert (criteria.area_min, criteria.area_max) == (low, high)


@pytest.mark.parametrize(
    ("text", "must", "exclude", "pets", "furnished"),
    [
        ("pets allowed", [], [], True, None),
        ("no pets", [], [], False, None),
        ("可以养猫", [], [], True, None),
        ("furnished", [], [], None, True),
        ("unfurnished", [], [], None, False),
        ("带家具", [], [], None, True),
        ("with parking", ["parking"], [], None, None),
        ("有电梯", ["elevator"], [], None, None),
        ("near metro", ["near_metro"], [], None, None),
        ("近地铁", ["near_metro"], [], None, None),
        ("no balcony", [], ["balcony"], None, None),
        ("不要花园", [], ["garden"], None, None),
        ("don't need parking", [], [], None, None),
        ("不需要车位", [], [], None, None),
    ],
)
def test_must_haves_and_exclusions(text, must, exclude, pets, furnished) -> None:
    criteria = parse_need(text, INDEX, TODAY)
    assert (criteria.must_have, criteria.exclude, criteria.pets, criteria.furnished) == (must, exclude, pets, furnished)


def test_seller_is_flagged() -> None:
    criteria = parse_need("I want to sell my flat in Chaoyang", INDEX, TODAY)
    assert criteria.deal_type == "sale"
    assert "seller_intent" in criteria.warnings


def test_rent_and_buy_together_is_ambiguous() -> None:
    criteria = parse_need("rent or buy in Haidian", INDEX, TODAY)
    assert criteria.deal_type is None
    assert criteria.warnings == ["deal_type_ambiguous"]
