"""Management reports for a period: tickets, response and resolution times, SLA compliance, workload, satisfaction,
handoffs and the needs -> viewings -> outcomes funnel. Plain queries, aggregated in Python so both backends agree.

    await build(session, start, end) -> Report        (start inclusive, end exclusive, aware datetimes)
    to_csv(report) -> str                               (one CSV with a section column)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.csv_export import csv_text
from storage.models import Building, Handoff, Need, Project, Staff, Survey, Ticket, Unit, Viewing


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p90 = the value 90 % of cases stay within)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


class StaffWorkload(TypedDict):
    """One staff member's line of the report (a dict, as the console's template and the CSV read it)."""

    staff: str
    assigned: int
    resolved: int
    open: int
    breached: int
    resolution_median_h: float | None


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
    satisfaction_by_staff: list[tuple[str, int, float]] = field(default_factory=list)
    satisfaction_by_category: list[tuple[str, int, float]] = field(default_factory=list)
    handoffs: list[tuple[str, int]] = field(default_factory=list)
    funnel: list[tuple[str, int]] = field(default_factory=list)


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return max(0.0, (b - a).total_seconds() / 3600)


def _counted(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


async def build(session: AsyncSession, start: datetime, end: datetime) -> Report:
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

    measured = [t for t in tickets if t.status != "cancelled"]
    fr_ok = sum(1 for t in measured if not t.first_response_breached)
    res_ok = sum(1 for t in measured if not t.resolution_breached)
    report.sla = {
        "tickets": len(measured),
        "first_response_met": fr_ok, "resolution_met": res_ok,
        "first_response_pct": round(100 * fr_ok / len(measured), 1) if measured else None,
        "resolution_pct": round(100 * res_ok / len(measured), 1) if measured else None,
    }

    names = dict((await session.execute(select(Staff.id, Staff.name))).tuples().all())
    per_staff: dict[int, StaffWorkload] = {}
    durations: dict[int, list[float]] = defaultdict(list)
    for t in tickets:
        if t.assignee_id is None:
            continue
        row = per_staff.setdefault(t.assignee_id, StaffWorkload(
            staff=names.get(t.assignee_id, f"#{t.assignee_id}"), assigned=0, resolved=0, open=0, breached=0,
            resolution_median_h=None))
        row["assigned"] += 1
        if t.status in ("resolved", "closed"):
            row["resolved"] += 1
        elif t.status != "cancelled":
            row["open"] += 1
        if t.first_response_breached or t.resolution_breached:
            row["breached"] += 1
        if (h := _hours(t.created_at, t.resolved_at)) is not None:
            durations[t.assignee_id].append(h)
    for staff_id, row in per_staff.items():
        row["resolution_median_h"] = median(durations[staff_id])
    report.staff = sorted(per_staff.values(), key=lambda r: (-r["assigned"], r["staff"]))

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


def to_csv(report: Report) -> str:
    """The whole report as one CSV (cells neutralised against formula injection: storage.csv_export)."""
    rows: list[list[object]] = []
    for section, pairs in (("tickets by type", report.by_kind), ("tickets by category", report.by_category),
                           ("tickets by project", report.by_project), ("tickets by status", report.by_status),
                           ("handoffs by reason", report.handoffs), ("funnel", report.funnel)):
        for label, count in pairs:
            rows.append([section, label, count, ""])
    for key, hours in report.times.items():
        rows.append(["times (hours)", key, "" if hours is None else round(float(hours), 2), ""])
    for key, measure in report.sla.items():
        rows.append(["sla", key, "" if measure is None else measure, ""])
    for row in report.staff:
        median_h = row["resolution_median_h"]
        rows.append(["staff", row["staff"], row["assigned"],
                     f"resolved={row['resolved']};open={row['open']};breached={row['breached']};"
                     f"median_h={'' if median_h is None else round(median_h, 2)}"])
    for label, count, average in report.satisfaction_by_staff:
        rows.append(["satisfaction by staff", label, average, f"answers={count}"])
    for label, count, average in report.satisfaction_by_category:
        rows.append(["satisfaction by category", label, average, f"answers={count}"])
    return csv_text(["section", "label", "value", "extra"], rows)
