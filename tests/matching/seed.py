"""Seeding helpers for matching tests: the Beijing fixture districts and listings with sane defaults."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import District, Listing
from tests.matching.fixtures import district_rows

_refs = itertools.count(1)


async def seed_districts(session: AsyncSession) -> dict[str, District]:
    districts = {row["name"]: District(**row) for row in district_rows()}
    session.add_all(districts.values())
    await session.flush()
    return districts


def listing(districts: dict[str, District], district: str = "Chaoyang", **fields: Any) -> Listing:
    """A plain active 2-bedroom rental in `district` unless told otherwise."""
    place = districts[district]
    values: dict[str, Any] = {
        "ref_code": f"T{next(_refs):06d}",
        "deal_type": "rent",
        "property_type": "apartment",
        "city": "Beijing",
        "district_id": place.id,
        "district_name": place.name,
        "price": 7000,
        "bedrooms": 2,
        "bathrooms": 1,
        "area_m2": 80.0,
        "available_from": date(2026, 2, 1),
        "furnished": None,
        "pets_allowed": None,
        "features": [],
        "status": "active",
        "lat": place.lat,
        "lon": place.lon,
    }
    values.update(fields)
    return Listing(**values)
