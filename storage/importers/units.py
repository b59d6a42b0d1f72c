"""Units already sold (`project,building,unit_no,owner_name,owner_phone,handover_date`), keyed by the three names.

Projects and buildings are created on first mention, so a developer's owner list imports in one go. A handover
date learnt from the file decides the warranty of the home's open repair tickets filed while it was unknown
(storage.services.units.settle_warranty_in), as the unit page does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.importers.common import (
    BATCH_SIZE,
    CsvSource,
    ImportReport,
    ProgressCallback,
    Row,
    RowError,
    date_cell,
    last_wins,
    read_rows,
    required,
    run_batches,
    text_cell,
    validate_rows,
)
from storage.models import Building, Project, Unit
from storage.services import units
from storage.services.phones import is_plausible_phone, normalise_phone

UNIT_COLUMNS = ("project", "building", "unit_no", "owner_name", "owner_phone", "handover_date")
_REQUIRED = ("project", "building", "unit_no", "owner_phone")


@dataclass
class UnitRow:
    project: str
    building: str
    unit_no: str
    owner_name: str
    owner_phone: str
    handover_date: date | None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.project, self.building, self.unit_no


def parse_unit(row: Row) -> UnitRow:
    raw_phone = required(row, "owner_phone", 32)
    phone = normalise_phone(raw_phone)
    if not is_plausible_phone(phone):
        raise RowError(f"owner_phone {raw_phone!r} is not a phone number (7 to 15 digits)")
    return UnitRow(
        project=required(row, "project", 128),
        building=required(row, "building", 64),
        unit_no=required(row, "unit_no", 32),
        owner_name=text_cell(row, "owner_name", 128),
        owner_phone=phone,
        handover_date=date_cell(row, "handover_date"),
    )


async def import_units(
    factory: async_sessionmaker[AsyncSession],
    source: CsvSource,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    report = ImportReport()
    rows = read_rows(source, UNIT_COLUMNS, _REQUIRED, report)
    good = last_wins(validate_rows(rows, parse_unit, report), lambda parsed: parsed.key, report)
    buildings: dict[tuple[str, str], int] = {}  # (project, building) -> building id, across batches

    async def building_id(session: AsyncSession, project_name: str, building_name: str) -> int:
        key = (project_name, building_name)
        if key not in buildings:
            project = await session.scalar(select(Project).where(Project.name == project_name))
            if project is None:
                project = Project(name=project_name)
                session.add(project)
                await session.flush()
            building = await session.scalar(
                select(Building).where(Building.project_id == project.id, Building.name == building_name)
            )
            if building is None:
                building = Building(project_id=project.id, name=building_name)
                session.add(building)
                await session.flush()
            buildings[key] = building.id
        return buildings[key]

    async def handle(session: AsyncSession, batch: Sequence[tuple[Row, UnitRow]]) -> None:
        by_building: dict[int, list[UnitRow]] = {}
        for _, parsed in batch:
            by_building.setdefault(await building_id(session, parsed.project, parsed.building), []).append(parsed)
        for bid, parsed_units in by_building.items():
            numbers = [parsed.unit_no for parsed in parsed_units]
            existing = {
                unit.unit_no: unit
                for unit in await session.scalars(
                    select(Unit).where(Unit.building_id == bid, Unit.unit_no.in_(numbers))
                )
            }
            new_units = []
            for parsed in parsed_units:
                values = {
                    "owner_name": parsed.owner_name, "owner_phone": parsed.owner_phone,
                    "handover_date": parsed.handover_date,
                }
                unit = existing.get(parsed.unit_no)
                if unit is None:
                    new_units.append({"building_id": bid, "unit_no": parsed.unit_no, **values})
                elif any(getattr(unit, name) != value for name, value in values.items()):
                    handover_learnt = unit.handover_date is None and parsed.handover_date is not None
                    for name, value in values.items():
                        setattr(unit, name, value)
                    report.updated += 1
                    if handover_learnt:  # repairs filed while the warranty was unknown are decided now
                        await units.settle_warranty_in(session, unit)
                else:
                    report.unchanged += 1
            if new_units:  # one statement for the batch; the ORM would insert row by row on SQLite
                await session.execute(insert(Unit), new_units)
                report.inserted += len(new_units)

    await run_batches(factory, good, handle, progress, batch_size)
    return report
