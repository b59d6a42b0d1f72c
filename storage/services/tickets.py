"""Repair and complaint tickets: one set of rules for the bot and the console.

    await create_ticket(session, *, kind, category, customer_id, description="", unit_id=None, priority="normal",
                        access_window=None, conversation_id=None, photo_file_ids=(), needs_verification=False,
                        entered_by=None)
        -> Ticket                                    (number R-2026-000123 / C-2026-000045, warranty, team, SLA)
    await change_status(session, ticket, to, *, staff=None, customer_id=None, note=None) -> Ticket
    await assign(session, ticket, staff_id, *, by=None) -> Ticket
    await set_quote(session, ticket, amount, *, staff) / accept_quote(session, ticket, customer_id) /
    await decline_quote(session, ticket, customer_id)
    await confirm_resolution(session, ticket, customer_id) / reopen(session, ticket, customer_id, reason)
    await add_note(...), add_info(...), add_attachment(...), set_cost(...)
    await suggest_assignees(session, ticket, limit=5) -> list[Suggestion]
    await reclassify(session, ticket, category, *, staff, note=None)      (a new category, team and deadlines)
    await verify(session, ticket, outcome, *, staff, note=None)           (complaints: verified | unsubstantiated)
    await set_responsibility(session, ticket, *, party, cause, action, staff)   (complaints: who, why, what changes)

Complaints are handled to the end: staff resolve one only after its verification, and a verified complaint only
with the responsible party and its root cause recorded (`complaint_unfinished` says what is missing). Suggestions
(kind "suggestion", S-2026-000001) are light: categories of their own, no warranty, no handoff.

Functions that set SLA deadlines or schedule reminders take `settings` (business calendar, quiet hours).
Every change writes a TicketEvent (who, when, from, to). Changes the customer must hear about are queued as
reminders of kind "ticket_update" (due at once, not held for the night) that `dialogs.reminders.tick` renders in
the customer's language; the functions never build channel messages themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import dialect_insert
from storage.models import (
    Building,
    Project,
    Staff,
    StaffTimeOff,
    Ticket,
    TicketAttachment,
    TicketCounter,
    TicketEvent,
    Unit,
)
from storage.services import reminders, sla, surveys, warranty
from storage.settings import Settings
from storage.vocabulary import (
    CATEGORIES_BY_KIND,
    OPEN_TICKET_STATUSES,
    PRIORITIES,
    RESPONSIBLE_PARTIES,
    ROOT_CAUSES,
    VERIFICATIONS,
    StaffRole,
    TicketKind,
)

PREFIXES = {"repair": "R", "complaint": "C", "suggestion": "S"}
OPEN_STATUSES = OPEN_TICKET_STATUSES
# Who may move a ticket where. Reopening (resolved -> in_progress) is the customer's rejection of a resolution.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("assigned", "in_progress", "waiting_customer", "cancelled"),
    "assigned": ("in_progress", "waiting_customer", "resolved", "cancelled"),
    "in_progress": ("waiting_customer", "resolved", "cancelled"),
    "waiting_customer": ("new", "assigned", "in_progress", "resolved", "cancelled"),  # back to where it waited
    "resolved": ("closed", "in_progress"),
    "closed": (),
    "cancelled": (),
}
# A suggestion is light: customer relations may answer it straight from "new"; the answer closes it.
SUGGESTION_TRANSITIONS = {**TRANSITIONS, "new": (*TRANSITIONS["new"], "resolved")}


def transitions(ticket: Ticket) -> tuple[str, ...]:
    """Where staff may move this ticket from its status."""
    table = SUGGESTION_TRANSITIONS if ticket.kind == TicketKind.SUGGESTION else TRANSITIONS
    return table.get(ticket.status, ())


# Complaints go to the team that owns the problem (Staff.team).
COMPLAINT_TEAMS = {
    "service_attitude": "complaints",
    "product_quality": "repair",
    "delayed_handover": "complaints",
    "property_management": "property",
    "contract_sales": "sales",
    "other": "complaints",
}
# Suggestions go to customer relations, who answer complaints too.
SUGGESTION_TEAM = "complaints"


def team_for(kind: str, category: str) -> str:
    """The department that owns a new ticket of this kind and category."""
    if kind == TicketKind.COMPLAINT:
        return COMPLAINT_TEAMS.get(category, "complaints")
    if kind == TicketKind.SUGGESTION:
        return SUGGESTION_TEAM
    return "repair"


# Statuses the customer is told about.
CUSTOMER_VISIBLE = ("assigned", "in_progress", "waiting_customer", "resolved", "closed", "cancelled")
REVISIT_AFTER_REPAIR = timedelta(days=7)
AUTO_CLOSE_AFTER = timedelta(days=3)  # a resolution the customer neither confirmed nor rejected


class TicketError(Exception):
    """The change is not allowed in the ticket's state; the message says why."""


