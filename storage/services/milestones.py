"""Milestone tracks: one engine, driven by step tables, for every track of a deal (loan, move-in, area settlement,
property certificate).

A track is a small state machine. Its steps are data (`TRACKS`): which steps may follow, how long the step is
expected to take (`days`, or `anchor="handover"`: due on the handover date), whether entering it tells the customer
(`notify`), whether it ends the track (`final`) and what happens on entering it (`action`, a name in `ACTIONS`).
Admins override a step's duration and notice in `milestone_steps` (`MilestoneStep`); the graph stays here.

Every change is one `advance` (or `record_document`), which writes a `MilestoneEvent`, sets the due time, tells the
customer through a reminder (so quiet hours hold and the words are rendered in their language by the reminder
tick: kind `deal_update`, `dialogs.flows.deals.deal_update_reply`) and runs the step's action: a loan rejection
opens a follow-up for staff, an inspection's defects become repair tickets under warranty, a handover schedules the
revisit. `tick` sends the move-in notices that fall due and reminds the responsible staff member of steps about to
be due and overdue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import rows_changed
from storage.models import (
    Building,
    Deal,
    DealAttachment,
    FollowUpTask,
    InspectionSlot,
    Milestone,
    MilestoneEvent,
    MilestoneStep,
    Project,
    ProjectFee,
    Staff,
    Ticket,
    TicketAttachment,
    Unit,
)
from storage.services import reminders, revisits, tickets
from storage.services.notices import notify_staff
from storage.unit_of_work import Work, Workplace
from storage.vocabulary import REPAIR_CATEGORIES

LOAN, MOVE_IN, SETTLEMENT, CERTIFICATE = "loan", "move_in", "settlement", "certificate"
HANDOVER = "handover"
STAFF_REMINDERS = ("milestone_due", "milestone_overdue")  # customers' notices (deal_update) are never withdrawn


class MilestoneError(ValueError):
    """A change the track does not allow; the message says why (in English, translated by the console)."""


@dataclass(frozen=True)
class Step:
    code: str
    next: tuple[str, ...] = ()
    days: int | None = None  # expected duration of the step; due = entered + days
    anchor: str | None = None  # "handover": due on the deal's handover date instead
    notify: bool = True  # entering it tells the customer
    final: bool = False
    action: str | None = None  # a name in ACTIONS, run on entering
    manual: bool = True  # False: entered only through its own function (it needs data: documents, an inspection)


# The default tracks. Order is the order steps are shown in.
TRACKS: dict[str, tuple[Step, ...]] = {
    LOAN: (
        Step("pending", ("documents_requested",), days=3, notify=False),
        Step("documents_requested", ("documents_received",), days=14, manual=False),
        Step("documents_received", ("submitted",), days=3),
        Step("submitted", ("approved", "rejected"), days=21),
        Step("approved", ("disbursed",), days=30),
        Step("rejected", ("documents_requested", "closed"), days=3, action="loan_rejected"),
        Step("disbursed", final=True),
        Step("closed", final=True, notify=False),
    ),
    MOVE_IN: (
        Step("pending", ("notice_sent",), notify=False),  # due: the notice's moment (TICK sends it)
        Step("notice_sent", ("slot_booked", "inspected"), anchor=HANDOVER, action="move_in_notice"),
        Step("slot_booked", ("slot_booked", "inspected"), anchor=HANDOVER, notify=False,  # the owner booked it
             manual=False),
        Step("inspected", ("handed_over",), days=7, action="defect_tickets", manual=False),
        Step("handed_over", final=True, action="handed_over", manual=False),
    ),
    SETTLEMENT: (
        Step("pending", ("computed",), notify=False),
        Step("computed", ("computed", "notified"), days=7, notify=False, manual=False),
        Step("notified", ("settled",), days=30),
        Step("settled", final=True),
    ),
    CERTIFICATE: (
        Step("pending", ("documents_collected",), notify=False),
        Step("documents_collected", ("filed",), days=30),
        Step("filed", ("issued",), days=60),
        Step("issued", ("ready_for_pickup",), days=7),
        Step("ready_for_pickup", ("signed_for",), days=30),
        Step("signed_for", final=True),
    ),
}
TRACK_NAMES = tuple(TRACKS)

# The loan's document checklist by payment method (codes; their words are dialogs.names.DOCUMENT_NAMES).
DOCUMENTS: dict[str, tuple[str, ...]] = {
    "mortgage": ("id_card", "marriage_certificate", "income_proof", "bank_statement"),
    "provident_fund": ("id_card", "marriage_certificate", "fund_statement", "income_proof"),
    "combined": ("id_card", "marriage_certificate", "income_proof", "bank_statement", "fund_statement"),
}
ALL_DOCUMENTS = tuple(dict.fromkeys(code for codes in DOCUMENTS.values() for code in codes))
INSPECTION_ITEMS = ("walls", "floors", "doors_windows", "plumbing", "electrical", "waterproofing", "equipment")
METERS = ("water", "electricity", "gas")


def steps(track: str) -> tuple[Step, ...]:
    if track not in TRACKS:
        raise MilestoneError(f"unknown track {track!r}")
    return TRACKS[track]


def step(track: str, code: str) -> Step:
    for candidate in steps(track):
        if candidate.code == code:
            return candidate
    raise MilestoneError(f"unknown step {code!r} of track {track!r}")


async def effective_step(session: AsyncSession, track: str, code: str) -> Step:
    """The default step with an admin's override (duration, customer notice) applied."""
    default = step(track, code)
    override = await session.get(MilestoneStep, (track, code))
    if override is None:
        return default
    return Step(default.code, default.next, override.days, default.anchor, override.notify, default.final,
                default.action, default.manual)


