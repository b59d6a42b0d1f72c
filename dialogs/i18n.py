"""Translations: English message ids, Simplified Chinese from gettext catalogues (`dialogs/locales/zh/*.po`).

Every module that speaks to customers calls `t(lang, "English text {name}", name=value)`. Parameters are
HTML-escaped here, once, so customer text can never be interpreted as markup. Texts that live in tables are
marked with `N_()` so the catalogue check finds them. `tests/dialogs/test_catalogue.py` fails when any
message id lacks a Chinese translation.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).with_name("locales")
LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for translation"
    return message


def normalise_language(code: str | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """Map Telegram's language_code (en-US, zh-hans, zh-CN, zh-TW...) to a supported language."""
    if not code:
        return fallback
    code = code.lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    return fallback


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All translations of one language, merged from every .po file in its folder."""
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / lang
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_Hans_CN" if lang == "zh" else lang):
                if message.id and message.string and not message.fuzzy:
                    merged[str(message.id)] = str(message.string)
    return merged


def translate(lang: str, message: str) -> str:
    if lang == DEFAULT_LANGUAGE:
        return message
    return catalogue(lang).get(message, message)


def t(lang: str, message: str, /, **params: object) -> str:
    """Translate and fill in parameters, escaping each for HTML."""
    text = translate(lang, message)
    if not params:
        return text
    return text.format(**{key: html.escape(str(value), quote=False) for key, value in params.items()})


def tn(lang: str, count: int, one: str, many: str, /, **params: object) -> str:
    """`one` for a count of one, else `many` (mark both with N_); `{count}` is filled in. English has the two
    forms; Chinese has one, so the catalogue gives both message ids the same translation."""
    return t(lang, one if count == 1 else many, count=count, **params)


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)
