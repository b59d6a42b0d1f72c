"""Homes already sold, for the console's unit pages: browse with filters and paging, one home with its owners,
the customers who may be its owner, and its tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import LIKE_ESCAPE, like_pattern
from storage.models import Building, Customer, CustomerUnit, Project, Ticket, Unit

FLAGS = ("no_owner", "no_handover", "flagged")  # no verified owner linked; no handover date; tickets waiting


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    project: str
    building: str
    owners: int
    flagged_tickets: int

    @property
    def label(self) -> str:
        return f"{self.project} {self.building}-{self.unit.unit_no}"


@dataclass(frozen=True)
class LinkedOwner:
    customer: Customer
    verified_at: datetime


@dataclass(frozen=True)
class UnitDetail:
    row: UnitRow
    owners: list[LinkedOwner]
    candidates: list[Customer]  # not linked, phone matches the registered owner's
    tickets: list[Ticket]


def _flagged(unit_id: Any) -> Select[tuple[int]]:
    return select(func.count(Ticket.id)).where(
        Ticket.unit_id == unit_id, or_(Ticket.needs_verification.is_(True), Ticket.warranty_status == "unknown"),
        Ticket.status.in_(("new", "assigned", "in_progress", "waiting_customer")))


def _rows() -> Select[tuple[Unit, str, str, int, int]]:
    owners = select(func.count(CustomerUnit.id)).where(CustomerUnit.unit_id == Unit.id).scalar_subquery()
    flagged = _flagged(Unit.id).scalar_subquery()
    return (select(Unit, Project.name, Building.name, owners, flagged)
            .join(Building, Building.id == Unit.building_id).join(Project, Project.id == Building.project_id))


async def projects(session: AsyncSession) -> list[Project]:
    return list((await session.scalars(select(Project).order_by(Project.name))).all())


async def browse(session: AsyncSession, *, project_id: int | None = None, query: str = "", flag: str = "",
                 page: int = 1, per_page: int = 50) -> tuple[list[UnitRow], int]:
    """One page of homes (project, building, number order) and how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if project_id is not None:
        conditions.append(Project.id == project_id)
    if query:
        like = like_pattern(query)
        digits = "".join(ch for ch in query if ch.isdigit())
        conditions.append(or_(func.lower(Unit.unit_no).like(like, escape=LIKE_ESCAPE),
                              func.lower(Building.name).like(like, escape=LIKE_ESCAPE),
                              func.lower(Unit.owner_name).like(like, escape=LIKE_ESCAPE),
                              *([Unit.owner_phone.like(f"%{digits}%")] if len(digits) >= 3 else [])))
    if flag == "no_owner":
        conditions.append(~exists().where(CustomerUnit.unit_id == Unit.id))
    elif flag == "no_handover":
        conditions.append(Unit.handover_date.is_(None))
    elif flag == "flagged":
        conditions.append(_flagged(Unit.id).scalar_subquery() > 0)
    where = and_(*conditions) if conditions else None
    counted = (select(func.count(Unit.id)).join(Building, Building.id == Unit.building_id)
               .join(Project, Project.id == Building.project_id))
    statement = _rows().order_by(Project.name, Building.name, Unit.unit_no, Unit.id)
    if where is not None:
        counted, statement = counted.where(where), statement.where(where)
    total = int(await session.scalar(counted) or 0)
    result = await session.execute(statement.offset((max(page, 1) - 1) * per_page).limit(per_page))
    return [UnitRow(*row) for row in result.all()], total


async def detail(session: AsyncSession, unit_id: int) -> UnitDetail | None:
    found = (await session.execute(_rows().where(Unit.id == unit_id))).first()
    if found is None:
        return None
    row = UnitRow(*found)
    linked = (await session.execute(select(Customer, CustomerUnit.verified_at)
                                    .join(CustomerUnit, CustomerUnit.customer_id == Customer.id)
                                    .where(CustomerUnit.unit_id == unit_id).order_by(CustomerUnit.id))).all()
    owner_ids = [customer.id for customer, _ in linked]
    same_phone = select(Customer).where(Customer.phone == row.unit.owner_phone)
    if owner_ids:
        same_phone = same_phone.where(Customer.id.not_in(owner_ids))
    candidates = (await session.scalars(same_phone.order_by(Customer.id).limit(20))).all()
    # The home's tickets, and the flagged ones of its owners or would-be owners that name no home.
    people = [*owner_ids, *(customer.id for customer in candidates)]
    tickets = (await session.scalars(select(Ticket).where(or_(
        Ticket.unit_id == unit_id,
        and_(Ticket.unit_id.is_(None), Ticket.needs_verification.is_(True), Ticket.customer_id.in_(people)),
    )).order_by(Ticket.id.desc()).limit(50))).all()
    return UnitDetail(row, [LinkedOwner(customer, at) for customer, at in linked], list(candidates), list(tickets))
