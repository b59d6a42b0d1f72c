"""Phone numbers in one canonical form, so an owner's phone from a CSV matches the one a customer shares."""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")
# A mainland mobile number: 11 digits starting with 1 (13x, 15x, 18x, 19x, ...).
_MAINLAND_MOBILE = re.compile(r"^1\d{10}$")


def normalise_phone(raw: str | None) -> str:
    """Digits only, without the +86 / 0086 country prefix: '+86 138-0013-8000' -> '13800138000'.

    A bare '86' is only taken as a country code when what follows is a full mainland mobile number,
    so a landline such as '86123456' keeps its digits.
    """
    if not raw:
        return ""
    text = raw.strip()
    digits = _NON_DIGITS.sub("", text)
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("86") and (text.startswith("+") or _MAINLAND_MOBILE.match(digits[2:])):
        return digits[2:]
    return digits


def is_plausible_phone(digits: str) -> bool:
    """Long enough to be a real number (7-digit landline) and no longer than E.164 allows (15)."""
    return digits.isdigit() and 7 <= len(digits) <= 15
