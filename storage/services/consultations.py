"""Consultations staff log from the customer card (phone, walk-in, WeChat, e-mail), and their next steps.

    await log(work, customer_id, channel=..., topic=..., summary=..., next_step=None, next_step_due_at=None)
        -> Consultation      (entered by the acting staff member; a next step with a due time reminds them)
    await finish_next_step(work, consultation_id) -> Consultation   (done: its reminder is withdrawn)

The next step's reminder is an ordinary reminder row (kind REMINDER_KIND, subject "consultation") for the staff
member who entered it, sent by the reminder tick (dialogs.reminders) to their console and linked Telegram, held
back to the morning when it falls into the night like every staff reminder.
"""

from __future__ import annotations

from datetime import datetime

from storage import clock
from storage.models import Consultation, Customer, Staff
from storage.services import reminders
from storage.unit_of_work import Work
from storage.vocabulary import CONSULTATION_CHANNELS, CONSULTATION_TOPICS

REMINDER_KIND = "consultation_due"
SUBJECT = "consultation"
MAX_SUMMARY = 4000
MAX_NEXT_STEP = 1000


class ConsultationError(Exception):
    """The consultation cannot be recorded as given; the message says why."""


async def _me(work: Work) -> Staff:
    staff_id = work.actor.staff_id
    me = await work.session.get(Staff, staff_id) if staff_id is not None else None
    if me is None or not me.is_active:
        raise ConsultationError("only an active staff member can log a consultation")
    return me


async def log(
    work: Work, customer_id: int, *, channel: str, topic: str, summary: str, next_step: str | None = None,
    next_step_due_at: datetime | None = None,
) -> Consultation:
    """Record a consultation entered by the acting staff member; schedule the reminder of its next step."""
    me = await _me(work)
    session = work.session
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise ConsultationError("no such customer")
    if channel not in CONSULTATION_CHANNELS:
        raise ConsultationError(f"unknown channel {channel}")
    if topic not in CONSULTATION_TOPICS:
        raise ConsultationError(f"unknown topic {topic}")
    text = summary.strip()
    if not text:
        raise ConsultationError("the summary is empty")
    step = (next_step or "").strip() or None
    if step is None and next_step_due_at is not None:
        raise ConsultationError("a due date needs a next step")
    if step is not None and next_step_due_at is None:
        raise ConsultationError("the next step needs a due date")
    now = clock.now()
    if next_step_due_at is not None:
        if next_step_due_at.tzinfo is None:
            raise ValueError("next_step_due_at must be timezone-aware")
        if next_step_due_at <= now:
            raise ConsultationError("the due date must be in the future")
    row = Consultation(customer_id=customer.id, staff_id=me.id, channel=channel, topic=topic,
                       summary=text[:MAX_SUMMARY], next_step=step[:MAX_NEXT_STEP] if step else None,
                       next_step_due_at=next_step_due_at, created_at=now)
    session.add(row)
    await session.flush()
    if row.next_step and row.next_step_due_at:
        await reminders.schedule(
            session, kind=REMINDER_KIND, due_at=row.next_step_due_at, recipient_staff_id=me.id,
            subject_type=SUBJECT, subject_id=row.id, dedupe_key=f"{SUBJECT}:{row.id}",
            payload={"customer": customer.display_name, "customer_id": customer.id, "next_step": row.next_step,
                     "due_at": row.next_step_due_at.isoformat()},
            settings=work.settings,
        )
    await work.audit("consultation_log", target_type="customer", target_id=customer.id,
                     details={"consultation_id": row.id, "channel": channel, "topic": topic,
                              "next_step_due_at": next_step_due_at.isoformat() if next_step_due_at else None})
    return row


async def finish_next_step(work: Work, consultation_id: int) -> Consultation:
    """The next step is done: recorded with its time, and its pending reminder withdrawn."""
    await _me(work)
    row = await work.session.get(Consultation, consultation_id)
    if row is None:
        raise ConsultationError("no such consultation")
    if row.next_step is None:
        raise ConsultationError("this consultation has no next step")
    if row.done_at is not None:
        raise ConsultationError("the next step is already done")
    row.done_at = clock.now()
    await reminders.cancel_for(work.session, SUBJECT, row.id)
    await work.audit("consultation_done", target_type="customer", target_id=row.customer_id,
                     details={"consultation_id": row.id})
    return row
