"""Showing stored message text in the console.

Customer and agent messages are stored as typed (plain text). The bot's own messages are Telegram HTML
(values already escaped), so for display they are turned back into plain text; the page then escapes whatever
it shows, so nothing a customer wrote is ever markup in the console.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]{0,200}>")


def display_text(text: str, sender: str, direction: str) -> str:
    if direction == "out" and sender in ("bot", "system"):
        return html.unescape(_TAG.sub("", text))
    return text
