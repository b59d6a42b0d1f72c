"""Comparable homes for owners' valuations, on top of the journey agency (tests/journey_data.py)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import District, Listing, ListingPhoto

# ref, deal, district, price, bedrooms, area: four sale flats in Wangjing near 89 m² (¥64,000-72,000 per m²)
COMPARABLES = [
    ("S-WJ-501", "sale", "Wangjing", 5_760_000, 2, 90.0),
    ("S-WJ-502", "sale", "Wangjing", 6_120_000, 2, 85.0),
    ("S-WJ-503", "sale", "Wangjing", 6_300_000, 2, 100.0),
    ("S-WJ-504", "sale", "Wangjing", 5_440_000, 1, 80.0),
    ("S-WJ-505", "sale", "Wangjing", 20_000_000, 5, 300.0),  # far too big: not comparable
]


async def seed_comparables(sessions: async_sessionmaker[AsyncSession], agent_id: int | None = None) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        districts = {d.name: d for d in (await session.scalars(select(District))).all()}
        for ref, deal, district, price, beds, area in COMPARABLES:
            listing = Listing(ref_code=ref, deal_type=deal, property_type="apartment", city="Beijing",
                              district_id=districts[district].id, district_name=district, address="Comparable Road",
                              price=Decimal(price), bedrooms=beds, area_m2=area, status="active", agent_id=agent_id,
                              photos=[ListingPhoto(position=0, url=f"https://img.test/{ref}/0.jpg")])
            session.add(listing)
            await session.flush()
            ids[ref] = listing.id
    return ids