async def effective_steps(session: AsyncSession) -> dict[str, list[Step]]:
    """Every track's steps with the admins' overrides applied (the console's step settings)."""
    overrides = {(o.track, o.code): o for o in await session.scalars(select(MilestoneStep))}
    out: dict[str, list[Step]] = {}
    for track, defaults in TRACKS.items():
        out[track] = []
        for default in defaults:
            override = overrides.get((track, default.code))
            out[track].append(default if override is None else Step(
                default.code, default.next, override.days, default.anchor, override.notify, default.final,
                default.action, default.manual))
    return out


async def save_step(work: Work, track: str, code: str, *, days: int | None, notify: bool) -> None:
    """An admin sets a step's expected duration (days; none: no due time) and whether entering it tells the
    customer. Steps due on the handover date and final steps keep their timing."""
    default = step(track, code)
    if days is not None and not 0 <= days <= 730:
        raise MilestoneError("days must be from 0 to 730")
    if default.anchor is not None or default.final:
        days = default.days
    row = await work.session.get(MilestoneStep, (track, code))
    if row is None:
        work.session.add(MilestoneStep(track=track, code=code, days=days, notify=notify))
    else:
        row.days, row.notify = days, notify
    await work.audit("milestone_step", details={"track": track, "code": code, "days": days, "notify": notify})


def tracks_for(deal: Deal) -> list[str]:
    """The tracks a deal has: a loan when not paid in full; move-in with a handover date; for sales the area
    settlement and the property certificate."""
    names = []
    if deal.payment_method != "full":
        names.append(LOAN)
    if deal.handover_date is not None or deal.kind == "sale":
        names.append(MOVE_IN)
    if deal.kind == "sale":
        names += [SETTLEMENT, CERTIFICATE]
    return names


async def ensure_tracks(session: AsyncSession, deal: Deal, settings: Any) -> list[Milestone]:
    """Create the deal's missing tracks (in `pending`); existing ones are left as they are."""
    have = {m.track: m for m in await session.scalars(select(Milestone).where(Milestone.deal_id == deal.id))}
    now = clock.now()
    for track in tracks_for(deal):
        if track in have:
            if track == MOVE_IN and have[track].status == "pending":
                have[track].due_at = notice_moment(deal, settings)
            continue
        milestone = Milestone(deal_id=deal.id, track=track, status="pending", staff_id=deal.staff_id,
                              started_at=now, entered_at=now, data={})
        if track == MOVE_IN:
            milestone.due_at = notice_moment(deal, settings)
        elif track == LOAN:
            milestone.due_at = now + timedelta(days=step(LOAN, "pending").days or 3)
            milestone.data = {"documents": [{"code": code, "received_at": None}
                                            for code in DOCUMENTS.get(deal.payment_method, ())]}
        session.add(milestone)
        have[track] = milestone
    await session.flush()
    return list(have.values())


