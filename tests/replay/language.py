"""Is this text in English, or in Chinese, without the other script mixed in?

English text must have no Chinese character (storage.text.has_chinese, the one definition). Chinese text must
have Chinese characters and no English word, except what is not a word of either language: reference codes
(R-WJ-201, R-2026-000001), units (m², CNY, km), commands (/start), web addresses, e-mail addresses, phone
numbers, the product's name, and the names a caller allows (people, projects, buildings that have no Chinese
name in the data). Used by the replay runner for every bot message and by the catalogue test for every msgid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from storage.text import CHINESE_CHARACTER, has_chinese

# Latin tokens that are not English words: they may stand in Chinese text.
BRAND = ("Homedesk", "Telegram")
UNITS = ("m²", "m2", "㎡", "CNY", "RMB", "USD", "km", "m", "kg", "h", "min")
_NOT_WORDS = [
    r"https?://\S+",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
    r"/[a-z_]+",  # /start, /language
    r"\b[A-Z]{1,4}(?:-[A-Z0-9]+)+\b",  # R-WJ-201, R-2026-000001, C-2026-000001, S-HD-301
    r"\b[A-Z]\d+\b",  # A1, B12: flat and building numbers
    r"\b\d+[A-Za-z]?\b",  # 1201, 3B
    r"#\d+",
]
_NOT_WORDS_RE = re.compile("|".join(f"(?:{p})" for p in _NOT_WORDS))
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
_HAN = re.compile(f"{CHINESE_CHARACTER}+")


def _strip_allowed(text: str, names: Iterable[str]) -> str:
    # Longest first, so "Sunny Garden 3-1201" goes before "Sunny Garden".
    for name in sorted({*names, *BRAND}, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    return _NOT_WORDS_RE.sub(" ", text)


def latin_words(text: str, names: Iterable[str] = ()) -> list[str]:
    """English words left in text once names, codes, units and addresses are set aside."""
    return [word for word in _LATIN_WORD.findall(_strip_allowed(text, names)) if word not in UNITS]


def language_problems(text: str, language: str, names: Iterable[str] = ()) -> list[str]:
    """Why `text` is not plain `language` ('en' or 'zh'); an empty list when it is."""
    if language == "en":
        found = _HAN.findall(_strip_allowed(text, names))
        return [f"Chinese in English text: {', '.join(found)}"] if found else []
    if language != "zh":
        raise ValueError(f"unknown language {language!r}")
    words = latin_words(text, names)
    problems = [f"English words in Chinese text: {', '.join(words)}"] if words else []
    if not has_chinese(text) and re.search(r"[A-Za-z]", _strip_allowed(text, names)):
        problems.append("no Chinese at all")
    return problems
