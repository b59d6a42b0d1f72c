"""The one definition of a Chinese character: Unified Ideographs and Extension A, nothing between them."""

from __future__ import annotations

from storage.text import has_chinese, is_chinese, written_language


def test_chinese_characters_of_both_blocks_count() -> None:
    assert has_chinese("2 bedrooms in 望京") and has_chinese("㐀") and has_chinese("䶵") and has_chinese("鿿")
    assert is_chinese("朝阳区") and is_chinese("㐀一")


def test_other_writing_does_not() -> None:
    assert not has_chinese("Wangjing, 2br") and not has_chinese("")
    assert not has_chinese("䷀")  # a Yijing hexagram, between the two blocks
    assert not has_chinese("こんにちは") and not has_chinese("，。")
    assert not is_chinese("") and not is_chinese("朝阳 district")


def test_the_written_language_is_told_only_when_it_is_clear() -> None:
    assert written_language("想在朝阳租一居室 预算六千以内") == "zh"
    assert written_language("我想租Wangjing的两居室") == "zh"
    assert written_language("2-bedroom to rent near Wangjing under 8k") == "en"
    for unclear in ("望京", "三里屯", "你好", "Wangjing", "ok", "8000", "2br 8k", "hello there", "", "R-WJ-201",
                    "Nice flat <b>really</b>", "Building 3, Sunny Garden"):
        assert written_language(unclear) is None, unclear