def notice_moment(deal: Deal, settings: Any) -> datetime | None:
    """When the move-in notice goes out: MOVE_IN_NOTICE_DAYS before the handover date, 10:00 company time."""
    if deal.handover_date is None:
        return None
    day = deal.handover_date - timedelta(days=settings.move_in_notice_days)
    return datetime.combine(day, time(10, 0), tzinfo=settings.tz)


def _handover_due(deal: Deal, settings: Any) -> datetime | None:
    if deal.handover_date is None:
        return None
    return datetime.combine(deal.handover_date, time(18, 0), tzinfo=settings.tz)


# ---- the engine --------------------------------------------------------------------------------------------------

@dataclass
class Change:
    """What `advance` did: the event, and the notice payload when the customer is told."""

    event: MilestoneEvent
    notice: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def advance(work: Work, milestone: Milestone, to: str, *, note: str | None = None,
                  data: dict[str, Any] | None = None, notice: dict[str, Any] | None = None,
                  recorded: bool = False) -> Change:
    """Move a track to step `to` (one of the current step's `next`), with its event, due time, notice and action.
    A step that needs data (`manual=False`) is entered only by its own function here, which passes `recorded`."""
    session, settings = work.session, work.settings
    current = step(milestone.track, milestone.status)
    if to not in current.next:
        raise MilestoneError(f"the {milestone.track} track cannot go from {milestone.status} to {to}")
    if not step(milestone.track, to).manual and not recorded:
        raise MilestoneError(f"{to} is recorded with its own form")
    deal = await session.get(Deal, milestone.deal_id)
    if deal is None:
        raise MilestoneError("the deal is gone")
    target = await effective_step(session, milestone.track, to)
    now = clock.now()
    event = MilestoneEvent(milestone_id=milestone.id, at=now, kind="status", from_status=milestone.status,
                           to_status=to, actor_staff_id=work.actor.staff_id,
                           actor_customer_id=work.actor.id if work.actor.kind == "customer" else None,
                           note=(note or "").strip()[:2000] or None, data=dict(data or {}))
    session.add(event)
    milestone.status = to
    milestone.entered_at = now
    milestone.finished_at = now if target.final else None
    if target.final:
        milestone.due_at = None
    elif target.anchor == HANDOVER:
        milestone.due_at = _handover_due(deal, settings)
    else:
        milestone.due_at = now + timedelta(days=target.days) if target.days is not None else None
    await reminders.cancel_for(session, "milestone", milestone.id, STAFF_REMINDERS)  # the old step's, not notices
    await session.flush()
    change = Change(event)
    if target.action:
        await ACTIONS[target.action](work, deal, milestone, change)
    if target.notify and work.actor.kind != "customer":  # what the customer did, the chat already answered
        change.notice = await tell_customer(work, deal, milestone, event, notice or {})
    await work.audit("milestone", target_type="deal", target_id=deal.id,
                     details={"track": milestone.track, "from": event.from_status, "to": to})
    return change


async def tell_customer(work: Work, deal: Deal, milestone: Milestone, event: MilestoneEvent,
                        extra: dict[str, Any]) -> dict[str, Any] | None:
    """Queue the customer's notice of this change (reminder kind `deal_update`, rendered in their language at
    delivery, after their quiet hours). None when the deal has no chat customer yet."""
    if deal.customer_id is None:
        return None
    payload = {**await notice_payload(work.session, deal, milestone), **extra}
    if event.note:
        payload["note"] = event.note
    await reminders.schedule(
        work.session, kind="deal_update", due_at=clock.now(), recipient_customer_id=deal.customer_id,
        subject_type="milestone", subject_id=milestone.id, payload=payload,
        dedupe_key=f"milestone:{milestone.id}:{event.id}", settings=work.settings)
    return payload


