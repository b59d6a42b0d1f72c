"""What the lead card and the listing pages show beside the stored rows: a customer's needs as sentences, and
district names in the staff member's language (districts are stored under their English name, with a Chinese
one beside it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from babel.lists import format_list
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from staff_console.i18n import N_, Translator
from staff_console.words import word
from storage.models import District

DISTRICTS_KEY = "district_names"  # the template context's {English name: name shown}
_MONEY_KEYS = ("budget_min", "budget_max")
_AREA_KEYS = ("area_min", "area_max")
_COUNT_KEYS = ("bedrooms_min", "bedrooms_max")
_SHOWN_KEYS = ("property_types", "districts", "budget_min", "budget_max", "bedrooms_min", "bedrooms_max",
               "area_min", "area_max", "move_in_by", "must_have", "exclude", "furnished", "partly_furnished",
               "decoration", "pets")


async def district_names(session: AsyncSession, tr: Translator) -> dict[str, str]:
    """English district name -> the name staff read (the Chinese one for Chinese-speaking staff, when known)."""
    if tr.lang != "zh":
        return {}
    rows = (await session.execute(select(District.name, District.name_zh)
                                  .where(District.name_zh.is_not(None)))).tuples().all()
    return {name: name_zh for name, name_zh in rows if name_zh}


def listing(tr: Translator, items: Iterable[str]) -> str:
    return format_list([str(item) for item in items], locale=tr.locale)


def need_lines(tr: Translator, criteria: Mapping[str, Any], districts: Mapping[str, str]) -> list[str]:
    """One need's criteria (matching.Criteria.to_json) as "name: value" lines, values as words."""
    currency = str(criteria.get("currency") or "CNY")
    lines = []
    for key in _SHOWN_KEYS:
        value = criteria.get(key)
        if value in (None, "", [], {}):
            continue
        if key == "property_types":
            shown = listing(tr, (word(tr, "property_type", v) for v in value))
        elif key == "districts":
            shown = listing(tr, (districts.get(v, v) for v in value))
        elif key in ("must_have", "exclude"):
            shown = listing(tr, (word(tr, "feature", v) for v in value))
        elif key in _MONEY_KEYS:
            shown = tr.money(value, currency)
        elif key in _AREA_KEYS:
            shown = tr(N_("%(area)s m²"), area=tr.number(value))
        elif key in _COUNT_KEYS:
            shown = tr.number(value, 0)
        elif key == "move_in_by":
            shown = tr.date(date.fromisoformat(str(value)))
        elif key == "decoration":
            shown = word(tr, "decoration", str(value))
        elif isinstance(value, bool):
            shown = word(tr, "yes_no", "yes" if value else "no")
        else:
            shown = str(value)
        lines.append(tr(N_("%(name)s: %(value)s"), name=word(tr, "criteria", key), value=shown))
    return lines
