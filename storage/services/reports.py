"""Management reports for a period: tickets, response and resolution times, SLA compliance, workload, satisfaction,
handoffs, the needs -> viewings -> outcomes funnel, chats (consultations) with their first-response deadlines,
consultations by topic and channel, complaint causes and responsible parties, and every figure per team
(department: Ticket.team, Staff.team, ChatWait.team) as well as per person. Plain queries, aggregated in Python so
both backends agree.

SLA percentages come from timestamps (storage.services.sla.deadline_met), not from the breach flags the reminder
tick sets: a deadline counts once it has passed or the work is done, so open work that is not yet due counts
neither as met nor as missed.

    await build(session, start, end, now=None) -> Report     (start inclusive, end exclusive, aware datetimes)
    await consultation_rows(session, start, end) -> list[Consultation]
    to_csv(report) -> str                                     (one CSV with a section column)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.csv_export import csv_text
from storage.models import (
    Building,
    ChatWait,
    Conversation,
    Handoff,
    Need,
    Project,
    Staff,
    Survey,
    Ticket,
    Unit,
    Viewing,
)
from storage.models import Consultation as ConsultationRecord
from storage.services.sla import deadline_met

NO_TEAM = "(no team)"


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p90 = the value 90 % of cases stay within)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def share_met(outcomes: Iterable[bool | None]) -> tuple[int, int, float | None]:
    """(met, measured, percent met) over deadline outcomes; None outcomes (not yet due) are left out."""
    measured = [o for o in outcomes if o is not None]
    met = sum(1 for o in measured if o)
    return met, len(measured), round(100 * met / len(measured), 1) if measured else None


class StaffWorkload(TypedDict):
    """One staff member's line of the report (a dict, as the console's template and the CSV read it)."""

    staff: str
    team: str
    assigned: int
    resolved: int
    open: int
    breached: int
    resolution_median_h: float | None
    resolution_p90_h: float | None
    first_response_median_h: float | None
    first_response_p90_h: float | None
    first_response_pct: float | None
    resolution_pct: float | None
    chats: int  # chat waits this person answered
    chat_response_median_h: float | None
    chat_response_p90_h: float | None
    chat_pct: float | None


class TeamFigures(TypedDict):
    """One department's line: its tickets and its chats, with the same figures as the whole report."""

    team: str
    tickets: int
    open: int
    resolved: int
    breached: int
    first_response_median_h: float | None
    first_response_p90_h: float | None
    resolution_median_h: float | None
    resolution_p90_h: float | None
    first_response_pct: float | None
    resolution_pct: float | None
    chats: int
    chat_breached: int  # chats past their first-response deadline unanswered, or answered late
    chat_response_median_h: float | None
    chat_response_p90_h: float | None
    chat_pct: float | None


@dataclass(frozen=True)
class Consultation:
    """One consultation: a customer's question for staff. Today: a chat that waited for staff (its first wait in
    the period); staff-entered consultations (phone, visits) join in `consultation_rows`."""

    channel: str
    topic: str
    created_at: datetime
    staff_id: int | None


@dataclass
class Report:
    start: datetime
    end: datetime
    by_kind: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_project: list[tuple[str, int]] = field(default_factory=list)
    by_status: list[tuple[str, int]] = field(default_factory=list)
    times: dict[str, float | None] = field(default_factory=dict)  # hours
    sla: dict[str, float | int | None] = field(default_factory=dict)
    staff: list[StaffWorkload] = field(default_factory=list)
    teams: list[TeamFigures] = field(default_factory=list)
    satisfaction_by_staff: list[tuple[str, int, float]] = field(default_factory=list)
    satisfaction_by_category: list[tuple[str, int, float]] = field(default_factory=list)
    handoffs: list[tuple[str, int]] = field(default_factory=list)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    chat_times: dict[str, float | None] = field(default_factory=dict)  # hours
    chat_sla: dict[str, float | int | None] = field(default_factory=dict)
    consultations_by_topic: list[tuple[str, int]] = field(default_factory=list)
    consultations_by_channel: list[tuple[str, int]] = field(default_factory=list)
    complaint_causes: list[tuple[str, int]] = field(default_factory=list)
    complaint_parties: list[tuple[str, int]] = field(default_factory=list)
    complaint_verification: list[tuple[str, int]] = field(default_factory=list)


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds() / 3600)


