"""A small agency for journey tests: Beijing districts, two agents, a handful of listings with photos."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import District, Listing, ListingPhoto, Staff
from tests.matching.fixtures import district_rows

WORKING_HOURS = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
WORKING_HOURS["sat"] = [["10:00", "16:00"]]

LISTINGS = [
    # ref, deal, type, district, price, bedrooms, area, floor, available, furnished, pets, features
    ("R-WJ-201", "rent", "apartment", "Wangjing", 7800, 2, 78.0, 12, date(2026, 3, 1), True, True,
     ["elevator", "near_metro"]),
    ("R-WJ-202", "rent", "apartment", "Wangjing", 9500, 2, 92.0, 5, date(2026, 3, 15), True, False,
     ["elevator", "balcony"]),
    ("R-SLT-101", "rent", "apartment", "Sanlitun", 12000, 1, 60.0, 20, date(2026, 3, 1), True, True,
     ["elevator", "gym"]),
    ("R-HD-301", "rent", "apartment", "Haidian", 8200, 3, 105.0, 3, date(2026, 4, 1), False, False,
     ["school"]),
    ("S-HD-301", "sale", "apartment", "Haidian", 7_800_000, 3, 110.0, 8, None, False, None,
     ["elevator", "school", "parking"]),
    ("S-CY-401", "sale", "apartment", "Chaoyang", 9_500_000, 4, 150.0, 15, None, True, None,
     ["elevator", "parking"]),
]


async def seed(sessions: async_sessionmaker[AsyncSession], *, agent_chat_id: int | None = 900001) -> dict[str, int]:
    """Districts, agents and listings; returns ids by name ('agent', 'agent2', and each ref_code)."""
    ids: dict[str, int] = {}
    async with sessions() as session, session.begin():
        districts = {}
        for row in district_rows():
            district = District(**row)
            session.add(district)
            districts[row["name"]] = district
        agent = Staff(email="wang@agency.test", name="Wang Li", role="agent", password_hash="x",
                      working_hours=WORKING_HOURS, travel_buffer_minutes=30, telegram_chat_id=agent_chat_id)
        agent2 = Staff(email="zhao@agency.test", name="Zhao Min", role="agent", password_hash="x",
                       working_hours=WORKING_HOURS, travel_buffer_minutes=15)
        session.add_all([agent, agent2])
        await session.flush()
        ids["agent"], ids["agent2"] = agent.id, agent2.id
        for n, (ref, deal, kind, district, price, beds, area, floor, available, furnished, pets, features) in \
                enumerate(LISTINGS):
            listing = Listing(
                ref_code=ref, deal_type=deal, property_type=kind, city="Beijing", district_id=districts[district].id,
                district_name=district, address=f"{n + 1} Test Road", price=Decimal(price), currency="CNY",
                bedrooms=beds, bathrooms=1, area_m2=area, floor=floor, floors_total=25, available_from=available,
                furnished=furnished, pets_allowed=pets, features=features, status="active",
                description=f"Bright {beds}-bedroom flat <b>{ref}</b> & more.",
                lat=districts[district].lat, lon=districts[district].lon,
                agent_id=agent.id if n % 2 == 0 else agent2.id,
                photos=[ListingPhoto(position=i, url=f"https://img.test/{ref}/{i}.jpg") for i in range(3)],
            )
            session.add(listing)
            await session.flush()
            ids[ref] = listing.id
    return ids
