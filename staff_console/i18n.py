"""The console in English and Simplified Chinese: gettext catalogues read with Babel, dates, times and money in the
staff member's locale and time zone.

Message ids are English and marked where they are written: `_("...")` in Python (a `Translator`), `{{ _("...") }}`
and `{% trans %}` in templates (Jinja2's i18n extension), `_("...")` in `static/console.js`, and `N_("...")` for texts
kept in tables. Babel's extractors find them (`babel.cfg` at the repository root); the Chinese translations live in
`staff_console/locales/zh/*.po`. To refresh the catalogue after changing marked strings (the README says the same):

    pybabel extract -F babel.cfg --add-location file -o /tmp/console.pot . \
      && pybabel update -i /tmp/console.pot -o staff_console/locales/zh/console.po -l zh \
           --no-fuzzy-matching --ignore-obsolete

then translate the new empty `msgstr`s. `tests/staff_console/test_catalogue.py` fails while one is missing or a
translation's placeholders differ from its message id's.

Every console message id is a %-format string (`%(name)s`, a literal percent sign is `%%`), as Jinja2's
"new style" gettext wants them; parameters are filled in after translation. Words for stored names (statuses,
categories, roles...) come from `staff_console.words`.

Which language: a signed-in staff member's profile language (`Staff.language`); before sign-in the choice made
with the header's language switch (kept in the session), else the browser's Accept-Language, else
DEFAULT_LOCALE. Which time zone: `Staff.timezone`, else TIMEZONE.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from babel import Locale
from babel.dates import format_date, format_time, get_timezone_location
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

from staff_console.context import SETTINGS_KEY, STAFF_KEY
from storage.models import Staff
from storage.settings import Settings

LOCALES_DIR = Path(__file__).with_name("locales")
LANGUAGES = ("en", "zh")
SOURCE_LANGUAGE = "en"  # the message ids
BABEL_LOCALES = {"en": "en", "zh": "zh_Hans_CN"}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
# How each language names itself, for the language switch (the same in every language, as is usual).
AUTONYMS = {"en": "English", "zh": "中文"}
SESSION_LANGUAGE = "lang"
# Time zones a staff member can pick on their profile (besides the company's, TIMEZONE).
TIME_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Dubai",
              "Europe/London", "Europe/Paris", "Europe/Moscow", "America/New_York", "America/Los_Angeles",
              "Australia/Sydney")  # the language chosen before sign-in, in the console's session


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for translation"
    return message


def normalise(code: str | None) -> str | None:
    """A supported language from a profile value or a language tag (zh-CN, zh-Hans, en-GB...), else None."""
    if not code:
        return None
    code = code.strip().lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    return None


@cache
def catalogue(lang: str) -> dict[str, tuple[str, ...]]:
    """All translations of one language, merged from every .po file in its folder: msgid -> msgstr forms.
    Fuzzy and empty translations do not count (the English message id is shown instead)."""
    merged: dict[str, tuple[str, ...]] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=BABEL_LOCALES.get(lang, lang)):
                if not message.id or message.fuzzy:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                forms = (message.string,) if isinstance(message.string, str) else tuple(message.string or ())
                if all(forms):
                    merged[key] = forms
    return merged


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[lang])


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class Translator:
    """One staff member's language and time zone: `_("Saved.")`, `_("%(n)s left", n=3)`, and locale formats."""

    def __init__(self, lang: str, tz: tzinfo) -> None:
        self.lang = lang if lang in LANGUAGES else SOURCE_LANGUAGE
        self.tz = tz
        self.locale = _locale(self.lang)

    def __repr__(self) -> str:
        return f"Translator({self.lang!r}, {self.tz!s})"

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.lang]

    # ---- words ---------------------------------------------------------------------------------------------
    def gettext(self, message: str) -> str:
        if self.lang == SOURCE_LANGUAGE:
            return message
        forms = catalogue(self.lang).get(message)
        return forms[0] if forms else message

    def raw_ngettext(self, singular: str, plural: str, count: int) -> str:
        if self.lang != SOURCE_LANGUAGE:
            forms = catalogue(self.lang).get(singular)
            if forms:
                # Chinese has one form; a language with two would pick as English does.
                return forms[0] if len(forms) == 1 or count == 1 else forms[1]
        return singular if count == 1 else plural

    def __call__(self, message: str, /, **params: Any) -> str:
        """Translate, then fill in `%(name)s` parameters (a literal percent sign is written `%%`)."""
        return self.gettext(message) % params

    def ngettext(self, singular: str, plural: str, count: int, /, **params: Any) -> str:
        """The singular or plural, then the parameters; `%(num)s` is the count."""
        return self.raw_ngettext(singular, plural, count) % {"num": count, **params}

    # ---- dates, times, numbers, money ----------------------------------------------------------------------
    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def date(self, value: date | datetime | None, skeleton: str = "yMMMd") -> str:
        """A calendar day, `yMMMd` (Mar 2, 2026 / 2026年3月2日), `MMMEd` (Mon, Mar 2 / 3月2日周一) or another
        CLDR skeleton. An aware datetime is first moved to the staff member's time zone."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = self.local(value).date() if value.tzinfo else value.date()
        return format_date(value, self.locale.datetime_skeletons[skeleton], locale=self.locale)

    def time(self, value: datetime | None, seconds: bool = False) -> str:
        if value is None:
            return ""
        local = self.local(value) if value.tzinfo else value
        return format_time(local, self.locale.datetime_skeletons["Hms" if seconds else "Hm"], locale=self.locale)

    def datetime(self, value: datetime | None, style: str = "medium") -> str:
        """A moment in the staff member's time zone: `medium` (Mar 2, 2026, 09:05 / 2026年3月2日 09:05), `short`
        (without the year), `seconds` (medium with seconds) or `time`."""
        if value is None:
            return ""
        if style == "time":
            return self.time(value)
        day = self.date(value, "MMMd" if style == "short" else "yMMMd")
        clock = self.time(value, seconds=style == "seconds")
        return str(self.locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)

    def number(self, value: float | int | Decimal | None, digits: int = 1) -> str:
        """A number with at most `digits` decimals, grouped as the locale groups them; "—" for nothing."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, pattern, locale=self.locale)

    def percent(self, value: float | int | None) -> str:
        """A percentage given as 0-100."""
        if value is None:
            return "—"
        return format_percent(float(value) / 100, "#,##0.#%", locale=self.locale)

    def money(self, amount: Decimal | float | int | None, currency: str | None = "CNY") -> str:
        if amount is None:
            return "—"
        code = (currency or "CNY").upper()
        try:
            value = Decimal(str(amount))
        except InvalidOperation:  # not a number after all: shown as stored
            return str(amount)
        if not value.is_finite():
            return str(amount)
        if value == value.to_integral_value():
            shown = format_currency(value, code, "¤#,##0", currency_digits=False, locale=self.locale)
        else:
            shown = format_currency(value, code, locale=self.locale)
        # The company's own currency is written as people here write it, ¥, in English too (CLDR's "CN¥" only
        # tells it apart from the yen, which this console never shows).
        return shown.replace("CN¥", "¥") if code == "CNY" else shown

    def price(self, amount: Decimal | float | int | None, currency: str | None = "CNY",
              deal_type: str | None = None) -> str:
        """A listing's price as people write it: a rent per month (¥12,500/月, ¥12,500/month); a sale price in
        Chinese in 万 (¥1,949万) once it reaches 10万 and is a whole number of hundreds."""
        if amount is None:
            return "—"
        if deal_type == "rent":
            return self(N_("%(amount)s/month"), amount=self.money(amount, currency))
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            return str(amount)
        if (self.lang == "zh" and (currency or "CNY").upper() == "CNY" and value.is_finite()
                and value >= 100_000 and value % 100 == 0):
            return self(N_("%(amount)s万"), amount="¥" + format_decimal(value / 10_000, "#,##0.##",
                                                                         locale=self.locale))
        return self.money(value, currency)

    def zone_name(self, zone_name: str | None = None) -> str:
        """A time zone as people name it (China (Shanghai) Time / 中国（上海）时间); the staff member's own by
        default."""
        name = zone_name or str(getattr(self.tz, "key", None) or "UTC")
        try:
            return str(get_timezone_location(name, locale=self.locale))
        except LookupError:
            return name

    def minutes(self, minutes: int | float | None) -> str:
        """A duration in minutes as hours and minutes, "-" in front when overdue (2 h 05 min / 2 小时 05 分)."""
        if minutes is None:
            return "—"
        sign = "-" if minutes < 0 else ""
        hours, mins = divmod(abs(int(minutes)), 60)
        if hours:
            return sign + self(N_("%(hours)s h %(minutes)s min"), hours=self.number(hours, 0), minutes=f"{mins:02d}")
        return sign + self(N_("%(minutes)s min"), minutes=mins)

