"""What counts as Chinese writing: the one definition, used from the CSV importers up to the dialogs.

A Chinese character is a CJK Unified Ideograph (U+4E00–U+9FFF) or one of Extension A (U+3400–U+4DBF, rarer
characters that still turn up in names). The block between them (U+4DC0–U+4DFF) holds the Yijing hexagram
symbols, which are not writing, so the two ranges are listed separately rather than as one span.
It lives in storage because the importers (the lowest layer that asks) need it; it imports nothing.

`written_language` answers the dialogs' question "which language is this customer writing in?", so a Chinese
speaker whose Telegram app reports English is answered in Chinese.
"""

from __future__ import annotations

import html
import re

# A regular-expression class, for patterns that need to embed it.
CHINESE_CHARACTER = "[\u3400-\u4dbf\u4e00-\u9fff]"

_ANY = re.compile(CHINESE_CHARACTER)
_ONLY = re.compile(f"{CHINESE_CHARACTER}+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# How much it takes to be sure. Fewer Chinese characters are a name (望京, 三里屯) or a greeting anyone may type;
# fewer English words are a name (Sunny Garden), a code (2br), an address or a short remark a Chinese speaker may
# well write in English ("nice flat really").
CHINESE_CHARACTERS_TO_BE_SURE = 4
ENGLISH_WORDS_TO_BE_SURE = 5


def has_chinese(text: str) -> bool:
    """At least one Chinese character anywhere in the text."""
    return _ANY.search(text) is not None


def is_chinese(text: str) -> bool:
    """Non-empty and nothing but Chinese characters."""
    return _ONLY.fullmatch(text) is not None


def written_language(text: str) -> str | None:
    """'zh' or 'en' when the text is clearly written in that language, None when it does not say.

    Chinese: at least CHINESE_CHARACTERS_TO_BE_SURE characters, outnumbering Latin words two to one ("想在朝阳租
    一居室 预算六千以内", "我想租Wangjing的两居室"). English: at least ENGLISH_WORDS_TO_BE_SURE words of two letters or
    more and no Chinese at all ("2-bedroom to rent near Wangjing"). A single word, a name, a number or a code is
    never enough ("望京", "Wangjing", "8000", "ok").
    """
    chinese = len(_ANY.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if chinese >= CHINESE_CHARACTERS_TO_BE_SURE and chinese >= 2 * latin:
        return "zh"
    if chinese == 0 and latin >= ENGLISH_WORDS_TO_BE_SURE:
        return "en"
    return None


_TAG = re.compile(r"<[^>]{0,200}>")


def plain_text(text: str, sender: str, direction: str) -> str:
    """A stored message as plain text for staff to read.

    Customer and agent messages are stored as typed (plain text). The bot's own messages are Telegram HTML
    (values already escaped), so they are turned back into plain text; a page then escapes whatever it shows, so
    nothing a customer wrote, and no tag the bot used, ever shows as markup in the console.
    """
    if direction == "out" and sender in ("bot", "system"):
        return html.unescape(_TAG.sub("", text))
    return text