async def notice_payload(session: AsyncSession, deal: Deal, milestone: Milestone) -> dict[str, Any]:
    """What a customer's notice about a track says: the track, its step, what is missing, who is responsible."""
    staff_id = milestone.staff_id or deal.staff_id
    staff_name = await session.scalar(select(Staff.name).where(Staff.id == staff_id)) if staff_id else None
    payload: dict[str, Any] = {
        "deal_id": deal.id, "milestone_id": milestone.id, "contract_no": deal.contract_no, "track": milestone.track,
        "status": milestone.status, "home": await home_label(session, deal), "staff": staff_name or "",
    }
    if milestone.track == LOAN:
        payload["missing"] = missing_documents(milestone)
    if deal.handover_date is not None:
        payload["handover_date"] = deal.handover_date.isoformat()
    for key in ("fees", "fees_total", "currency", "settlement", "slot_at", "tickets", "handover"):
        if key in (milestone.data or {}):
            payload[key] = milestone.data[key]
    return payload


async def home_label(session: AsyncSession, deal: Deal) -> str:
    if deal.unit_id is None:
        return await session.scalar(select(Project.name).where(Project.id == deal.project_id)) or "" \
            if deal.project_id else ""
    row = (await session.execute(
        select(Project.name, Building.name, Unit.unit_no).join(Building, Building.project_id == Project.id)
        .join(Unit, Unit.building_id == Building.id).where(Unit.id == deal.unit_id))).first()
    return f"{row[0]} {row[1]}-{row[2]}" if row else ""


async def assign(work: Work, milestone: Milestone, staff_id: int | None) -> None:
    if staff_id is not None and await work.session.get(Staff, staff_id) is None:
        raise MilestoneError("no such staff member")
    work.session.add(MilestoneEvent(milestone_id=milestone.id, at=clock.now(), kind="assigned",
                                    actor_staff_id=work.actor.staff_id, data={"staff_id": staff_id}))
    milestone.staff_id = staff_id
    await reminders.cancel_for(work.session, "milestone", milestone.id, STAFF_REMINDERS)
    await work.session.flush()


async def history(session: AsyncSession, milestone_ids: Sequence[int]) -> list[MilestoneEvent]:
    if not milestone_ids:
        return []
    return list((await session.scalars(select(MilestoneEvent).where(MilestoneEvent.milestone_id.in_(milestone_ids))
                                       .order_by(MilestoneEvent.at, MilestoneEvent.id))).all())


# ---- the loan's documents ----------------------------------------------------------------------------------------

def missing_documents(milestone: Milestone) -> list[str]:
    return [d["code"] for d in (milestone.data or {}).get("documents", []) if not d.get("received_at")]


async def request_documents(work: Work, milestone: Milestone, codes: Sequence[str], *,
                            note: str | None = None) -> Change:
    """Ask the customer for these documents (the checklist); the loan moves to documents_requested."""
    if milestone.track != LOAN:
        raise MilestoneError("documents are requested on the loan track")
    chosen = [code for code in dict.fromkeys(codes) if code]
    unknown = [code for code in chosen if code not in ALL_DOCUMENTS]
    if unknown or not chosen:
        raise MilestoneError("choose at least one document from the checklist")
    old = {d["code"]: d for d in (milestone.data or {}).get("documents", [])}
    milestone.data = {**(milestone.data or {}),
                      "documents": [old.get(code) or {"code": code, "received_at": None} for code in chosen]}
    return await advance(work, milestone, "documents_requested", note=note, recorded=True)


