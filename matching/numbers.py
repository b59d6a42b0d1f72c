"""Numbers as customers type them: 8000, 8k, 8,000, 1.2亿, 800万, 一万二, 三千五, two."""

from __future__ import annotations

import re

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "".join(CN_DIGITS) + "".join(CN_SMALL_UNITS) + "".join(CN_BIG_UNITS)

EN_WORDS = {"zero": 0, "one": 1, "a": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5,
            "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}

# Multipliers written after a number; keys are lower-case.
SUFFIX_MULTIPLIERS = {
    "k": 1_000, "千": 1_000, "thousand": 1_000,
    "w": 10_000, "万": 10_000, "百万": 1_000_000, "千万": 10_000_000,
    "m": 1_000_000, "mn": 1_000_000, "mln": 1_000_000, "mil": 1_000_000, "million": 1_000_000,
    "亿": 100_000_000,
}


def _cn_section(text: str) -> float | None:
    """Value of a numeral below 10,000 ('三千五' = 3500, '十二' = 12, '二十' = 20)."""
    total = 0
    digit: int | None = None
    last_unit = 1
    for ch in text:
        if ch in CN_DIGITS:
            digit = CN_DIGITS[ch]
        elif ch in CN_SMALL_UNITS:
            unit = CN_SMALL_UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit = None
            last_unit = unit
        else:
            return None
    if digit is not None:
        # Colloquial '三千五' means 3500: a trailing digit counts one unit below the last one.
        total += digit * (last_unit // 10 if last_unit >= 10 else 1)
    return float(total)


def cn_to_number(text: str) -> float | None:
    """Parse a Chinese numeral ('一万二' = 12000, '1.2亿' handled by parse_amount); None if not one."""
    if not text or any(ch not in CN_NUMERAL_CHARS for ch in text):
        return None
    total = 0.0
    rest = text
    for big_char, big_value in (("亿", 100_000_000), ("万", 10_000)):
        if big_char in rest:
            head, rest = rest.split(big_char, 1)
            head_value = cn_to_number(head) if head else 1.0
            if head_value is None:
                return None
            total += head_value * big_value
            if rest and all(ch in CN_DIGITS for ch in rest) and len(rest) == 1:
                # '一万二' = 12000: a lone digit after 万 means thousands.
                return total + CN_DIGITS[rest] * big_value / 10
    if rest:
        section = _cn_section(rest)
        if section is None:
            return None
        total += section
    return total


_ARABIC = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")


def to_number(token: str) -> float | None:
    """A single number token: '8,000', '8000', '1.5', '一万二', 'two'."""
    token = token.strip().lower()
    if not token:
        return None
    if _ARABIC.match(token):
        return float(token.replace(",", ""))
    if token in EN_WORDS:
        return float(EN_WORDS[token])
    return cn_to_number(token)


def apply_suffix(value: float, suffix: str | None) -> float:
    if not suffix:
        return value
    return value * SUFFIX_MULTIPLIERS.get(suffix.lower(), 1)
