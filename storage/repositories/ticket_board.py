"""The tickets board: filtered, searched and paged in the database (never a Python filter after a LIMIT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import LIKE_ESCAPE, like_pattern
from storage.models import Building, Customer, Project, Staff, Ticket, Unit
from storage.vocabulary import OPEN_TICKET_STATUSES as OPEN_STATUSES
from storage.vocabulary import TICKET_STATUSES, TicketKind

PAGE_SIZE = 50
MAX_PAGE = 100_000


@dataclass(frozen=True)
class BoardFilters:
    status: str = ""  # "" or "open": open and resolved; "all"; or one status
    kind: str = ""
    category: str = ""
    project: str = ""
    assignee: str = ""  # "", "me", "none" or a staff id
    overdue: bool = False
    search: str = ""  # a ticket number, or part of a customer's name or phone


@dataclass(frozen=True)
class BoardPage:
    rows: list[tuple[Ticket, Customer, str | None, str | None]]  # ticket, customer, project name, assignee name
    total: int
    page: int
    pages: int


def _overdue(now: datetime) -> ColumnElement[bool]:
    return and_(Ticket.status.in_(OPEN_STATUSES), or_(
        and_(Ticket.resolve_due_at.is_not(None), Ticket.resolve_due_at < now),
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now)))


def _where(query: Select, filters: BoardFilters, me_id: int, now: datetime) -> Select:
    if filters.status in ("", "open"):
        query = query.where(Ticket.status.in_(OPEN_STATUSES + ("resolved",)))
    elif filters.status in TICKET_STATUSES:
        query = query.where(Ticket.status == filters.status)
    if filters.kind in tuple(TicketKind):
        query = query.where(Ticket.kind == filters.kind)
    if filters.category:
        query = query.where(Ticket.category == filters.category)
    if filters.project:
        query = query.where(Project.name == filters.project)
    if filters.assignee == "me":
        query = query.where(Ticket.assignee_id == me_id)
    elif filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif filters.assignee.isdigit() and len(filters.assignee) < 19:
        query = query.where(Ticket.assignee_id == int(filters.assignee))
    if filters.overdue:
        query = query.where(_overdue(now))
    if search := filters.search.strip():
        like = like_pattern(search)
        name = func.lower(Customer.first_name + " " + func.coalesce(Customer.last_name, ""))
        query = query.where(or_(
            func.lower(Ticket.number).like(like, escape=LIKE_ESCAPE),
            name.like(like, escape=LIKE_ESCAPE),
            func.lower(func.coalesce(Customer.username, "")).like(like, escape=LIKE_ESCAPE),
            func.coalesce(Customer.phone, "").like(like, escape=LIKE_ESCAPE),
        ))
    return query


def _joined(query: Select) -> Select:
    return (query.join(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Unit, Unit.id == Ticket.unit_id).outerjoin(Building, Building.id == Unit.building_id)
            .outerjoin(Project, Project.id == Building.project_id))


async def board(session: AsyncSession, filters: BoardFilters, *, me_id: int, now: datetime, page: int = 1,
                page_size: int = PAGE_SIZE) -> BoardPage:
    """One page of the board: the viewer's own tickets first, then the most urgent deadline."""
    total = await session.scalar(_where(_joined(select(func.count(Ticket.id)).select_from(Ticket)),
                                        filters, me_id, now)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages, MAX_PAGE)
    mine_first = case((Ticket.assignee_id == me_id, 0), else_=1)
    query = _where(_joined(select(Ticket, Customer, Project.name, Staff.name).select_from(Ticket))
                   .outerjoin(Staff, Staff.id == Ticket.assignee_id), filters, me_id, now)
    query = (query.order_by(mine_first, Ticket.resolve_due_at.is_(None), Ticket.resolve_due_at, Ticket.id)
             .limit(page_size).offset((page - 1) * page_size))
    rows = list((await session.execute(query)).tuples().all())
    return BoardPage(rows=rows, total=total, page=page, pages=pages)