async def next_number(session: AsyncSession, kind: str, year: int) -> str:
    """Atomically take the next number of a kind and year: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING.

    The row lock of the upsert serialises concurrent creators on PostgreSQL; SQLite has one writer anyway.
    """
    prefix = PREFIXES[kind]
    statement = dialect_insert(session)(TicketCounter).values(prefix=prefix, year=year, last=1).on_conflict_do_update(
        index_elements=[TicketCounter.prefix, TicketCounter.year], set_={"last": TicketCounter.last + 1}
    ).returning(TicketCounter.last)
    value = (await session.execute(statement)).scalar_one()
    return f"{prefix}-{year}-{value:06d}"


async def _event(
    session: AsyncSession, ticket: Ticket, kind: str, *, staff_id: int | None = None, customer_id: int | None = None,
    from_status: str | None = None, to_status: str | None = None, body: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    row = TicketEvent(ticket_id=ticket.id, at=clock.now(), kind=kind, actor_staff_id=staff_id,
                      actor_customer_id=customer_id, from_status=from_status, to_status=to_status, body=body,
                      data=data or {})
    session.add(row)
    await session.flush()
    return row


async def tell_customer(session: AsyncSession, ticket: Ticket, what: str, *, settings: Settings, **data: Any) -> None:
    """Queue a message for the customer about their ticket (rendered in their language by the reminder tick)."""
    await reminders.schedule(
        session, kind="ticket_update", due_at=clock.now(), recipient_customer_id=ticket.customer_id,
        subject_type="ticket", subject_id=ticket.id, quiet_hours=False, settings=settings,
        payload={"what": what, "number": ticket.number, "status": ticket.status, **data},
    )


async def unit_project(session: AsyncSession, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    return await session.scalar(
        select(Project.name).join(Building, Building.project_id == Project.id).join(Unit, Unit.building_id ==
                                                                                    Building.id)
        .where(Unit.id == unit_id)
    )


async def create_ticket(
    session: AsyncSession,
    *,
    kind: str,
    category: str,
    customer_id: int,
    description: str = "",
    unit_id: int | None = None,
    priority: str = "normal",
    access_window: str | None = None,
    conversation_id: int | None = None,
    photo_file_ids: tuple[str, ...] | list[str] = (),
    needs_verification: bool = False,
    entered_by: Staff | None = None,
    settings: Settings,
) -> Ticket:
    """A new ticket with its number, warranty, team, SLA deadlines and the team leads' reminders, filed by the
    customer (the bot) or for them by a staff member (`entered_by`, recorded on the ticket and its first event)."""
    categories = CATEGORIES_BY_KIND.get(kind, ())
    if category not in categories:
        raise TicketError(f"unknown {kind} category {category!r}")
    if priority not in PRIORITIES:
        raise TicketError(f"unknown priority {priority!r}")
    now = clock.now()
    ticket = Ticket(
        number=await next_number(session, kind, now.year), kind=kind, category=category, status="new",
        priority=priority, customer_id=customer_id, unit_id=unit_id, conversation_id=conversation_id,
        description=description.strip()[:4000], access_window=(access_window or None) and access_window[:256],
        needs_verification=needs_verification, created_at=now, updated_at=now,
        team=team_for(kind, category),
        entered_by_id=entered_by.id if entered_by else None,
    )
    if kind == "repair" and unit_id is not None:
        handover = await session.scalar(select(Unit.handover_date).where(Unit.id == unit_id))
        ticket.warranty_status = await warranty.status(session, handover, category, now.date())
    session.add(ticket)
    await session.flush()
    await sla.apply_deadlines(session, ticket, now, settings=settings)
    for file_id in photo_file_ids:
        session.add(TicketAttachment(ticket_id=ticket.id, telegram_file_id=file_id, kind="photo",
                                     uploaded_by_customer=True, created_at=now))
    await _event(session, ticket, "created", customer_id=None if entered_by else customer_id,
                 staff_id=entered_by.id if entered_by else None, to_status="new",
                 data={"photos": len(photo_file_ids), "warranty": ticket.warranty_status,
                       **({"entered_by": entered_by.name} if entered_by else {})})
    await _tell_team(session, ticket, settings)
    await session.flush()
    return ticket


async def _tell_team(session: AsyncSession, ticket: Ticket, settings: Settings) -> None:
    """The responsible team's leads hear of a new ticket (at once for emergencies, else not at night)."""
    leads = (await session.scalars(select(Staff.id).where(Staff.is_active.is_(True), Staff.is_team_lead.is_(True),
                                                          Staff.team == ticket.team))).all()
    for lead_id in leads:
        await reminders.schedule(
            session, kind="ticket_new", due_at=clock.now(), recipient_staff_id=lead_id, subject_type="ticket",
            subject_id=ticket.id, quiet_hours=ticket.priority != "emergency", dedupe_key=f"new:{ticket.id}:{lead_id}",
            payload={"number": ticket.number, "category": ticket.category, "priority": ticket.priority},
            settings=settings,
        )


async def _pre_wait_status(session: AsyncSession, ticket: Ticket) -> str:
    """Where a ticket goes back to after waiting for the customer."""
    previous = await session.scalar(
        select(TicketEvent.from_status).where(TicketEvent.ticket_id == ticket.id,
                                              TicketEvent.to_status == "waiting_customer")
        .order_by(TicketEvent.id.desc()).limit(1)
    )
    if previous in ("assigned", "in_progress"):
        return previous
    return "assigned" if ticket.assignee_id else "new"


def _refusal(ticket: Ticket, to: str, *, by_staff: bool = True) -> str | None:
    """Why the ticket cannot go to `to` now (beyond its transitions), or None. Staff resolve a complaint only
    once it is handled (complaint_unfinished); a customer's confirmation is not held to that."""
    if to == "in_progress" and ticket.quote_accepted_at is None:
        if ticket.warranty_status == "out":
            return "out of warranty: the customer must accept a quote before work starts"
        if ticket.quote_amount is not None:
            return "the customer has not accepted the quote yet"
    if to == "assigned" and ticket.assignee_id is None:
        return "assign someone first"
    if to == "resolved" and by_staff and (missing := complaint_unfinished(ticket)):
        return missing
    return None


def allowed_next(ticket: Ticket) -> tuple[str, ...]:
    """The statuses staff may move this ticket to now: the ones change_status would accept."""
    return tuple(to for to in transitions(ticket) if _refusal(ticket, to) is None)


async def change_status(
    session: AsyncSession, ticket: Ticket, to: str, *, staff: Staff | None = None, customer_id: int | None = None,
    note: str | None = None, tell: bool = True, settings: Settings,
) -> Ticket:
    """Move a ticket along TRANSITIONS; keeps SLA pauses, timestamps, reminders, survey and revisit in step."""
    if to == ticket.status:
        raise TicketError(f"the ticket is already {to}")
    if to not in transitions(ticket):
        raise TicketError(f"cannot go from {ticket.status} to {to}")
    refusal = _refusal(ticket, to, by_staff=staff is not None)
    if refusal is not None:
        raise TicketError(refusal)
    now = clock.now()
    before = ticket.status
    if before == "waiting_customer":
        await sla.resume(session, ticket, now, settings=settings)
    if to == "waiting_customer":
        sla.pause(ticket, now)
    if staff is not None and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if to == "resolved":
        ticket.resolved_at = now
    if to == "in_progress" and before == "resolved":
        ticket.resolved_at = None
    if to == "closed":
        ticket.closed_at = now
    if to == "cancelled":
        ticket.closed_at = now
    ticket.status = to
    ticket.updated_at = now
    await _event(session, ticket, "status", staff_id=staff.id if staff else None, customer_id=customer_id,
                 from_status=before, to_status=to, body=note)
    if to in ("closed", "cancelled"):
        await reminders.cancel_for(session, "ticket", ticket.id)
    if to == "closed":
        await _after_close(session, ticket, settings)
    if ticket.kind == TicketKind.SUGGESTION and to == "resolved":
        # Answered: the suggestion is closed (nothing to confirm or rate), then the customer hears the answer
        # (after closing, which cancels the ticket's pending reminders).
        await change_status(session, ticket, "closed", staff=staff, tell=False, settings=settings)
        if tell and customer_id is None:
            await tell_customer(session, ticket, "suggestion_answered", note=note or "", settings=settings)
        return ticket
    if tell and to in CUSTOMER_VISIBLE and customer_id is None:
        await tell_customer(session, ticket, "status", note=note or "", settings=settings)
    await session.flush()
    return ticket


async def _after_close(session: AsyncSession, ticket: Ticket, settings: Settings) -> None:
    if ticket.kind == TicketKind.SUGGESTION:
        return  # a suggestion is thanked for, not rated
    survey = await surveys.create_survey(session, subject_type="ticket", subject_id=ticket.id,
                                         customer_id=ticket.customer_id, staff_id=ticket.assignee_id,
                                         category=ticket.category)
    if survey is not None:
        await reminders.schedule(session, kind="survey", due_at=clock.now(), recipient_customer_id=ticket.customer_id,
                                 subject_type="survey", subject_id=survey.id, dedupe_key=f"survey:{survey.id}",
                                 payload={"survey_id": survey.id, "number": ticket.number}, settings=settings)
    if ticket.kind == "repair":
        from storage.services import revisits  # revisits imports nothing of tickets; late to keep modules small

        await revisits.schedule_revisit(session, customer_id=ticket.customer_id, reason="after_repair",
                                        subject_id=ticket.id, due_at=clock.now() + REVISIT_AFTER_REPAIR,
                                        staff_id=ticket.assignee_id, settings=settings)


async def assign(session: AsyncSession, ticket: Ticket, staff_id: int, *, by: Staff | None = None,
                 settings: Settings) -> Ticket:
    if ticket.status in ("resolved", "closed", "cancelled"):
        raise TicketError(f"a {ticket.status} ticket cannot be assigned")
    person = await session.get(Staff, staff_id)
    if person is None or not person.is_active:
        raise TicketError("no such active staff member")
    previous = ticket.assignee_id
    ticket.assignee_id = person.id
    await _event(session, ticket, "assigned", staff_id=by.id if by else None,
                 data={"from": previous, "to": person.id, "name": person.name})
    if ticket.status == "new":
        await change_status(session, ticket, "assigned", staff=by, tell=False, settings=settings)
        await tell_customer(session, ticket, "assigned", name=person.name, settings=settings)
    elif by is not None and ticket.first_responded_at is None:
        ticket.first_responded_at = clock.now()
    await reminders.schedule(
        session, kind="ticket_assigned", due_at=clock.now(), recipient_staff_id=person.id, subject_type="ticket",
        subject_id=ticket.id, quiet_hours=ticket.priority != "emergency",
        dedupe_key=f"assigned:{ticket.id}:{person.id}:{clock.now().isoformat()}",
        payload={"number": ticket.number, "category": ticket.category, "priority": ticket.priority},
        settings=settings,
    )
    await session.flush()
    return ticket


def parse_amount(value: str | Decimal | float) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", "").strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise TicketError("the amount must be a number") from exc
    if amount < 0 or amount > Decimal("10000000"):
        raise TicketError("the amount is out of range")
    return amount


async def set_quote(session: AsyncSession, ticket: Ticket, amount: str | Decimal | float, *, staff: Staff,
                    settings: Settings) -> Ticket:
    """Staff quote a paid repair; the customer is asked to accept it, and the ticket waits for them."""
    if ticket.status in ("resolved", "closed", "cancelled"):
        raise TicketError("the ticket is finished")
    ticket.quote_amount = parse_amount(amount)
    ticket.quote_accepted_at = None
    await _event(session, ticket, "quote", staff_id=staff.id, body=str(ticket.quote_amount),
                 data={"amount": str(ticket.quote_amount)})
    if ticket.status != "waiting_customer":
        await change_status(session, ticket, "waiting_customer", staff=staff, tell=False, settings=settings)
    await tell_customer(session, ticket, "quote", amount=str(ticket.quote_amount), settings=settings)
    await session.flush()
    return ticket


async def accept_quote(session: AsyncSession, ticket: Ticket, customer_id: int, *, settings: Settings) -> Ticket:
    if ticket.customer_id != customer_id or ticket.quote_amount is None:
        raise TicketError("there is no quote to accept")
    if ticket.quote_accepted_at is not None:
        return ticket
    ticket.quote_accepted_at = clock.now()
    await _event(session, ticket, "quote", customer_id=customer_id, body="accepted",
                 data={"amount": str(ticket.quote_amount), "accepted": True})
    if ticket.status == "waiting_customer":
        await change_status(session, ticket, await _pre_wait_status(session, ticket), customer_id=customer_id,
                            settings=settings)
    await _notify_assignee(session, ticket, "quote_accepted", settings)
    return ticket


async def decline_quote(session: AsyncSession, ticket: Ticket, customer_id: int, *, settings: Settings) -> Ticket:
    if ticket.customer_id != customer_id or ticket.quote_amount is None or ticket.quote_accepted_at is not None:
        raise TicketError("there is no open quote")
    await _event(session, ticket, "quote", customer_id=customer_id, body="declined",
                 data={"amount": str(ticket.quote_amount), "accepted": False})
    await change_status(session, ticket, "cancelled", customer_id=customer_id, note="quote declined",
                        settings=settings)
    await _notify_assignee(session, ticket, "quote_declined", settings)
    return ticket


async def _notify_assignee(session: AsyncSession, ticket: Ticket, what: str, settings: Settings) -> None:
    if ticket.assignee_id is None:
        return
    await reminders.schedule(session, kind="ticket_staff", due_at=clock.now(), recipient_staff_id=ticket.assignee_id,
                             subject_type="ticket", subject_id=ticket.id, quiet_hours=False,
                             payload={"what": what, "number": ticket.number}, settings=settings)


async def auto_close(session: AsyncSession, now: datetime | None = None,
                     after: timedelta = AUTO_CLOSE_AFTER, *, settings: Settings) -> list[Ticket]:
    """Close resolved tickets the customer left unanswered; the survey and the revisit follow as usual."""
    now = now or clock.now()
    stale = (await session.scalars(select(Ticket).where(Ticket.status == "resolved",
                                                        Ticket.resolved_at <= now - after))).all()
    for ticket in stale:
        await change_status(session, ticket, "closed", note="closed automatically: no answer to the resolution",
                            tell=False, settings=settings)
        # the note above is for staff, in English
        await tell_customer(session, ticket, "status", note="", settings=settings)
    return list(stale)


async def confirm_resolution(session: AsyncSession, ticket: Ticket, customer_id: int, *,
                             settings: Settings) -> Ticket:
    if ticket.customer_id != customer_id or ticket.status != "resolved":
        raise TicketError("there is no resolution to confirm")
    await change_status(session, ticket, "closed", customer_id=customer_id, note="confirmed by the customer",
                        settings=settings)
    return ticket


async def reopen(session: AsyncSession, ticket: Ticket, customer_id: int, reason: str = "", *,
                 settings: Settings) -> Ticket:
    """The customer rejects the resolution: back to work, the assignee is told."""
    if ticket.customer_id != customer_id or ticket.status != "resolved":
        raise TicketError("only a resolved ticket can be reopened")
    await change_status(session, ticket, "in_progress", customer_id=customer_id, note=reason[:2000] or "reopened",
                        settings=settings)
    await _event(session, ticket, "reopened", customer_id=customer_id, body=reason[:2000] or None)
    await _notify_assignee(session, ticket, "reopened", settings)
    return ticket


async def add_note(session: AsyncSession, ticket: Ticket, body: str, *, staff: Staff, to_customer: bool = False,
                   settings: Settings) -> TicketEvent:
    """An internal note, or with `to_customer` a message the customer receives (their first response, too)."""
    text = body.strip()[:4000]
    if not text:
        raise TicketError("the note is empty")
    event = await _event(session, ticket, "note", staff_id=staff.id, body=text, data={"public": to_customer})
    if to_customer:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = clock.now()
        await tell_customer(session, ticket, "message", text=text, name=staff.name, settings=settings)
    return event


async def add_info(session: AsyncSession, ticket: Ticket, text: str, *, customer_id: int,
                   settings: Settings) -> TicketEvent:
    if ticket.customer_id != customer_id:
        raise TicketError("not your ticket")
    event = await _event(session, ticket, "info", customer_id=customer_id, body=text.strip()[:4000])
    await _notify_assignee(session, ticket, "info", settings)
    return event


async def add_attachment(
    session: AsyncSession, ticket: Ticket, *, telegram_file_id: str | None = None, path: str | None = None,
    customer_id: int | None = None, staff: Staff | None = None, kind: str = "photo",
) -> TicketAttachment:
    row = TicketAttachment(ticket_id=ticket.id, telegram_file_id=telegram_file_id, path=path, kind=kind,
                           uploaded_by_customer=customer_id is not None, created_at=clock.now())
    session.add(row)
    await session.flush()
    await _event(session, ticket, "attachment", customer_id=customer_id, staff_id=staff.id if staff else None,
                 data={"attachment_id": row.id})
    return row


async def set_cost(session: AsyncSession, ticket: Ticket, amount: str | Decimal | float, *, staff: Staff) -> Ticket:
    ticket.cost = parse_amount(amount)
    await _event(session, ticket, "cost", staff_id=staff.id, body=str(ticket.cost))
    return ticket


async def set_priority(session: AsyncSession, ticket: Ticket, priority: str, *, staff: Staff,
                       settings: Settings) -> Ticket:
    if priority not in PRIORITIES:
        raise TicketError("unknown priority")
    before = ticket.priority
    ticket.priority = priority
    await sla.apply_deadlines(session, ticket, ticket.created_at, settings=settings)
    await _event(session, ticket, "priority", staff_id=staff.id, data={"from": before, "to": priority})
    return ticket


async def customer_tickets(session: AsyncSession, customer_id: int, limit: int = 10) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id).order_by(Ticket.id.desc()).limit(limit)
    )
    return list(rows.all())