async def record_document(work: Work, milestone: Milestone, code: str, *, telegram_file_id: str | None = None,
                          path: str | None = None, by_customer: bool = False) -> Change | None:
    """A document arrived (a photo in the chat, or staff ticking it off). When the last one arrives the loan moves
    to documents_received. Returns that change, if any."""
    documents = [dict(d) for d in (milestone.data or {}).get("documents", [])]
    entry = next((d for d in documents if d["code"] == code), None)
    if entry is None:
        raise MilestoneError(f"{code} is not on this loan's checklist")
    now = clock.now()
    entry["received_at"] = now.isoformat()
    milestone.data = {**(milestone.data or {}), "documents": documents}
    if telegram_file_id or path:
        work.session.add(DealAttachment(deal_id=milestone.deal_id, milestone_id=milestone.id, document=code,
                                        telegram_file_id=telegram_file_id, path=path,
                                        uploaded_by_customer=by_customer, created_at=now))
    work.session.add(MilestoneEvent(
        milestone_id=milestone.id, at=now, kind="document", actor_staff_id=work.actor.staff_id,
        actor_customer_id=work.actor.id if work.actor.kind == "customer" else None, data={"document": code}))
    await work.session.flush()
    if milestone.status == "documents_requested" and not missing_documents(milestone):
        return await advance(work, milestone, "documents_received")
    return None


# ---- move-in -----------------------------------------------------------------------------------------------------

async def fees_for(session: AsyncSession, deal: Deal) -> list[dict[str, Any]]:
    """The project's move-in fees for this home (per-m² fees times the contract area)."""
    if deal.project_id is None:
        return []
    area = deal.measured_area or deal.contract_area
    out = []
    for fee in await session.scalars(select(ProjectFee).where(ProjectFee.project_id == deal.project_id)
                                     .order_by(ProjectFee.id)):
        if fee.per_m2 and area is None:
            continue
        amount = (fee.amount * area if fee.per_m2 and area is not None else fee.amount).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        out.append({"name": fee.name, "name_zh": fee.name_zh or fee.name, "amount": str(amount)})
    return out


async def _move_in_notice(work: Work, deal: Deal, milestone: Milestone, change: Change) -> None:
    fees = await fees_for(work.session, deal)
    total = sum((Decimal(fee["amount"]) for fee in fees), Decimal("0"))
    milestone.data = {**(milestone.data or {}), "fees": fees, "fees_total": str(total), "currency": deal.currency}


async def send_move_in_notices(work: Work, now: datetime | None = None) -> int:
    """Every pending move-in whose notice moment has come (and whose handover is not past) gets its notice, once:
    the step change is the guard, so a second tick finds nothing to send."""
    now = now or clock.now()
    today = now.astimezone(work.settings.tz).date()
    due = (await work.session.execute(
        select(Milestone, Deal).join(Deal, Deal.id == Milestone.deal_id)
        .where(Milestone.track == MOVE_IN, Milestone.status == "pending", Milestone.due_at <= now,
               Deal.status == "active", Deal.handover_date >= today)
        .order_by(Milestone.due_at, Milestone.id).limit(500))).tuples().all()
    for milestone, _deal in due:
        await advance(work, milestone, "notice_sent")
    return len(due)


async def open_slots(session: AsyncSession, deal: Deal, now: datetime | None = None,
                     limit: int = 8) -> list[InspectionSlot]:
    """Inspection slots of the deal's project still free, from now until the handover date's evening."""
    if deal.project_id is None:
        return []
    now = now or clock.now()
    query = (select(InspectionSlot).where(InspectionSlot.project_id == deal.project_id,
                                          InspectionSlot.starts_at > now,
                                          InspectionSlot.booked < InspectionSlot.capacity)
             .order_by(InspectionSlot.starts_at).limit(limit))
    return list((await session.scalars(query)).all())


