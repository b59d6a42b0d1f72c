"""Listings (`ref_code,deal_type,...,lat,lon`), keyed by ref_code; written through `storage.services.listings`
(which records a price drop on re-import and keeps the cached photos that stay).

Photos are http(s) links or files inside the media folder (`storage.media`); anything else rejects the row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.importers.common import (
    BATCH_SIZE,
    CsvSource,
    ImportReport,
    ProgressCallback,
    Row,
    RowError,
    bool_cell,
    coordinates,
    date_cell,
    enum_cell,
    int_cell,
    last_wins,
    list_cell,
    read_rows,
    required,
    required_number,
    run_batches,
    text_cell,
    validate_rows,
)
from storage.media import PhotoError, check_photo
from storage.models import District, Listing, Staff
from storage.services import listings
from storage.services.listings import ListingDraft
from storage.vocabulary import DEAL_TYPES, LISTING_STATUSES, PROPERTY_TYPES

LISTING_COLUMNS = (
    "ref_code", "deal_type", "property_type", "city", "district", "address", "price", "currency", "bedrooms",
    "bathrooms", "area_m2", "floor", "floors_total", "available_from", "furnished", "pets_allowed", "features",
    "photos", "agent_email", "status", "description", "lat", "lon",
    "decoration",  # optional (issue 15): fine/basic/bare or 精装/简装/毛坯
)
_REQUIRED = ("ref_code", "deal_type", "property_type", "city", "district", "price", "area_m2")


@dataclass(frozen=True)
class ListingRow:
    ref_code: str
    draft: ListingDraft


class _Lookups:
    """Districts by any of their names and staff by email, loaded once per import."""

    def __init__(self, districts: Sequence[District], staff: Sequence[tuple[int, str]]) -> None:
        self.districts: dict[tuple[str, str], District] = {}
        for district in districts:
            for label in (district.name, district.name_zh, *district.aliases):
                if label:
                    self.districts.setdefault((district.city.lower(), label.lower()), district)
        self.staff = {email.lower(): staff_id for staff_id, email in staff}

    def district(self, city: str, name: str) -> District:
        district = self.districts.get((city.lower(), name.lower()))
        if district is None:
            raise RowError(f"district {name!r} is not a known district of {city} (import districts first)")
        return district


def _photos(row: Row, media_dir: Path) -> list[str]:
    photos = list_cell(row, "photos")
    for photo in photos:
        try:
            check_photo(photo, media_dir)
        except PhotoError as exc:
            shown = photo if len(photo) <= 60 else photo[:56] + "…"
            raise RowError(f"photo {shown!r} {exc}") from None
    return photos


def _parser(lookups: _Lookups, report: ImportReport, media_dir: Path) -> Callable[[Row], ListingRow]:
    def parse(row: Row) -> ListingRow:
        ref_code = required(row, "ref_code", 32)
        deal_type = enum_cell(row, "deal_type", DEAL_TYPES)
        property_type = enum_cell(row, "property_type", PROPERTY_TYPES)
        city = required(row, "city", 64)
        district = lookups.district(city, required(row, "district", 64))
        price = required_number(row, "price")
        currency = (text_cell(row, "currency") or "CNY").upper()
        if len(currency) != 3 or not currency.isalpha():
            raise RowError(f"currency is {currency!r}; expected a 3-letter code such as CNY")
        bedrooms = int_cell(row, "bedrooms", default=0)
        bathrooms = int_cell(row, "bathrooms", default=0 if property_type == "parking" else 1)
        area = float(required_number(row, "area_m2"))
        floor = int_cell(row, "floor")
        floors_total = int_cell(row, "floors_total")
        if floor is not None and floors_total is not None and floor > floors_total:
            raise RowError(f"floor {floor} is above floors_total {floors_total}")
        lat, lon = coordinates(row)
        address, available_from = text_cell(row, "address", 256), date_cell(row, "available_from")
        try:
            furnished, partly_furnished = listings.read_furnished(row.get("furnished"))
            decoration = listings.read_decoration(row.get("decoration"))
        except listings.ListingError as exc:
            raise RowError(str(exc)) from None
        pets_allowed = bool_cell(row, "pets_allowed")
        status = enum_cell(row, "status", LISTING_STATUSES, default="active")
        features = [feature.lower() for feature in list_cell(row, "features")]
        description, photos = text_cell(row, "description"), _photos(row, media_dir)
        # Last, so a row rejected for another reason does not also warn about its agent.
        agent_id = None
        if email := text_cell(row, "agent_email"):
            agent_id = lookups.staff.get(email.lower())
            if agent_id is None:
                report.warnings.append((row.line, f"agent_email {email} is not a staff member; listing has no agent"))
        return ListingRow(ref_code, ListingDraft(
            deal_type=deal_type, property_type=property_type, status=status, city=district.city,
            district_id=district.id, district_name=district.name, address=address, price=price, currency=currency,
            bedrooms=bedrooms or 0, bathrooms=bathrooms or 0, area_m2=area, floor=floor, floors_total=floors_total,
            available_from=available_from, furnished=furnished, pets_allowed=pets_allowed, features=features,
            description=description, agent_id=agent_id, lat=lat, lon=lon, photos=photos,
            partly_furnished=partly_furnished, decoration=decoration,
        ))

    return parse


async def import_listings(
    factory: async_sessionmaker[AsyncSession],
    source: CsvSource,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
    *,
    media_dir: Path,
) -> ImportReport:
    """`media_dir`: the installation's media folder (Settings.media_path), where local photos must be."""
    report = ImportReport()
    rows = read_rows(source, LISTING_COLUMNS, _REQUIRED, report)
    async with factory() as session:
        lookups = _Lookups(
            list(await session.scalars(select(District))),
            list((await session.execute(select(Staff.id, Staff.email))).tuples()),
        )
    parsed_rows = validate_rows(rows, _parser(lookups, report, media_dir), report)
    good = last_wins(parsed_rows, lambda parsed: parsed.ref_code, report)

    async def handle(session: AsyncSession, batch: Sequence[tuple[Row, ListingRow]]) -> None:
        refs = [parsed.ref_code for _, parsed in batch]
        existing = {
            listing.ref_code: listing
            for listing in await session.scalars(select(Listing).where(Listing.ref_code.in_(refs)))
        }
        new = [(parsed.ref_code, parsed.draft) for _, parsed in batch if parsed.ref_code not in existing]
        for _, parsed in batch:
            if parsed.ref_code in existing:
                if listings.update(existing[parsed.ref_code], parsed.draft):
                    report.updated += 1
                else:
                    report.unchanged += 1
        await listings.insert_new(session, new)
        report.inserted += len(new)

    await run_batches(factory, good, handle, progress, batch_size)
    return report
