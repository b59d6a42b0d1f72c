"""Inline-button callback data: an aiogram CallbackData wrapping the dialog's reply token.

A press carries whatever the client sent, so unpacking trusts nothing: data we could not have produced
(too long, another format, a number no database id can be) is no token at all, and the engine answers it as
an expired button. Flows decode their own tokens (dialogs/tokens.py); this is the channel's generic check
in front of every flow, including those that read numbers from their tokens by hand.
"""

from __future__ import annotations

import re

from aiogram.filters.callback_data import CallbackData

from dialogs.replies import MAX_TOKEN_BYTES

# '|' is the separator because dialog tokens use ':' themselves ("menu:lang:zh").
SEPARATOR = "|"
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
INT64 = range(-(2**63), 2**63)
# What int() would read as a number: optional sign, digits (any script), underscores, surrounding spaces.
_NUMBER_LIKE = re.compile(r"\s*[+-]?\d[\d_]*\s*")


class ReplyButton(CallbackData, prefix="r", sep=SEPARATOR):
    """`r|<token>`: at most 2 + 48 bytes, well inside Telegram's 64-byte limit."""

    token: str


def pack_token(token: str) -> str:
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise ValueError(f"button token longer than {MAX_TOKEN_BYTES} bytes: {token!r}")
    return ReplyButton(token=token).pack()


def unpack_token(data: str | None) -> str | None:
    """The token inside callback data we produced, or None for anything else (stale format, forged)."""
    if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_BYTES:
        return None
    try:
        token = ReplyButton.unpack(data).token
    except (ValueError, TypeError):
        return None
    return token if plausible_token(token) else None


def plausible_token(token: str) -> bool:
    """Could a flow have drawn this token? Flows write database ids and small numbers in plain ASCII digits,
    so a ':'-separated field that reads as a number must be ASCII and fit a signed 64-bit integer: anything
    else (2**64, '²', full-width digits) would only reach the database as an overflow."""
    if not token or len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        return False
    for field in token.split(":"):
        if any(char.isdigit() and not char.isascii() for char in field):
            return False
        if _NUMBER_LIKE.fullmatch(field) and int(field) not in INT64:
            return False
    return True
