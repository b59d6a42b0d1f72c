"""What counts as Chinese writing: the one definition, used from the CSV importers up to the dialogs.

A Chinese character is a CJK Unified Ideograph (U+4E00–U+9FFF) or one of Extension A (U+3400–U+4DBF, rarer
characters that still turn up in names). The block between them (U+4DC0–U+4DFF) holds the Yijing hexagram
symbols, which are not writing, so the two ranges are listed separately rather than as one span.
It lives in storage because the importers (the lowest layer that asks) need it; it imports nothing.
"""

from __future__ import annotations

import re

# A regular-expression class, for patterns that need to embed it.
CHINESE_CHARACTER = "[\u3400-\u4dbf\u4e00-\u9fff]"

_ANY = re.compile(CHINESE_CHARACTER)
_ONLY = re.compile(f"{CHINESE_CHARACTER}+")


def has_chinese(text: str) -> bool:
    """At least one Chinese character anywhere in the text."""
    return _ANY.search(text) is not None


def is_chinese(text: str) -> bool:
    """Non-empty and nothing but Chinese characters."""
    return _ONLY.fullmatch(text) is not None
