"""Districts: `city,name,aliases,lat,lon,neighbours` (plus an optional `name_zh`), keyed by (city, name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.importers.common import (
    BATCH_SIZE,
    CsvSource,
    ImportReport,
    ProgressCallback,
    Row,
    coordinates,
    last_wins,
    list_cell,
    read_rows,
    required,
    run_batches,
    text_cell,
    validate_rows,
)
from storage.models import District
from storage.text import has_chinese

DISTRICT_COLUMNS = ("city", "name", "name_zh", "aliases", "lat", "lon", "neighbours")
_REQUIRED = ("city", "name", "aliases", "lat", "lon", "neighbours")


@dataclass
class DistrictRow:
    city: str
    name: str
    name_zh: str | None
    aliases: list[str]
    lat: float | None
    lon: float | None
    neighbours: list[str]

    @property
    def key(self) -> tuple[str, str]:
        return self.city, self.name


def parse_district(row: Row) -> DistrictRow:
    city = required(row, "city", 64)
    name = required(row, "name", 64)
    aliases = [alias for alias in list_cell(row, "aliases") if alias != name]
    # Without a name_zh column, the first alias written in Chinese is the Chinese name.
    name_zh = text_cell(row, "name_zh", 64) or next((alias for alias in aliases if has_chinese(alias)), None)
    lat, lon = coordinates(row)
    neighbours = [neighbour for neighbour in list_cell(row, "neighbours") if neighbour != name]
    return DistrictRow(city, name, name_zh, aliases, lat, lon, neighbours)


async def import_districts(
    factory: async_sessionmaker[AsyncSession],
    source: CsvSource,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    report = ImportReport()
    rows = read_rows(source, DISTRICT_COLUMNS, _REQUIRED, report)
    good = validate_rows(rows, parse_district, report)
    good = last_wins(good, lambda parsed: parsed.key, report)

    async def handle(session: AsyncSession, batch: Sequence[tuple[Row, DistrictRow]]) -> None:
        keys = [parsed.key for _, parsed in batch]
        existing = {
            (d.city, d.name): d
            for d in await session.scalars(select(District).where(tuple_(District.city, District.name).in_(keys)))
        }
        for _, parsed in batch:
            values = {
                "name_zh": parsed.name_zh, "aliases": parsed.aliases, "lat": parsed.lat, "lon": parsed.lon,
                "neighbours": parsed.neighbours,
            }
            district = existing.get(parsed.key)
            if district is None:
                session.add(District(city=parsed.city, name=parsed.name, **values))
                report.inserted += 1
            elif any(getattr(district, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(district, name, value)
                report.updated += 1
            else:
                report.unchanged += 1

    await run_batches(factory, good, handle, progress, batch_size)
    await _warn_unknown_neighbours(factory, good, report)
    return report


async def _warn_unknown_neighbours(
    factory: async_sessionmaker[AsyncSession], good: list[tuple[Row, DistrictRow]], report: ImportReport
) -> None:
    cities = {parsed.city for _, parsed in good}
    if not cities:
        return
    async with factory() as session:
        query = select(District.city, District.name).where(District.city.in_(cities))
        known = set((await session.execute(query)).tuples())
    for row, parsed in good:
        for neighbour in parsed.neighbours:
            if (parsed.city, neighbour) not in known:
                report.warnings.append((row.line, f"neighbour {neighbour!r} is not a known district of {parsed.city}"))
