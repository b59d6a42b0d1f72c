"""Deal queries for the console: the deals list, the milestones board (overdue first), step durations (p50/p90
from the milestone events), overdue counts per track and the complaints linked to deals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Deal, Milestone, MilestoneEvent, Project, Staff, Ticket
from storage.services.milestones import TRACK_NAMES, steps

LIMIT = 300


@dataclass(frozen=True)
class DealRow:
    deal: Deal
    project: str | None
    staff: str | None


async def listing(session: AsyncSession, *, project: str | None = None, text: str | None = None,
                  limit: int = LIMIT) -> list[DealRow]:
    query = (select(Deal, Project.name, Staff.name).outerjoin(Project, Project.id == Deal.project_id)
             .outerjoin(Staff, Staff.id == Deal.staff_id))
    if project:
        query = query.where(Project.name == project)
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Deal.contract_no.ilike(like), Deal.customer_name.ilike(like),
                                Deal.customer_phone.ilike(like)))
    rows = (await session.execute(query.order_by(Deal.signed_on.desc(), Deal.id.desc()).limit(limit))).tuples()
    return [DealRow(deal, project_name, staff_name) for deal, project_name, staff_name in rows]


@dataclass(frozen=True)
class BoardRow:
    milestone: Milestone
    deal: Deal
    project: str | None
    owner: str | None  # the step's responsible staff member (the track's, else the deal's)
    overdue: bool


async def board(session: AsyncSession, *, now: datetime, project: str | None = None, track: str | None = None,
                status: str | None = None, owner: int | None = None, limit: int = LIMIT) -> list[BoardRow]:
    """Open steps of active deals: overdue first, then by due time (no due time last)."""
    responsible = func.coalesce(Milestone.staff_id, Deal.staff_id)
    query = (select(Milestone, Deal, Project.name, Staff.name).join(Deal, Deal.id == Milestone.deal_id)
             .outerjoin(Project, Project.id == Deal.project_id).outerjoin(Staff, Staff.id == responsible)
             .where(Milestone.finished_at.is_(None), Deal.status == "active"))
    if project:
        query = query.where(Project.name == project)
    if track:
        query = query.where(Milestone.track == track)
    if status:
        query = query.where(Milestone.status == status)
    if owner is not None:
        query = query.where(responsible == owner)
    query = query.order_by(Milestone.due_at.is_(None), Milestone.due_at, Milestone.id).limit(limit)
    rows = (await session.execute(query)).tuples().all()
    return [BoardRow(m, d, p, s, m.due_at is not None and m.due_at < now) for m, d, p, s in rows]


@dataclass(frozen=True)
class StepDuration:
    track: str
    step: str
    count: int
    p50_hours: float
    p90_hours: float


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


async def step_durations(session: AsyncSession, *, project: str | None = None) -> list[StepDuration]:
    """How long each finished step took: from the event entering it to the next status event of the track."""
    query = (select(MilestoneEvent.milestone_id, Milestone.track, MilestoneEvent.to_status, MilestoneEvent.at)
             .join(Milestone, Milestone.id == MilestoneEvent.milestone_id)
             .where(MilestoneEvent.kind == "status"))
    if project:
        query = query.join(Deal, Deal.id == Milestone.deal_id).join(Project, Project.id == Deal.project_id) \
            .where(Project.name == project)
    rows = (await session.execute(query.order_by(MilestoneEvent.milestone_id, MilestoneEvent.at,
                                                 MilestoneEvent.id))).tuples().all()
    spans: dict[tuple[str, str], list[float]] = defaultdict(list)
    for index, (milestone_id, track, status, at) in enumerate(rows):
        following = rows[index + 1] if index + 1 < len(rows) else None
        if following is not None and following[0] == milestone_id and status:
            spans[(track, status)].append((following[3] - at).total_seconds() / 3600)
    order = {(t, s.code): (i, j) for i, t in enumerate(TRACK_NAMES) for j, s in enumerate(steps(t))}
    return [StepDuration(track, step, len(hours), round(percentile(hours, 50), 1), round(percentile(hours, 90), 1))
            for (track, step), hours in sorted(spans.items(), key=lambda item: order.get(item[0], (99, 99)))]


async def overdue_counts(session: AsyncSession, now: datetime, *, project: str | None = None) -> dict[str, int]:
    """Open steps past their due time, per track (every track listed, zero included)."""
    query = (select(Milestone.track, func.count()).join(Deal, Deal.id == Milestone.deal_id)
             .where(Milestone.finished_at.is_(None), Milestone.due_at < now, Deal.status == "active"))
    if project:
        query = query.join(Project, Project.id == Deal.project_id).where(Project.name == project)
    found = dict((await session.execute(query.group_by(Milestone.track))).tuples().all())
    return {track: int(found.get(track, 0)) for track in TRACK_NAMES}


async def deal_complaints(session: AsyncSession, *, project: str | None = None) -> dict[str, int]:
    """Complaints linked to deals, by category: complaint tickets of a customer with an active deal, or about a
    home a deal is for (the seeds name title transfer and loans as a main source of complaints)."""
    linked = or_(
        Ticket.customer_id.in_(select(Deal.customer_id).where(Deal.customer_id.is_not(None), Deal.status == "active")),
        Ticket.unit_id.in_(select(Deal.unit_id).where(Deal.unit_id.is_not(None), Deal.status == "active")),
    )
    query = select(Ticket.category, func.count()).where(Ticket.kind == "complaint", linked)
    if project:
        query = query.where(Ticket.customer_id.in_(
            select(Deal.customer_id).join(Project, Project.id == Deal.project_id).where(Project.name == project)))
    rows = (await session.execute(query.group_by(Ticket.category).order_by(func.count().desc()))).tuples().all()
    return {category: int(count) for category, count in rows}