def zone(name: str | None, fallback: tzinfo) -> tzinfo:
    return (_zone(name) if name else None) or fallback


def known_zone(name: str) -> bool:
    return _zone(name) is not None


def for_staff(person: Staff, settings: Settings) -> Translator:
    return Translator(normalise(person.language) or settings.default_locale, zone(person.timezone, settings.tz))


def from_accept_language(header: str) -> str | None:
    """The first supported language the browser asks for, by quality (`zh-CN,zh;q=0.9,en;q=0.8`)."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        lang = normalise(tag)
        if lang is not None and quality > 0:
            choices.append((-quality, index, lang))
    return min(choices)[2] if choices else None


def anonymous_language(request: web.Request, settings: Settings) -> str:
    """Before sign-in: the language chosen in the page (session), else Accept-Language, else DEFAULT_LOCALE."""
    from aiohttp_session import SESSION_KEY  # the session the security middleware already loaded

    session: Mapping[str, Any] | None = request.get(SESSION_KEY)
    chosen = normalise(str(session.get(SESSION_LANGUAGE, ""))) if session is not None else None
    return (chosen or from_accept_language(request.headers.get("Accept-Language", ""))
            or normalise(settings.default_locale) or SOURCE_LANGUAGE)


def translator(request: web.Request) -> Translator:
    """The translator for this request: the signed-in staff member's language and time zone, or the visitor's."""
    settings = request.app[SETTINGS_KEY]
    me = request.get(STAFF_KEY)
    if me is not None:
        return for_staff(me, settings)
    return Translator(anonymous_language(request, settings), settings.tz)