def customer_saw(event: TicketEvent) -> bool:
    """Whether the customer was told this entry's words: a note sent to them, or a staff member's note on a status
    change the customer hears about (change_status tells them those)."""
    if event.kind == "note":
        return bool((event.data or {}).get("public"))
    return (event.kind == "status" and bool(event.body) and event.actor_staff_id is not None
            and event.to_status in CUSTOMER_VISIBLE)


async def history(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    rows = await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                 .order_by(TicketEvent.at, TicketEvent.id))
    return list(rows.all())


async def open_load(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(Ticket.assignee_id, func.count()).where(Ticket.status.in_(OPEN_STATUSES),
                                                       Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    return {staff_id: count for staff_id, count in rows.all()}


@dataclass(frozen=True)
class Suggestion:
    staff: Staff
    score: float
    reasons: list[str]
    load: int


async def suggest_assignees(session: AsyncSession, ticket: Ticket, limit: int = 5,
                            now: datetime | None = None) -> list[Suggestion]:
    """Service staff ranked by service area, skill, level (emergencies want seniors) and current load; whoever
    is on time off now goes last (the areas, skills, level and time off are kept by storage.services.staff_profiles)."""
    project = await unit_project(session, ticket.unit_id)
    district = None
    if project:
        district = await session.scalar(select(Project.district_name).where(Project.name == project))
    team = ticket.team or ("repair" if ticket.kind == "repair" else "complaints")
    people = (await session.scalars(
        select(Staff).where(Staff.is_active.is_(True),
                            Staff.role.in_((StaffRole.SERVICE, StaffRole.ADMIN, StaffRole.AGENT)))
    )).all()
    load = await open_load(session)
    now = now or clock.now()
    away = set((await session.scalars(
        select(StaffTimeOff.staff_id).where(StaffTimeOff.starts_at <= now, StaffTimeOff.ends_at > now)
    )).all())
    ranked: list[Suggestion] = []
    for person in people:
        score, reasons = 0.0, []
        if person.id in away:
            score -= 200
            reasons.append("on time off now")
        areas = {a.lower() for a in person.service_areas or []}
        if project and project.lower() in areas:
            score += 40
            reasons.append(f"covers {project}")
        elif district and district.lower() in areas:
            score += 30
            reasons.append(f"covers {district}")
        if ticket.category in (person.skills or []):
            score += 35
            reasons.append(f"skill: {ticket.category}")
        if person.team == team:
            score += 15
            reasons.append(f"team {team}")
        score += person.level * (6 if ticket.priority == "emergency" else 2)
        current = load.get(person.id, 0)
        score -= current * 5
        reasons.append(f"level {person.level}, {current} open")
        if person.role != StaffRole.SERVICE and person.team != team:
            score -= 30  # agents and admins only when nobody else fits
        ranked.append(Suggestion(person, score, reasons, current))
    ranked.sort(key=lambda s: (-s.score, s.load, s.staff.id))
    return ranked[:limit]


async def tickets_with_deadline_before(session: AsyncSession, at: datetime) -> list[Ticket]:
    rows = await session.scalars(select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), Ticket.resolve_due_at < at))
    return list(rows.all())