def _counted(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def _ticket_outcomes(ticket: Ticket, now: datetime) -> tuple[bool | None, bool | None]:
    """(first response met, resolution met) from the ticket's timestamps; cancelled tickets count for neither."""
    if ticket.status == "cancelled":
        return None, None
    return (deadline_met(ticket.first_response_due_at, ticket.first_responded_at, now, ticket.sla_paused_at),
            deadline_met(ticket.resolve_due_at, ticket.resolved_at, now, ticket.sla_paused_at))


def _wait_outcome(wait: ChatWait, now: datetime) -> bool | None:
    return deadline_met(wait.due_at, wait.answered_at or wait.ended_at, now, wait.paused_at)


async def consultation_rows(session: AsyncSession, start: datetime, end: datetime) -> list[Consultation]:
    """Every consultation of the period, the one place the report reads them from: each chat conversation that
    waited for staff (channel telegram / web; topic: what the customer was doing), and each consultation staff
    entered from the customer card (phone, walk-in, WeChat, e-mail; `storage.models.Consultation`)."""
    rows = (await session.execute(
        select(ChatWait.conversation_id, ChatWait.channel, ChatWait.topic, ChatWait.started_at, ChatWait.answered_by)
        .where(ChatWait.started_at >= start, ChatWait.started_at < end).order_by(ChatWait.started_at, ChatWait.id)
    )).tuples().all()
    first: dict[int, Consultation] = {}
    for conversation_id, channel, topic, started_at, staff_id in rows:
        first.setdefault(conversation_id, Consultation(channel, topic, started_at, staff_id))
    entered = (await session.execute(
        select(ConsultationRecord.channel, ConsultationRecord.topic, ConsultationRecord.created_at,
               ConsultationRecord.staff_id)
        .where(ConsultationRecord.created_at >= start, ConsultationRecord.created_at < end)
        .order_by(ConsultationRecord.created_at, ConsultationRecord.id)
    )).tuples().all()
    return list(first.values()) + [Consultation(*row) for row in entered]


async def build(session: AsyncSession, start: datetime, end: datetime, now: datetime | None = None) -> Report:
    now = now or clock.now()
    report = Report(start, end)
    rows = (await session.execute(
        select(Ticket, Project.name)
        .outerjoin(Unit, Unit.id == Ticket.unit_id).outerjoin(Building, Building.id == Unit.building_id)
        .outerjoin(Project, Project.id == Building.project_id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
    )).tuples().all()
    tickets = [t for t, _ in rows]
    report.by_kind = _counted(Counter(t.kind for t in tickets))
    report.by_category = _counted(Counter(t.category for t in tickets))
    report.by_project = _counted(Counter(project or "(no unit)" for _, project in rows))
    report.by_status = _counted(Counter(t.status for t in tickets))

    first = [h for t in tickets if (h := _hours(t.created_at, t.first_responded_at)) is not None]
    resolve = [h for t in tickets if (h := _hours(t.created_at, t.resolved_at)) is not None]
    report.times = {"first_response_median": median(first), "first_response_p90": percentile(first, 0.9),
                    "resolution_median": median(resolve), "resolution_p90": percentile(resolve, 0.9),
                    "first_response_count": len(first), "resolution_count": len(resolve)}

    outcomes = {t.id: _ticket_outcomes(t, now) for t in tickets}
    fr_ok, fr_measured, fr_pct = share_met(o[0] for o in outcomes.values())
    res_ok, res_measured, res_pct = share_met(o[1] for o in outcomes.values())
    report.sla = {
        "tickets": sum(1 for t in tickets if t.status != "cancelled"),
        "first_response_measured": fr_measured, "resolution_measured": res_measured,
        "first_response_met": fr_ok, "resolution_met": res_ok,
        "first_response_pct": fr_pct, "resolution_pct": res_pct,
    }

    people = {s.id: s for s in (await session.scalars(select(Staff))).all()}
    names = {staff_id: person.name for staff_id, person in people.items()}
    waits = (await session.scalars(select(ChatWait).where(ChatWait.started_at >= start,
                                                          ChatWait.started_at < end))).all()
    report.staff = _per_staff(tickets, waits, outcomes, people, now)
    report.teams = _per_team(tickets, waits, outcomes, now)

    answered = [h for w in waits if (h := _hours(w.started_at, w.answered_at)) is not None]
    closed = dict((await session.execute(select(Conversation.id, Conversation.closed_at).where(
        Conversation.id.in_({w.conversation_id for w in waits}), Conversation.closed_at.is_not(None))
    )).tuples().all()) if waits else {}
    began: dict[int, datetime] = {}
    for wait in waits:
        began[wait.conversation_id] = min(wait.started_at, began.get(wait.conversation_id, wait.started_at))
    settled = [h for cid, at in began.items() if (h := _hours(at, closed.get(cid))) is not None]
    report.chat_times = {"first_response_median": median(answered), "first_response_p90": percentile(answered, 0.9),
                         "first_response_count": len(answered), "resolution_median": median(settled),
                         "resolution_p90": percentile(settled, 0.9), "resolution_count": len(settled)}
    chat_ok, chat_measured, chat_pct = share_met(_wait_outcome(w, now) for w in waits)
    report.chat_sla = {"waits": len(waits), "measured": chat_measured, "met": chat_ok, "pct": chat_pct}

    consultations = await consultation_rows(session, start, end)
    report.consultations_by_topic = _counted(Counter(c.topic for c in consultations))
    report.consultations_by_channel = _counted(Counter(c.channel for c in consultations))

    complaints = [t for t in tickets if t.kind == "complaint"]
    report.complaint_causes = _counted(Counter(t.root_cause or "(none)" for t in complaints
                                               if t.verification == "verified"))
    report.complaint_parties = _counted(Counter(t.responsible_party or "(none)" for t in complaints
                                                if t.verification == "verified"))
    report.complaint_verification = _counted(Counter(t.verification or "(not verified)" for t in complaints))

    surveys = (await session.execute(
        select(Survey.staff_id, Survey.category, Survey.score)
        .where(Survey.answered_at >= start, Survey.answered_at < end, Survey.score.is_not(None))
    )).tuples().all()
    by_staff: dict[str, list[int]] = defaultdict(list)
    by_category: dict[str, list[int]] = defaultdict(list)
    for rater_id, category, score in surveys:
        if score is None:  # the query asks only for answered surveys
            continue
        by_staff[names.get(rater_id, "(bot / nobody)") if rater_id else "(bot / nobody)"].append(score)
        by_category[category or "(none)"].append(score)
    report.satisfaction_by_staff = sorted(((k, len(v), round(sum(v) / len(v), 2)) for k, v in by_staff.items()),
                                          key=lambda r: (-r[1], r[0]))
    report.satisfaction_by_category = sorted(((k, len(v), round(sum(v) / len(v), 2))
                                              for k, v in by_category.items()), key=lambda r: (-r[1], r[0]))

    report.handoffs = _counted(Counter(dict((await session.execute(
        select(Handoff.reason, func.count()).where(Handoff.requested_at >= start, Handoff.requested_at < end)
        .group_by(Handoff.reason))).tuples().all())))

    needs = await session.scalar(select(func.count()).select_from(Need)
                                 .where(Need.created_at >= start, Need.created_at < end)) or 0
    viewing_rows = (await session.execute(
        select(Viewing.customer_id, Viewing.status, Viewing.outcome)
        .where(Viewing.created_at >= start, Viewing.created_at < end))).tuples().all()
    report.funnel = [
        ("needs", int(needs)),
        ("viewings booked", len(viewing_rows)),
        ("viewings done", sum(1 for _, status, _ in viewing_rows if status == "done")),
        ("interested", sum(1 for _, _, outcome in viewing_rows if outcome in ("interested", "offer"))),
        ("offers", sum(1 for _, _, outcome in viewing_rows if outcome == "offer")),
    ]
    return report


def _per_staff(tickets: list[Ticket], waits: Iterable[ChatWait], outcomes: dict[int, tuple[bool | None, bool | None]],
               people: dict[int, Staff], now: datetime) -> list[StaffWorkload]:
    per_staff: dict[int, StaffWorkload] = {}
    durations: dict[int, list[float]] = defaultdict(list)
    first_durations: dict[int, list[float]] = defaultdict(list)
    chat_durations: dict[int, list[float]] = defaultdict(list)
    mine: dict[int, list[Ticket]] = defaultdict(list)
    answered: dict[int, list[bool | None]] = defaultdict(list)

    def line(staff_id: int) -> StaffWorkload:
        person = people.get(staff_id)
        return per_staff.setdefault(staff_id, StaffWorkload(
            staff=person.name if person else f"#{staff_id}", team=(person.team if person else None) or NO_TEAM,
            assigned=0, resolved=0, open=0, breached=0, resolution_median_h=None, resolution_p90_h=None,
            first_response_median_h=None, first_response_p90_h=None, first_response_pct=None, resolution_pct=None,
            chats=0, chat_response_median_h=None, chat_response_p90_h=None, chat_pct=None))

    for t in tickets:
        if t.assignee_id is None:
            continue
        row = line(t.assignee_id)
        row["assigned"] += 1
        if t.status in ("resolved", "closed"):
            row["resolved"] += 1
        elif t.status != "cancelled":
            row["open"] += 1
        if False in outcomes[t.id]:
            row["breached"] += 1
        mine[t.assignee_id].append(t)
        if (h := _hours(t.created_at, t.resolved_at)) is not None:
            durations[t.assignee_id].append(h)
        if (h := _hours(t.created_at, t.first_responded_at)) is not None:
            first_durations[t.assignee_id].append(h)
    for wait in waits:
        if wait.answered_by is None:
            continue
        row = line(wait.answered_by)
        row["chats"] += 1
        answered[wait.answered_by].append(deadline_met(wait.due_at, wait.answered_at, wait.answered_at or now))
        if (h := _hours(wait.started_at, wait.answered_at)) is not None:
            chat_durations[wait.answered_by].append(h)
    for staff_id, row in per_staff.items():
        row["resolution_median_h"] = median(durations[staff_id])
        row["resolution_p90_h"] = percentile(durations[staff_id], 0.9)
        row["first_response_median_h"] = median(first_durations[staff_id])
        row["first_response_p90_h"] = percentile(first_durations[staff_id], 0.9)
        row["first_response_pct"] = share_met(outcomes[t.id][0] for t in mine[staff_id])[2]
        row["resolution_pct"] = share_met(outcomes[t.id][1] for t in mine[staff_id])[2]
        row["chat_response_median_h"] = median(chat_durations[staff_id])
        row["chat_response_p90_h"] = percentile(chat_durations[staff_id], 0.9)
        row["chat_pct"] = share_met(answered[staff_id])[2]
    return sorted(per_staff.values(), key=lambda r: (-(r["assigned"] + r["chats"]), r["staff"]))


def _per_team(tickets: list[Ticket], waits: Iterable[ChatWait],
              outcomes: dict[int, tuple[bool | None, bool | None]], now: datetime) -> list[TeamFigures]:
    by_team: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_team[t.team or NO_TEAM].append(t)
    chats_by_team: dict[str, list[ChatWait]] = defaultdict(list)
    for wait in waits:
        chats_by_team[wait.team or NO_TEAM].append(wait)
    lines: list[TeamFigures] = []
    for team in sorted(set(by_team) | set(chats_by_team)):
        mine, chats = by_team.get(team, []), chats_by_team.get(team, [])
        first = [h for t in mine if (h := _hours(t.created_at, t.first_responded_at)) is not None]
        resolve = [h for t in mine if (h := _hours(t.created_at, t.resolved_at)) is not None]
        answered = [h for w in chats if (h := _hours(w.started_at, w.answered_at)) is not None]
        lines.append(TeamFigures(
            team=team, tickets=len(mine),
            open=sum(1 for t in mine if t.status not in ("resolved", "closed", "cancelled")),
            resolved=sum(1 for t in mine if t.status in ("resolved", "closed")),
            breached=sum(1 for t in mine if False in outcomes[t.id]),
            first_response_median_h=median(first), first_response_p90_h=percentile(first, 0.9),
            resolution_median_h=median(resolve), resolution_p90_h=percentile(resolve, 0.9),
            first_response_pct=share_met(outcomes[t.id][0] for t in mine)[2],
            resolution_pct=share_met(outcomes[t.id][1] for t in mine)[2],
            chats=len(chats), chat_breached=sum(1 for w in chats if _wait_outcome(w, now) is False),
            chat_response_median_h=median(answered), chat_response_p90_h=percentile(answered, 0.9),
            chat_pct=share_met(_wait_outcome(w, now) for w in chats)[2]))
    return lines


def to_csv(report: Report) -> str:
    """The whole report as one CSV (cells neutralised against formula injection: storage.csv_export)."""
    rows: list[list[object]] = []
    for section, pairs in (("tickets by type", report.by_kind), ("tickets by category", report.by_category),
                           ("tickets by project", report.by_project), ("tickets by status", report.by_status),
                           ("handoffs by reason", report.handoffs), ("funnel", report.funnel),
                           ("consultations by topic", report.consultations_by_topic),
                           ("consultations by channel", report.consultations_by_channel),
                           ("complaints by root cause", report.complaint_causes),
                           ("complaints by responsible party", report.complaint_parties),
                           ("complaints by verification", report.complaint_verification)):
        for label, count in pairs:
            rows.append([section, label, count, ""])
    for key, hours in report.times.items():
        rows.append(["times (hours)", key, "" if hours is None else round(float(hours), 2), ""])
    for key, measure in report.sla.items():
        rows.append(["sla", key, "" if measure is None else measure, ""])
    for key, hours in report.chat_times.items():
        rows.append(["chat times (hours)", key, "" if hours is None else round(float(hours), 2), ""])
    for key, measure in report.chat_sla.items():
        rows.append(["chat sla", key, "" if measure is None else measure, ""])
    for team in report.teams:
        rows.append(["team", team["team"], team["tickets"], _extra(team)])
    for row in report.staff:
        median_h = row["resolution_median_h"]
        rows.append(["staff", row["staff"], row["assigned"],
                     f"resolved={row['resolved']};open={row['open']};breached={row['breached']};"
                     f"median_h={'' if median_h is None else round(median_h, 2)};team={row.get('team', '')};"
                     f"chats={row.get('chats', 0)};chat_median_h={_cell(row.get('chat_response_median_h'))};"
                     f"first_response_pct={_cell(row.get('first_response_pct'))};"
                     f"resolution_pct={_cell(row.get('resolution_pct'))};chat_pct={_cell(row.get('chat_pct'))}"])
    for label, count, average in report.satisfaction_by_staff:
        rows.append(["satisfaction by staff", label, average, f"answers={count}"])
    for label, count, average in report.satisfaction_by_category:
        rows.append(["satisfaction by category", label, average, f"answers={count}"])
    return csv_text(["section", "label", "value", "extra"], rows)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(round(float(value), 2)) if isinstance(value, int | float) else str(value)


def _extra(team: TeamFigures) -> str:
    """A team's figures after its ticket count, as `key=value` pairs joined by ';'."""
    return ";".join(f"{key}={_cell(value)}" for key, value in team.items() if key not in ("team", "tickets"))
