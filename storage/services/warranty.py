"""Warranty: is a repair free? From the unit's handover date and the category's period.

Defaults follow the PRC Construction Quality Regulations, art. 40 (see ARCHITECTURE.md); admins edit the
WarrantyPeriod rows. Heating and cooling are "two heating/cooling seasons", counted here as 24 months.
A period of None means the design life of the building: always in warranty.
"""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WarrantyPeriod

DEFAULT_MONTHS: dict[str, int | None] = {
    "waterproofing": 60,
    "heating_cooling": 24,
    "electrical": 24,
    "plumbing": 24,
    "equipment": 24,
    "walls_decoration": 24,
    "doors_windows": 24,
    "structure": None,
    "other": 24,
}
DEFAULT_NOTES = {
    "waterproofing": "roof and bathroom/wall waterproofing: 5 years",
    "heating_cooling": "heating and cooling: 2 heating/cooling seasons",
    "structure": "foundations and main structure: design life",
}


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def ensure_defaults(session: AsyncSession) -> int:
    """Create the default rows that are missing; returns how many were added. Admin edits are kept."""
    existing = set((await session.scalars(select(WarrantyPeriod.category))).all())
    added = 0
    for category, months in DEFAULT_MONTHS.items():
        if category not in existing:
            session.add(WarrantyPeriod(category=category, months=months, note=DEFAULT_NOTES.get(category)))
            added += 1
    await session.flush()
    return added


async def period_months(session: AsyncSession, category: str) -> int | None:
    row = await session.get(WarrantyPeriod, category)
    if row is not None:
        return row.months
    return DEFAULT_MONTHS.get(category, DEFAULT_MONTHS["other"])


async def warranty_end(session: AsyncSession, handover: date, category: str) -> date | None:
    """Last covered day (None = design life)."""
    months = await period_months(session, category)
    return None if months is None else add_months(handover, months)


async def status(session: AsyncSession, handover: date | None, category: str, on: date) -> str:
    """'in' (free), 'out' (paid, quote first) or 'unknown' (no handover date known)."""
    if handover is None:
        return "unknown"
    end = await warranty_end(session, handover, category)
    return "in" if end is None or on <= end else "out"


async def set_period(session: AsyncSession, category: str, months: int | None, note: str | None = None) -> None:
    """Admins change a category's period (None = design life of the building)."""
    if months is not None and not 0 <= months <= 1200:
        raise ValueError("months must be between 0 and 1200")
    row = await session.get(WarrantyPeriod, category)
    if row is None:
        session.add(WarrantyPeriod(category=category, months=months, note=note))
    else:
        row.months = months
        if note is not None:
            row.note = note
    await session.flush()
