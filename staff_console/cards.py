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


def _range(tr: Translator, low: Any, high: Any, *, between: str, at_least: str, up_to: str, show: Any) -> str:
    if low not in (None, "") and high not in (None, ""):
        return tr(between, low=show(low), high=show(high))
    if low not in (None, ""):
        return tr(at_least, value=show(low))
    return tr(up_to, value=show(high))


def _budget(tr: Translator, criteria: Mapping[str, Any]) -> str:
    currency = str(criteria.get("currency") or "CNY")
    amount = _range(tr, criteria.get("budget_min"), criteria.get("budget_max"),
                    between=N_("Budget %(low)s–%(high)s"), at_least=N_("Budget from %(value)s"),
                    up_to=N_("Budget up to %(value)s"), show=lambda value: tr.money(value, currency))
    return tr(N_("%(amount)s/month"), amount=amount) if criteria.get("deal_type") == "rent" else amount


def _bedrooms(tr: Translator, low: Any, high: Any) -> str:
    if low == 0 and high == 0:
        return tr(N_("a studio"))
    return _range(tr, low, high, between=N_("%(low)s–%(high)s bedrooms"), at_least=N_("at least %(value)s bedrooms"),
                  up_to=N_("up to %(value)s bedrooms"), show=lambda value: tr.number(value, 0))


def _area(tr: Translator, low: Any, high: Any) -> str:
    return _range(tr, low, high, between=N_("%(low)s–%(high)s m²"), at_least=N_("at least %(value)s m²"),
                  up_to=N_("up to %(value)s m²"), show=tr.number)


def need_lines(tr: Translator, criteria: Mapping[str, Any], districts: Mapping[str, str]) -> list[str]:
    """One need's criteria (matching.Criteria.to_json) as phrases people say: "Budget up to ¥8,000/month",
    "2–3 bedrooms", "Districts: Chaoyang and Haidian"; never a stored key or a bare number."""
    def present(*keys: str) -> bool:
        return any(criteria.get(key) not in (None, "", [], {}) for key in keys)

    lines = []
    if present("budget_min", "budget_max"):
        lines.append(_budget(tr, criteria))
    if present("bedrooms_min", "bedrooms_max"):
        lines.append(_bedrooms(tr, criteria.get("bedrooms_min"), criteria.get("bedrooms_max")))
    if present("area_min", "area_max"):
        lines.append(_area(tr, criteria.get("area_min"), criteria.get("area_max")))
    for key in _SHOWN_KEYS:
        value = criteria.get(key)
        if value in (None, "", [], {}) or key in _MONEY_KEYS + _AREA_KEYS + _COUNT_KEYS:
            continue
        if key == "property_types":
            shown = listing(tr, (word(tr, "property_type", v) for v in value))
        elif key == "districts":
            shown = listing(tr, (districts.get(v, v) for v in value))
        elif key in ("must_have", "exclude"):
            shown = listing(tr, (word(tr, "feature", v) for v in value))
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
