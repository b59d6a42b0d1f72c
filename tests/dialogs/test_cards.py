"""Listing cards: escaping, both languages, Telegram's caption limit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dialogs.cards import CAPTION_LIMIT, card_text, details_text, when
from storage.models import Listing


def _listing(**overrides) -> Listing:
    values = dict(ref_code="R-<1>", deal_type="rent", property_type="apartment", city="Beijing",
                  district_name="Wangjing", address="1 <Main> & Co", price=Decimal(7800), bedrooms=2, area_m2=78.5,
                  floor=12, floors_total=25, available_from=date(2026, 3, 1), furnished=True, pets_allowed=False,
                  features=["elevator", "near_metro"], description="<script>alert(1)</script> sunny & quiet")
    values.update(overrides)
    return Listing(**values)


def test_card_in_english_escapes_everything_from_the_listing() -> None:
    text = card_text("en", _listing(), reasons=["In Wangjing <3"], misses=["12% over budget"], position=(1, 4))
    assert text.startswith("<b>Apartment in Wangjing</b> · R-&lt;1&gt;  (1/4)")
    assert "¥7,800/month" in text and "78.5 m² · 2 bedrooms" in text and "Floor 12 of 25" in text
    assert "Available from 2026-03-01" in text and "✅ In Wangjing &lt;3" in text and "⚠️ 12% over budget" in text


def test_card_in_chinese_uses_chinese_names() -> None:
    text = card_text("zh", _listing(), reasons=["位于望京"], names_zh={"Wangjing": "望京"})
    assert text.startswith("<b>望京公寓</b>") and "月租¥7,800" in text and "78.5平米 · 2室" in text
    assert "第12层（共25层）" in text and "推荐理由：" in text


def test_details_show_the_description_literally() -> None:
    text = details_text("en", _listing())
    assert "&lt;script&gt;alert(1)&lt;/script&gt; sunny &amp; quiet" in text
    assert "1 &lt;Main&gt; &amp; Co" in text and "Elevator, Near the metro, Furnished" in text


def test_long_cards_fit_a_caption_without_cutting_a_tag() -> None:
    text = card_text("en", _listing(), reasons=["x" * 400] * 4, misses=["y" * 300] * 3)
    assert len(text) <= CAPTION_LIMIT and text.endswith("…") and text.count("<b>") == text.count("</b>")


def test_times_are_local() -> None:
    at = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    shanghai = ZoneInfo("Asia/Shanghai")
    assert when("en", at, shanghai) == "Wed 4 Mar, 10:00" and when("zh", at, shanghai) == "3月4日 周三 10:00"
