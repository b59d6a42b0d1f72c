"""CSV importers on every backend: good rows in, bad rows reported by line, reruns update, progress reported."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.importers import CsvFormatError, import_districts, import_listings, import_units
from storage.models import Building, District, Listing, Project, Unit
from storage.services.staff_accounts import create_staff

DISTRICTS = """city,name,aliases,lat,lon,neighbours
Beijing,Chaoyang,朝阳区;Wangjing;望京;Sanlitun,39.92,116.44,Dongcheng
Beijing,Dongcheng,东城区;Wangfujing,39.93,116.42,Chaoyang;Atlantis
"""

LISTING_HEADER = (
    "ref_code,deal_type,property_type,city,district,address,price,currency,bedrooms,bathrooms,area_m2,floor,"
    "floors_total,available_from,furnished,pets_allowed,features,photos,agent_email,status,description,lat,lon\n"
)


def listing_line(ref: str, price: str = "12000", **changes: str) -> str:
    values = {
        "ref_code": ref, "deal_type": "rent", "property_type": "apartment", "city": "Beijing", "district": "Chaoyang",
        "address": "Wangjing Garden 1-101", "price": price, "currency": "CNY", "bedrooms": "2", "bathrooms": "1",
        "area_m2": "85.5", "floor": "7", "floors_total": "18", "available_from": "2026-04-01", "furnished": "是",
        "pets_allowed": "no", "features": "elevator;near_metro", "photos": "a.png;b.png", "agent_email": "",
        "status": "active", "description": "Bright flat", "lat": "39.99", "lon": "116.47",
    }
    values.update(changes)
    return ",".join(values.values()) + "\n"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """The media folder, with the photos the rows below name (relative paths are relative to it)."""
    folder = tmp_path / "media"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (folder / name).write_bytes(b"png")
    return folder


async def count(factory, model) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_districts_import_aliases_and_chinese_name(any_sessions) -> None:
    report = await import_districts(any_sessions, DISTRICTS.encode("utf-8-sig"))  # a BOM is accepted
    assert (report.inserted, report.errors) == (2, [])
    assert report.warnings == [(3, "neighbour 'Atlantis' is not a known district of Beijing")]
    async with any_sessions() as session:
        chaoyang = await session.scalar(select(District).where(District.name == "Chaoyang"))
    assert chaoyang.name_zh == "朝阳区"
    assert chaoyang.aliases == ["朝阳区", "Wangjing", "望京", "Sanlitun"]
    assert (chaoyang.lat, chaoyang.lon, chaoyang.neighbours) == (39.92, 116.44, ["Dongcheng"])

    rerun = await import_districts(any_sessions, DISTRICTS.replace("39.92", "39.95").encode())
    assert (rerun.inserted, rerun.updated, rerun.unchanged) == (0, 1, 1)
    assert await count(any_sessions, District) == 2


async def test_district_bad_rows_have_line_numbers(any_sessions) -> None:
    text = (
        "city,name,aliases,lat,lon,neighbours\n"
        ",Nowhere,,1,1,\n"
        "Beijing,Haidian,,95,116,\n"
        "Beijing,Fengtai,,39.8,,\n"
        "Beijing,Xicheng,,39.9,116.3,\n"
    )
    report = await import_districts(any_sessions, text.encode())
    assert report.inserted == 1
    assert report.errors == [
        (2, "city is required"),
        (3, "lat must be between -90 and 90"),
        (4, "lat and lon go together: give both or neither"),
    ]


async def test_listings_good_and_bad_rows(any_sessions, media) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    async with any_sessions() as session, session.begin():
        await create_staff(session, "agent@example.com", "Agent", "agent", "long enough")
    text = LISTING_HEADER + "".join([
        listing_line("L1", agent_email="AGENT@example.com"),
        listing_line("L2", district="望京", deal_type="sale", price="\"3,500,000\""),  # an alias finds the district
        listing_line("L3", deal_type="lease"),
        listing_line("L4", price="-5"),
        listing_line("L5", district="Atlantis"),
        listing_line("L6", available_from="01/04/2026"),
        listing_line("L7", furnished="maybe"),
        listing_line("L8", lat="120"),
        listing_line("L9", floor="20"),
        listing_line("L10", agent_email="ghost@example.com"),
        listing_line("L11", property_type="castle"),
        listing_line("L12", area_m2="0"),
    ])
    report = await import_listings(any_sessions, text.encode(), media_dir=media)
    assert report.inserted == 3
    assert report.errors == [
        (4, "deal_type is 'lease'; expected one of sale, rent"),
        (5, "price must be a positive number up to 999999999999.99"),
        (6, "district 'Atlantis' is not a known district of Beijing (import districts first)"),
        (7, "available_from is '01/04/2026'; expected a date as YYYY-MM-DD"),
        (8, "furnished is 'maybe'; expected yes/no/partial, true/false, 1/0 or 是/否/部分"),
        (9, "lat must be between -90 and 90"),
        (10, "floor 20 is above floors_total 18"),
        (12, "property_type is 'castle'; expected one of apartment, house, villa, office, shop, parking"),
        (13, "area_m2 must be a positive number up to 1000000"),
    ]
    assert report.warnings == [(11, "agent_email ghost@example.com is not a staff member; listing has no agent")]
    async with any_sessions() as session:
        listings = {item.ref_code: item for item in await session.scalars(select(Listing))}
    first = listings["L1"]
    assert first.agent_id is not None and first.district_name == "Chaoyang"
    assert (first.price, first.furnished, first.pets_allowed, first.area_m2) == (Decimal("12000.00"), True, False, 85.5)
    assert first.features == ["elevator", "near_metro"]
    assert [photo.url for photo in first.photos] == ["a.png", "b.png"]
    assert listings["L2"].price == Decimal("3500000.00") and listings["L2"].deal_type == "sale"
    assert listings["L10"].agent_id is None


async def test_listing_rerun_updates_and_records_price_drop(any_sessions, media) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    first = LISTING_HEADER + listing_line("L1") + listing_line("L2")
    await import_listings(any_sessions, first.encode(), media_dir=media)
    async with any_sessions() as session, session.begin():
        listing = await session.scalar(select(Listing).where(Listing.ref_code == "L1"))
        listing.photos[0].telegram_file_id = "cached-file-id"

    rerun = LISTING_HEADER + listing_line("L1", price="11000", photos="a.png;c.png") + listing_line("L2")
    report = await import_listings(any_sessions, rerun.encode(), media_dir=media)
    assert (report.inserted, report.updated, report.unchanged, report.errors) == (0, 1, 1, [])
    assert await count(any_sessions, Listing) == 2
    async with any_sessions() as session:
        listing = await session.scalar(select(Listing).where(Listing.ref_code == "L1"))
    assert (listing.price, listing.previous_price) == (Decimal("11000.00"), Decimal("12000.00"))
    assert [(p.url, p.telegram_file_id) for p in listing.photos] == [("a.png", "cached-file-id"), ("c.png", None)]

    await import_listings(any_sessions, (LISTING_HEADER + listing_line("L1", price="13000")).encode(), media_dir=media)
    async with any_sessions() as session:
        listing = await session.scalar(select(Listing).where(Listing.ref_code == "L1"))
    assert (listing.price, listing.previous_price) == (Decimal("13000.00"), None)


async def test_listing_price_rise_after_a_drop_clears_the_previous_price(any_sessions, media) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    for price, expected in (("12000", None), ("11000", "12000.00"), ("11000", "12000.00"), ("11500", None)):
        text = LISTING_HEADER + listing_line("L1", price=price)
        await import_listings(any_sessions, text.encode(), media_dir=media)
        async with any_sessions() as session:
            listing = await session.scalar(select(Listing).where(Listing.ref_code == "L1"))
        assert listing.price == Decimal(price)
        assert listing.previous_price == (Decimal(expected) if expected else None), f"after price {price}"


async def test_repeated_key_in_one_file_last_row_wins(any_sessions, media) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    text = LISTING_HEADER + listing_line("L1", price="9000") + listing_line("L1", price="9500")
    report = await import_listings(any_sessions, text.encode(), media_dir=media)
    assert report.inserted == 1
    assert report.warnings == [(3, "L1 repeats line 2; this row wins")]
    async with any_sessions() as session:
        assert await session.scalar(select(Listing.price)) == Decimal("9500.00")


async def test_progress_is_reported_per_batch(any_sessions, media) -> None:
    await import_districts(any_sessions, DISTRICTS.encode())
    text = LISTING_HEADER + "".join(listing_line(f"P{i}") for i in range(25))
    calls: list[tuple[int, int]] = []
    report = await import_listings(
        any_sessions, text.encode(), progress=lambda done, total: calls.append((done, total)), batch_size=10,
        media_dir=media,
    )
    assert report.inserted == 25
    assert calls == [(10, 25), (20, 25), (25, 25)]
    assert await count(any_sessions, Listing) == 25


async def test_header_is_checked(any_sessions, media) -> None:
    with pytest.raises(CsvFormatError, match="missing column"):
        await import_listings(any_sessions, b"ref_code,price\nX,1\n", media_dir=media)
    with pytest.raises(CsvFormatError, match="empty"):
        await import_units(any_sessions, b"")
    with pytest.raises(CsvFormatError, match="not UTF-8"):
        await import_units(any_sessions, "project,building,unit_no,owner_phone\n华,1,1,13800138000\n".encode("gbk"))


async def test_units_create_projects_and_buildings_and_normalise_phones(any_sessions) -> None:
    text = (
        "project,building,unit_no,owner_name,owner_phone,handover_date\n"
        "Sunrise Garden,Building 1,101,王伟,+86 138-0013-8000,2021-06-30\n"
        "Sunrise Garden,Building 1,102,李娜,0086 13900139000,2021-07-01\n"
        "Sunrise Garden,Building 2,101,Zhang San,(010) 6552 1234,\n"
        "Sunrise Garden,Building 2,102,Nobody,12,2021-07-01\n"
        "Sunrise Garden,Building 2,103,Late,13700137000,2021-13-01\n"
    )
    report = await import_units(any_sessions, text.encode())
    assert report.inserted == 3
    assert report.errors == [
        (5, "owner_phone '12' is not a phone number (7 to 15 digits)"),
        (6, "handover_date is '2021-13-01'; expected a date as YYYY-MM-DD"),
    ]
    assert (await count(any_sessions, Project), await count(any_sessions, Building)) == (1, 2)
    async with any_sessions() as session:
        phones = list(await session.scalars(select(Unit.owner_phone).order_by(Unit.id)))
    assert phones == ["13800138000", "13900139000", "01065521234"]

    rerun = text.replace("王伟", "王伟伟")
    again = await import_units(any_sessions, rerun.encode())
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 2)
    assert await count(any_sessions, Unit) == 3
