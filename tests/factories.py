"""Small builders for after-sales tests: customers, staff, projects with units."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Building, Customer, Project, Staff, Unit

_ids = itertools.count(5000)


async def customer(session: AsyncSession, *, language: str = "en", user_id: int | None = None) -> Customer:
    uid = user_id or next(_ids)
    row = Customer(telegram_user_id=uid, chat_id=uid, first_name=f"C{uid}", language=language, tags=[])
    session.add(row)
    await session.flush()
    return row


async def staff(
    session: AsyncSession, *, name: str = "Tech", role: str = "service", team: str | None = "repair",
    skills: list[str] | None = None, areas: list[str] | None = None, level: int = 1, lead: bool = False,
    chat_id: int | None = None, timezone: str | None = None, language: str = "en",
) -> Staff:
    n = next(_ids)
    row = Staff(email=f"s{n}@example.com", name=name, role=role, password_hash="x", team=team,
                skills=skills or [], service_areas=areas or [], level=level, is_team_lead=lead,
                telegram_chat_id=chat_id, timezone=timezone, language=language, working_hours={})
    session.add(row)
    await session.flush()
    return row


async def unit(
    session: AsyncSession, *, project: str = "Sunny Garden", building: str = "3", unit_no: str = "1201",
    phone: str = "13800138000", handover: date | None = date(2025, 6, 1),
) -> Unit:
    from sqlalchemy import select

    proj = await session.scalar(select(Project).where(Project.name == project))
    if proj is None:
        proj = Project(name=project, city="Beijing")
        session.add(proj)
        await session.flush()
    bld = await session.scalar(select(Building).where(Building.project_id == proj.id, Building.name == building))
    if bld is None:
        bld = Building(project_id=proj.id, name=building)
        session.add(bld)
        await session.flush()
    row = Unit(building_id=bld.id, unit_no=unit_no, owner_name="Owner", owner_phone=phone, handover_date=handover)
    session.add(row)
    await session.flush()
    return row
