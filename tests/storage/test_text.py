"""The one definition of a Chinese character: Unified Ideographs and Extension A, nothing between them."""

from __future__ import annotations

from storage.text import has_chinese, is_chinese


def test_chinese_characters_of_both_blocks_count() -> None:
    assert has_chinese("2 bedrooms in 望京") and has_chinese("㐀") and has_chinese("䶵") and has_chinese("鿿")
    assert is_chinese("朝阳区") and is_chinese("㐀一")


def test_other_writing_does_not() -> None:
    assert not has_chinese("Wangjing, 2br") and not has_chinese("")
    assert not has_chinese("䷀")  # a Yijing hexagram, between the two blocks
    assert not has_chinese("こんにちは") and not has_chinese("，。")
    assert not is_chinese("") and not is_chinese("朝阳 district")
