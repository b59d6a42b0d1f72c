"""Inline-button callback data: an aiogram CallbackData wrapping the dialog's reply token."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from dialogs.replies import MAX_TOKEN_BYTES

# '|' is the separator because dialog tokens use ':' themselves ("menu:lang:zh").
SEPARATOR = "|"


class ReplyButton(CallbackData, prefix="r", sep=SEPARATOR):
    """`r|<token>`: at most 2 + 48 bytes, well inside Telegram's 64-byte limit."""

    token: str


def pack_token(token: str) -> str:
    if len(token.encode()) > MAX_TOKEN_BYTES:
        raise ValueError(f"button token longer than {MAX_TOKEN_BYTES} bytes: {token!r}")
    return ReplyButton(token=token).pack()


def unpack_token(data: str | None) -> str | None:
    """The token inside callback data we produced, or None for anything else (stale format, forged)."""
    if not data:
        return None
    try:
        return ReplyButton.unpack(data).token
    except (ValueError, TypeError):
        return None
