"""The demo data set: what seed-demo promises, idempotence, and deterministic generated photos."""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from storage.demo import PROJECT, build_units_csv, draw_photo, seed_demo
from storage.models import (
    Building,
    CannedReply,
    Deal,
    District,
    FaqEntry,
    Holiday,
    Listing,
    ListingPhoto,
    Milestone,
    Project,
    SlaPolicy,
    Staff,
    Unit,
    WarrantyPeriod,
)
from storage.services.staff_accounts import verify_password
from storage.text import has_chinese
from tests.workplace import SETTINGS

TODAY = date(2026, 3, 2)


def file_start(path: str) -> bytes:
    return Path(path).read_bytes()[:8]


async def count(factory, model) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_seed_demo_builds_the_promised_data_set(any_sessions, tmp_path) -> None:
    media = tmp_path / "media"
    report = await seed_demo(any_sessions, media, password="demo-pass-123", today=TODAY, settings=SETTINGS)
    assert not report.skipped
    assert all(not result.errors for result in report.imports.values())

    async with any_sessions() as session:
        districts = list(await session.scalars(select(District)))
        listings = list(await session.scalars(select(Listing)))
        staff = list(await session.scalars(select(Staff)))
        units = list(await session.scalars(select(Unit)))
        project = await session.scalar(select(Project).where(Project.name == PROJECT))
        warranty = {w.category: w.months for w in await session.scalars(select(WarrantyPeriod))}
        emergency = await session.scalar(select(SlaPolicy).where(SlaPolicy.priority == "emergency"))
        complaint = await session.scalar(select(SlaPolicy).where(SlaPolicy.kind == "complaint"))
        faq = (await session.execute(select(FaqEntry.language, func.count()).group_by(FaqEntry.language))).all()
        canned = set(await session.scalars(select(CannedReply.language)))
        holidays = list(await session.scalars(select(Holiday)))

    assert len(districts) >= 12 and all(d.name_zh and d.aliases and d.neighbours for d in districts)
    aliases = {alias for d in districts for alias in d.aliases}
    neighbourhoods = {"Wangjing", "望京", "Sanlitun", "三里屯", "Guomao", "国贸", "Zhongguancun", "中关村", "五道口"}
    assert neighbourhoods <= aliases
    assert all(39.4 < d.lat < 41.1 and 115.4 < d.lon < 117.6 for d in districts)

    assert len(listings) >= 300
    rent = [listing for listing in listings if listing.deal_type == "rent"]
    sale = [listing for listing in listings if listing.deal_type == "sale"]
    assert len(rent) >= 100 and len(sale) >= 100
    assert all(Decimal(3_000) <= listing.price <= Decimal(40_000) for listing in rent)
    assert all(Decimal(2_000_000) <= listing.price <= Decimal(30_000_000) for listing in sale)
    assert len({listing.district_id for listing in listings}) >= 12
    assert all(listing.agent_id and listing.available_from and listing.features for listing in listings)
    assert all(has_chinese(listing.description) for listing in listings)
    assert all(2 <= len(listing.photos) <= 4 for listing in listings)
    first_photo = listings[0].photos[0].url
    assert first_photo.startswith(str(media)) and file_start(first_photo) == b"\x89PNG\r\n\x1a\n"
    assert report.photos_written == await count(any_sessions, ListingPhoto)

    roles = sorted(person.role for person in staff)
    assert roles == ["admin"] + ["agent"] * 4 + ["service"] * 3
    admin = next(person for person in staff if person.role == "admin")
    assert admin.email == "admin@homedesk.local" and verify_password(admin.password_hash, "demo-pass-123")
    agent = next(person for person in staff if person.role == "agent")
    assert agent.working_hours["mon"] == [["09:00", "18:00"]] and agent.working_hours["sat"] == [["10:00", "16:00"]]
    assert "sun" not in agent.working_hours and agent.skills and agent.service_areas
    assert all(PROJECT in person.service_areas and person.skills for person in staff if person.role == "service")
    assert {email for email, _, secret in report.accounts if secret == "demo-pass-123"} == {p.email for p in staff}

    assert project is not None and project.city == "Beijing"
    assert await count(any_sessions, Building) == 3 and len(units) == 60
    assert all(unit.owner_name and unit.owner_phone.isdigit() and len(unit.owner_phone) == 11 for unit in units)
    handovers = [unit.handover_date for unit in units]
    assert min(handovers) >= TODAY - timedelta(days=6 * 365 + 2) and max(handovers) < TODAY
    assert max(handovers) - min(handovers) > timedelta(days=4 * 365)

    assert warranty["waterproofing"] == 60 and warranty["heating_cooling"] == 24 and warranty["structure"] is None
    assert all(warranty[c] == 24 for c in ("electrical", "plumbing", "equipment", "walls_decoration", "doors_windows"))
    assert (emergency.first_response_minutes, emergency.resolve_minutes, emergency.business_hours) == (60, 1440, False)
    assert complaint.resolve_minutes == 3 * 1440 and complaint.first_response_minutes == 1440
    assert dict(faq) == {"en": 12, "zh": 12} and canned == {"en", "zh"}
    assert {h.day.year for h in holidays} == {2026, 2027}
    assert report.imports["deals"].inserted == 10  # Building 3's first ten homes, their owners unchanged
    # every deal has move-in, settlement and certificate; the 8 not paid in full a loan too
    assert await count(any_sessions, Deal) == 10 and await count(any_sessions, Milestone) == 10 * 3 + 8
    assert any(h.is_workday for h in holidays)


async def test_seed_demo_is_idempotent(sessions, tmp_path) -> None:
    await seed_demo(sessions, tmp_path, today=TODAY)
    before = (await count(sessions, Listing), await count(sessions, Staff), await count(sessions, Unit))

    again = await seed_demo(sessions, tmp_path, today=TODAY)
    assert again.skipped and again.accounts == []

    forced = await seed_demo(sessions, tmp_path, force=True, today=TODAY)
    assert forced.imports["listings"].inserted == 0 and forced.imports["listings"].unchanged == before[0]
    assert forced.photos_written == 0  # photos already on disk are kept
    assert all(secret is None for _, _, secret in forced.accounts)  # existing passwords are left alone
    after = (await count(sessions, Listing), await count(sessions, Staff), await count(sessions, Unit))
    assert after == before
    assert await count(sessions, FaqEntry) == 24 and await count(sessions, SlaPolicy) == 4


def test_generated_photos_are_deterministic_pngs() -> None:
    for kind in ("plan", "facade", "room"):
        image = draw_photo(kind, "BJ-R0001-1", 3)
        assert image == draw_photo(kind, "BJ-R0001-1", 3)
        assert image[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")
        assert (width, height) == (320, 240)
        idat = image[33 + 8 : -12]  # after the signature and IHDR chunk, before IEND
        assert len(zlib.decompress(idat)) == height * (width * 3 + 1)
    assert draw_photo("plan", "a") != draw_photo("plan", "b")


def test_units_csv_is_deterministic() -> None:
    assert build_units_csv(TODAY) == build_units_csv(TODAY)
    assert build_units_csv(TODAY).decode().count("\n") == 61
