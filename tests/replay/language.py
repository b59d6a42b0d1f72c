"""Is this text in English, or in Chinese, without the other script mixed in?

English text must have no Chinese character (storage.text's CHINESE_CHARACTER, the one definition). Chinese text
must have no English word (a label such as "10:00" or "50 m²–80 m²" has neither, and is fine), except what is
not a word of either language: reference codes (R-WJ-201, R-2026-000001), units (m², CNY, km), commands
(/start), web addresses, e-mail addresses, phone numbers, the product's name, each language's own name (the
language picker shows "English" and "简体中文" to everyone), and the names a caller allows (people, projects,
addresses and descriptions that the data has in one language only). Used by the replay runner for every bot
message and by the catalogue test for every msgid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dialogs.standard import LANGUAGE_NAMES
from storage.text import CHINESE_CHARACTER

# Latin tokens that are not English words: they may stand in Chinese text.
BRAND = ("Homedesk", "Telegram")
UNITS = ("m²", "m2", "㎡", "CNY", "RMB", "USD", "km", "m", "kg", "h", "min")
# Chinese characters count as word characters for \b, so ASCII edges are spelled out: "看R-WJ-201公寓".
_A, _Z = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
_NOT_WORDS = [
    r"https?://\S+",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
    r"/[a-z_]+",  # /start, /language
    _A + r"[A-Z]{1,4}(?:-[A-Z0-9]+)+" + _Z,  # R-WJ-201, R-2026-000001, C-2026-000001, S-HD-301
    _A + r"[A-Z]\d+" + _Z,  # A1, B12: flat and building numbers
    _A + r"\d+[A-Z]?" + _Z,  # 1201, 3B (not 8k: Chinese counts in 万)
    r"#\d+",
]
_NOT_WORDS_RE = re.compile("|".join(f"(?:{p})" for p in _NOT_WORDS))
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
_HAN = re.compile(f"{CHINESE_CHARACTER}+")


def _strip_allowed(text: str, names: Iterable[str]) -> str:
    # Longest first, so "Sunny Garden 3-1201" goes before "Sunny Garden".
    for name in sorted({*names, *BRAND, *LANGUAGE_NAMES.values()}, key=len, reverse=True):
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
    return [f"English words in Chinese text: {', '.join(words)}"] if words else []
