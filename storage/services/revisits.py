"""Revisits (回访): a check-in 7 days after a repair is closed, 30 days after handover, and periodic ones.

Each revisit is a Revisit row (unique per customer, reason and subject) plus a customer reminder of kind "revisit";
the customer answers "all good" or "I need help" (see dialogs.flows.revisit).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Customer, Revisit, Staff
from storage.services import reminders, surveys
from storage.services.surveys import StaffNotifier
from storage.settings import Settings

REASONS = ("after_repair", "after_move_in", "periodic")
ANSWERS = ("all_good", "need_help")
AFTER_MOVE_IN = timedelta(days=30)


class RevisitError(Exception):
    pass


async def schedule_revisit(
    session: AsyncSession, *, customer_id: int, reason: str, subject_id: int | None, due_at: datetime,
    staff_id: int | None = None, settings: Settings,
) -> Revisit | None:
    """Create the revisit and its reminder; None when this customer already has it.

    Staff are reminded too ("revisit due"): `staff_id` (the repair's technician), else for a move-in the leads of
    the property team (any lead when it has none). Periodic campaigns remind nobody: they are bulk messages.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown revisit reason {reason!r}")
    exists = await session.scalar(select(Revisit.id).where(
        Revisit.customer_id == customer_id, Revisit.reason == reason, Revisit.subject_id == subject_id))
    if exists is not None:
        return None
    revisit = Revisit(customer_id=customer_id, reason=reason, subject_id=subject_id, due_at=due_at,
                      status="scheduled")
    try:
        async with session.begin_nested():
            session.add(revisit)
    except IntegrityError:
        return None
    await reminders.schedule(session, kind="revisit", due_at=due_at, recipient_customer_id=customer_id,
                             subject_type="revisit", subject_id=revisit.id, dedupe_key=f"revisit:{revisit.id}",
                             payload={"revisit_id": revisit.id, "reason": reason}, settings=settings)
    recipients = [staff_id] if staff_id else (await _leads(session, "property") if reason == "after_move_in" else [])
    name = await session.scalar(select(Customer.first_name).where(Customer.id == customer_id)) or f"#{customer_id}"
    for recipient in recipients:
        await reminders.schedule(session, kind="revisit_due", due_at=due_at, recipient_staff_id=recipient,
                                 subject_type="revisit", subject_id=revisit.id,
                                 dedupe_key=f"revisit_due:{revisit.id}:{recipient}",
                                 payload={"customer": f"{name} ({reason.replace('_', ' ')})"},
                                 settings=settings)
    return revisit


async def _leads(session: AsyncSession, team: str) -> list[int]:
    active_leads = select(Staff.id).where(Staff.is_active.is_(True), Staff.is_team_lead.is_(True))
    ids = list((await session.scalars(active_leads.where(Staff.team == team))).all())
    return ids or list((await session.scalars(active_leads)).all())


async def after_move_in(session: AsyncSession, customer_id: int, unit_id: int, handover: date | None, *,
                        settings: Settings) -> Revisit | None:
    """30 days after handover, at 10:00 company time; not when that moment passed long ago."""
    if handover is None:
        return None
    due = datetime.combine(handover + AFTER_MOVE_IN, time(10, 0), tzinfo=settings.tz)
    if due < clock.now() - timedelta(days=7):
        return None
    return await schedule_revisit(session, customer_id=customer_id, reason="after_move_in", subject_id=unit_id,
                                  due_at=due, settings=settings)


async def schedule_periodic(
    session: AsyncSession, *, period: int, due_at: datetime, tag: str | None = None, settings: Settings
) -> int:
    """One revisit for every reachable customer (optionally with a tag) for period number `period`."""
    query = select(Customer.id, Customer.tags).where(Customer.unreachable_at.is_(None))
    created = 0
    for customer_id, tags in (await session.execute(query)).all():
        if tag is not None and tag not in (tags or []):
            continue
        if await schedule_revisit(session, customer_id=customer_id, reason="periodic", subject_id=period,
                                  due_at=due_at, settings=settings):
            created += 1
    return created


async def mark_sent(session: AsyncSession, revisit_id: int) -> None:
    revisit = await session.get(Revisit, revisit_id)
    if revisit is not None and revisit.status == "scheduled":
        revisit.status = "sent"


async def answer(
    session: AsyncSession, revisit_id: int, value: str, *, customer_id: int, notify: StaffNotifier | None = None
) -> Revisit:
    """Record the quick answer once; "need_help" also opens a follow-up for a lead (told through `notify`, see
    storage.services.surveys)."""
    if value not in ANSWERS:
        raise RevisitError("unknown answer")
    revisit = await session.get(Revisit, revisit_id)
    if revisit is None or revisit.customer_id != customer_id or revisit.status == "cancelled":
        raise RevisitError("no such revisit")
    if revisit.answer is not None:
        return revisit
    revisit.answer, revisit.answered_at, revisit.status = value, clock.now(), "answered"
    if value == "need_help":
        await surveys.open_follow_up(session, customer_id=customer_id, reason="revisit_help", notify=notify,
                                     note=f"revisit {revisit.reason} #{revisit.subject_id}: customer needs help")
    await session.flush()
    return revisit


async def cancel(session: AsyncSession, revisit_id: int) -> None:
    revisit = await session.get(Revisit, revisit_id)
    if revisit is not None and revisit.status == "scheduled":
        revisit.status = "cancelled"
        await reminders.cancel_for(session, "revisit", revisit_id)
