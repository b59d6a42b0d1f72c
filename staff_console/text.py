"""Showing stored message text in the console: the rule is `storage.text.plain_text` (the inbox rows use it too)."""

from __future__ import annotations

from storage.text import plain_text as display_text

__all__ = ["display_text"]
