"""Every reason, miss, warning and relaxation text exists in English and Chinese."""

from __future__ import annotations

import pytest

from matching.reasons import MESSAGES, format_price, render
from storage.text import has_chinese

PARAMS = {
    "kind": "apartment",
    "deal": "rent",
    "district": "Chaoyang",
    "district_zh": "朝阳",
    "near": "Wangjing",
    "near_zh": "望京",
    "km": "3.2",
    "price_value": 7500.0,
    "deal_type": "rent",
    "n": 2,
    "area": "90",
    "date": "2026-03-01",
    "feature": "parking",
    "pct": 5,
    "why": "too_far",
    "constraint": "budget",
    "count": 3,
    "level": "fine",
}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_renders_in_both_languages(code: str) -> None:
    english, chinese = render(code, "en", **PARAMS), render(code, "zh", **PARAMS)
    assert english and chinese and english != chinese
    assert "{" not in english + chinese
    assert has_chinese(chinese)


def test_prices_read_naturally() -> None:
    assert format_price(7500, "rent", "en") == "¥7,500/month"
    assert format_price(7500, "rent", "zh") == "月租¥7,500"
    assert format_price(8_000_000, "sale", "en") == "¥8,000,000"
    assert format_price(8_000_000, "sale", "zh") == "¥8,000,000（800万）"
    assert format_price(8_055_000, "sale", "zh") == "¥8,055,000（805.5万）"