async def book_slot(work: Work, milestone: Milestone, slot_id: int) -> InspectionSlot:
    """The owner books a handover-inspection slot (one place taken atomically; a previous booking is freed)."""
    session = work.session
    if milestone.track != MOVE_IN or milestone.status not in ("notice_sent", "slot_booked"):
        raise MilestoneError("the inspection can be booked once the move-in notice went out")
    deal = await session.get(Deal, milestone.deal_id)
    slot = await session.get(InspectionSlot, slot_id)
    if deal is None or slot is None or slot.project_id != deal.project_id or slot.starts_at <= clock.now():
        raise MilestoneError("that slot is not available")
    previous = (milestone.data or {}).get("slot_id")
    if previous == slot_id:
        return slot
    taken = await rows_changed(session, update(InspectionSlot).where(
        InspectionSlot.id == slot_id, InspectionSlot.booked < InspectionSlot.capacity)
        .values(booked=InspectionSlot.booked + 1).execution_options(synchronize_session=False))
    if not taken:
        raise MilestoneError("that slot was just taken")
    if previous:
        await session.execute(update(InspectionSlot).where(InspectionSlot.id == previous, InspectionSlot.booked > 0)
                              .values(booked=InspectionSlot.booked - 1).execution_options(synchronize_session=False))
    await session.refresh(slot)
    milestone.data = {**(milestone.data or {}), "slot_id": slot.id, "slot_at": slot.starts_at.isoformat()}
    await advance(work, milestone, "slot_booked", data={"slot_id": slot.id}, recorded=True)
    return slot


@dataclass(frozen=True)
class Defect:
    category: str
    description: str
    photos: tuple[str, ...] = ()  # paths inside the media folder


async def record_inspection(work: Work, milestone: Milestone, *, checked: Sequence[str], defects: Sequence[Defect],
                            note: str | None = None) -> list[Ticket]:
    """Staff record the handover inspection: the items checked and the defects; each defect becomes a repair ticket
    under warranty at once (the developer repairs what the inspection found)."""
    if milestone.track != MOVE_IN:
        raise MilestoneError("the inspection belongs to the move-in track")
    for defect in defects:
        if defect.category not in REPAIR_CATEGORIES:
            raise MilestoneError(f"unknown repair category {defect.category!r}")
        if not defect.description.strip():
            raise MilestoneError("every defect needs a description")
    deal = await work.session.get(Deal, milestone.deal_id)
    if deal is not None and defects and deal.customer_id is None:
        raise MilestoneError("the owner has no chat yet: repair tickets need the customer (ask them to write to "
                             "the bot and share their phone number)")
    milestone.data = {**(milestone.data or {}), "inspection": {
        "checked": [item for item in checked if item in INSPECTION_ITEMS],
        "defects": [{"category": d.category, "description": d.description.strip()[:2000], "photos": list(d.photos)}
                    for d in defects],
    }}
    change = await advance(work, milestone, "inspected", note=note, data={"defects": len(defects)}, recorded=True)
    return change.extra.get("tickets", [])


async def _defect_tickets(work: Work, deal: Deal, milestone: Milestone, change: Change) -> None:
    inspection = (milestone.data or {}).get("inspection", {})
    created: list[Ticket] = []
    for defect in inspection.get("defects", []):
        if deal.customer_id is None:
            break
        ticket = await tickets.create_ticket(
            work.session, kind="repair", category=defect["category"], customer_id=deal.customer_id,
            unit_id=deal.unit_id, description=defect["description"], settings=work.settings)
        ticket.warranty_status = "in"  # found at the handover inspection: the developer's to repair
        for path in defect.get("photos", []):
            work.session.add(TicketAttachment(ticket_id=ticket.id, path=path, uploaded_by_customer=False))
        created.append(ticket)
    if created:
        await work.session.flush()
    change.extra["tickets"] = created
    milestone.data = {**(milestone.data or {}), "tickets": [t.number for t in created]}


async def record_handover(work: Work, milestone: Milestone, *, handed_over_on: date, keys: int,
                          meters: dict[str, str], note: str | None = None) -> Change:
    if milestone.track != MOVE_IN:
        raise MilestoneError("the handover belongs to the move-in track")
    if keys < 0 or keys > 50:
        raise MilestoneError("keys must be a number from 0 to 50")
    milestone.data = {**(milestone.data or {}), "handover": {
        "date": handed_over_on.isoformat(), "keys": keys,
        "meters": {name: str(value)[:32] for name, value in meters.items() if name in METERS and value}}}
    return await advance(work, milestone, "handed_over", note=note, recorded=True)