# ---- complaint handling: reclassify, verify, responsibility, root cause and improvement --------------------------

def complaint_unfinished(ticket: Ticket) -> str | None:
    """What a complaint still needs before staff may resolve it (None: nothing, or not a complaint)."""
    if ticket.kind != TicketKind.COMPLAINT:
        return None
    if ticket.verification is None:
        return "verify the complaint before resolving it"
    if ticket.verification == "verified" and (ticket.responsible_party is None or ticket.root_cause is None):
        return "record the responsible party and the root cause before resolving the complaint"
    return None


def _still_open(ticket: Ticket) -> None:
    if ticket.status in ("closed", "cancelled"):
        raise TicketError("the ticket is finished")


async def reclassify(session: AsyncSession, ticket: Ticket, category: str, *, staff: Staff, note: str | None = None,
                     settings: Settings) -> Ticket:
    """A ticket filed under the wrong category moves to the right one: the owning team and the deadlines follow
    (counted from the ticket's creation, as the new category's policy says)."""
    _still_open(ticket)
    if category not in CATEGORIES_BY_KIND.get(ticket.kind, ()):
        raise TicketError("unknown category for this type")
    if category == ticket.category:
        raise TicketError("the ticket is already in this category")
    before, team_before = ticket.category, ticket.team
    ticket.category = category
    ticket.team = team_for(ticket.kind, category)
    ticket.updated_at = clock.now()
    await sla.apply_deadlines(session, ticket, ticket.created_at, settings=settings)
    await _event(session, ticket, "reclassified", staff_id=staff.id, body=(note or "").strip()[:2000] or None,
                 data={"from": before, "to": category, "team_from": team_before, "team_to": ticket.team})
    if ticket.team != team_before:
        await _tell_team(session, ticket, settings)
    return ticket


