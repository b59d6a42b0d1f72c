"""matching.owner_intent: an owner who wants to sell or let, told from someone looking for a home (both languages)."""

from __future__ import annotations

import pytest

from matching.parse import owner_intent, parse_need
from tests.matching.fixtures import beijing_index
from tests.matching.test_parse_input import TODAY


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to sell my flat in Chaoyang", "sell"),
        ("selling my 2 bedroom apartment in Haidian", "sell"),
        ("Can you help me sell my house?", "sell"),
        ("how much is my flat worth", "sell"),
        ("I'm the owner of a villa in Shunyi and would like to put it up for sale", "sell"),
        ("I'd like to rent out my 2 bedroom apartment", "let"),
        ("looking for tenants for my flat in Wangjing", "let"),
        ("I am a landlord with a studio in Sanlitun", "let"),
        ("we want to let our apartment", "let"),
        ("我想出租我的房子", "let"),
        ("出租我的两居室", "let"),
        ("出售我的房子，在朝阳", "sell"),
        ("我想把海淀的房子租出去", "let"),
        ("我是房东，朝阳有套两居", "let"),
        ("帮我找租客", "let"),
        ("我有一套房子想卖", "sell"),
        ("我家在通州有套房子想卖掉", "sell"),
        ("帮我卖房子", "sell"),
        ("我想卖房", "sell"),
    ],
)
def test_owners(text: str, intent: str) -> None:
    assert owner_intent(text) == intent


@pytest.mark.parametrize(
    "text",
    [
        "2-bed to rent in Wangjing",
        "For sale: 3br villa, Shunyi",  # how searchers describe what they want
        "want to buy a flat",
        "rent a flat near my office",
        "I want to rent my first apartment in Beijing",
        "朝阳出租两居",
        "我要租房",
        "房东直租 两居",  # a listing word, not an owner speaking
        "我家附近有没有出售的二手房",
        "我的预算500万想买出售的房子",
        "",
        "   ",
    ],
)
def test_searchers_are_not_owners(text: str) -> None:
    assert owner_intent(text) is None


def test_the_parser_never_turns_an_owner_into_a_search_silently() -> None:
    index = beijing_index()
    selling = parse_need("I want to sell my 2 bedroom flat in Chaoyang", index, TODAY)
    letting = parse_need("我想出租我的房子", index, TODAY)
    searching = parse_need("2 bedroom flat in Chaoyang for sale under 5 million", index, TODAY)
    assert "seller_intent" in selling.warnings and "landlord_intent" in letting.warnings
    assert not {"seller_intent", "landlord_intent"} & set(searching.warnings)


def test_not_a_string_is_not_an_owner() -> None:
    assert owner_intent(None) is None  # type: ignore[arg-type]