async def _handed_over(work: Work, deal: Deal, milestone: Milestone, change: Change) -> None:
    """Warranty starts at the real handover; every handed-over owner gets the after-move-in revisit."""
    raw = ((milestone.data or {}).get("handover") or {}).get("date")
    day = date.fromisoformat(raw) if raw else clock.now().astimezone(work.settings.tz).date()
    if deal.unit_id is not None:
        unit = await work.session.get(Unit, deal.unit_id)
        if unit is not None:
            unit.handover_date = day
    if deal.customer_id is not None and deal.unit_id is not None:
        await revisits.after_move_in(work.session, deal.customer_id, deal.unit_id, day, settings=work.settings)


# ---- loan rejection ----------------------------------------------------------------------------------------------

async def _loan_rejected(work: Work, deal: Deal, milestone: Milestone, change: Change) -> None:
    """A rejected loan needs a person: a follow-up task for the responsible staff member, who is told at once."""
    assignee = milestone.staff_id or deal.staff_id
    if deal.customer_id is not None:
        work.session.add(FollowUpTask(customer_id=deal.customer_id, assignee_id=assignee, reason="loan_rejected",
                                      note=f"{deal.contract_no}: {change.event.note or ''}".strip(": ")))
    recipients = [assignee] if assignee else list((await work.session.scalars(
        select(Staff.id).where(Staff.is_active.is_(True), Staff.role == "admin"))).all())
    await notify_staff(work, recipients, "follow_up", link=f"/deals/{deal.id}",
                       customer=deal.customer_name or deal.contract_no, reason="loan_rejected")


ACTIONS: dict[str, Callable[[Work, Deal, Milestone, Change], Awaitable[None]]] = {
    "loan_rejected": _loan_rejected,
    "move_in_notice": _move_in_notice,
    "defect_tickets": _defect_tickets,
    "handed_over": _handed_over,
}


# ---- staff reminders and the periodic tick -----------------------------------------------------------------------

async def schedule_due_reminders(work: Work, now: datetime | None = None) -> int:
    """Tell the responsible staff member when a step is due within MILESTONE_REMIND_HOURS, and again once it is
    overdue; each once per step and due time (dedupe keys)."""
    now = now or clock.now()
    soon = now + timedelta(hours=work.settings.milestone_remind_hours)
    rows = (await work.session.execute(
        select(Milestone, Deal.contract_no, Deal.staff_id).join(Deal, Deal.id == Milestone.deal_id)
        .where(Milestone.finished_at.is_(None), Milestone.due_at.is_not(None), Milestone.due_at <= soon,
               Deal.status == "active")
        .order_by(Milestone.due_at).limit(2000))).tuples().all()
    count = 0
    for milestone, contract_no, deal_staff in rows:
        recipient = milestone.staff_id or deal_staff
        if recipient is None or milestone.due_at is None:
            continue
        if milestone.track == MOVE_IN and milestone.status == "pending":
            continue  # the notice itself is automatic
        kind = "milestone_overdue" if milestone.due_at <= now else "milestone_due"
        row = await reminders.schedule(
            work.session, kind=kind, due_at=now, recipient_staff_id=recipient, subject_type="milestone",
            subject_id=milestone.id, settings=work.settings,
            dedupe_key=f"{kind}:{milestone.id}:{milestone.status}:{milestone.due_at.isoformat()}",
            payload={"contract_no": contract_no, "track": milestone.track, "status": milestone.status,
                     "due_at": milestone.due_at.isoformat(), "deal_id": milestone.deal_id})
        count += row is not None
    return count


async def tick(workplace: Workplace, now: datetime | None = None) -> tuple[int, int]:
    """Move-in notices that fell due, then staff reminders; (notices sent, reminders queued)."""
    async with workplace.open() as work:
        notices = await send_move_in_notices(work, now)
    async with workplace.open() as work:
        queued = await schedule_due_reminders(work, now)
    return notices, queued