async def verify(session: AsyncSession, ticket: Ticket, outcome: str, *, staff: Staff,
                 note: str | None = None) -> Ticket:
    """The complaint was checked: substantiated ("verified") or not ("unsubstantiated"), by whom and when."""
    if ticket.kind != TicketKind.COMPLAINT:
        raise TicketError("only complaints are verified")
    _still_open(ticket)
    if outcome not in VERIFICATIONS:
        raise TicketError("choose verified or not substantiated")
    text = (note or "").strip()[:2000]
    if outcome == "unsubstantiated" and not text:
        raise TicketError("say why the complaint is not substantiated")
    ticket.verification, ticket.verified_by, ticket.verified_at = outcome, staff.id, clock.now()
    if ticket.first_responded_at is None:
        ticket.first_responded_at = ticket.verified_at
    await _event(session, ticket, "verified", staff_id=staff.id, body=text or None, data={"outcome": outcome})
    return ticket


async def set_responsibility(session: AsyncSession, ticket: Ticket, *, party: str, cause: str, action: str,
                             staff: Staff) -> Ticket:
    """Who is responsible for a complaint (a department or an outside party), its root cause and the improvement
    that keeps it from happening again."""
    if ticket.kind != TicketKind.COMPLAINT:
        raise TicketError("only complaints have a responsible party")
    _still_open(ticket)
    if ticket.verification is None:
        raise TicketError("verify the complaint first")
    if party not in RESPONSIBLE_PARTIES:
        raise TicketError("choose the responsible party")
    if cause not in ROOT_CAUSES:
        raise TicketError("choose the root cause")
    text = action.strip()[:2000]
    if not text:
        raise TicketError("describe the improvement action")
    ticket.responsible_party, ticket.root_cause, ticket.improvement_action = party, cause, text
    await _event(session, ticket, "responsibility", staff_id=staff.id, body=text,
                 data={"party": party, "cause": cause})
    return ticket
