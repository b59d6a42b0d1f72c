"""The reminder tick: due reminders become outbox rows in the recipient's language, exactly once.

`homedesk run` calls `await tick(workplace)` every few seconds (APScheduler, in-memory job store). One tick:
1. housekeeping: resolved tickets the customer left unanswered for 3 days are closed (their survey follows);
   SLA scan: tickets at 80 % of a deadline or past it get sla_80 / sla_breach reminders (to the assignee and the
   team lead; breaches are recorded on the ticket), and conversations waiting too long get "waiting" reminders;
2. claims due reminders in batches (storage.services.reminders.claim_due) and, in the same transaction, renders
   each: customers get a Reply payload in the outbox; staff get a StaffNotification (the console's list) and, when
   they linked Telegram, an outbox row to their telegram_chat_id; reminders that fell into the recipient's night
   go back with a morning due time, expired ones are dropped;
3. after each commit, the unit of work publishes the `notification.new` events for the consoles.
Quiet hours, the company's time zone and the waiting threshold come from the workplace's settings.

Kinds rendered here. To customers: ticket_update (payload what=status|assigned|quote|message|suggestion_answered,
number, status,
note/name/amount/text), survey (survey_id), revisit (revisit_id), viewing_24h / viewing_1h (starts_at ISO, address,
listing, agent; subject_type "viewing"), viewing_interest (viewing_id), or any kind with a plain `text`.
To staff: ticket_new, ticket_assigned (number, category, priority), sla_80 / sla_breach (number, which, due_at),
chat_sla_80 / chat_sla_breach (customer, due_at, team; subject_type "conversation"),
ticket_staff (what=quote_accepted|quote_declined|reopened|info), waiting (minutes), revisit_due (customer),
viewing_24h / viewing_1h, consultation_due (customer, next_step, due_at), or a plain `text`. Unknown customer kinds
without text are dropped, not sent.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import Names, district_name, district_names, when
from dialogs.i18n import t
from dialogs.names import CATEGORY_NAMES, DEADLINE_NAMES, PRIORITY_NAMES, STATUS_NAMES
from dialogs.replies import Choice, Say
from storage import clock
from storage.events import ticket_changed
from storage.models import (
    PRIORITY_BOT,
    PRIORITY_REMINDER,
    Conversation,
    Customer,
    Reminder,
    Revisit,
    Staff,
    Survey,
    Ticket,
)
from storage.outbox import enqueue_many, outbox_row, reachable
from storage.services import reminders, revisits, sla, tickets
from storage.services.notices import StaffNotice, deliver_staff_notices
from storage.services.reminders import after_quiet_hours, parse_window
from storage.unit_of_work import Rendered, Work, Workplace
from storage.vocabulary import ConversationMode, StaffRole

BATCH = 200  # per transaction; small enough that loading and rendering one batch never stalls the loop
YIELD_EVERY = 50
WORKER = f"{socket.gethostname()}:{os.getpid()}"

def _when(lang: str, value: str | None, tz: ZoneInfo) -> str:
    """A stored ISO time the way every message writes times: 'Wed 4 Mar, 10:00' / '3月4日 周三 10:00'."""
    if not value:
        return ""
    return when(lang, datetime.fromisoformat(value), tz)


def _address(lang: str, payload: dict[str, Any], names_zh: Names) -> str:
    """The street and the district in the reader's language (older reminders carry the joined English only)."""
    if "district" not in payload:
        return str(payload.get("address", ""))
    district = district_name(lang, str(payload.get("district") or ""), names_zh)
    return ", ".join(part for part in (str(payload.get("street") or ""), district) if part)


# ---- what customers receive --------------------------------------------------------------------------------------

def ticket_update_reply(lang: str, payload: dict[str, Any], ticket_id: int | None) -> Say:
    from dialogs.flows.tickets import TicketAction, ticket_button  # the tickets flow answers these buttons

    def buttons(*pairs: tuple[str, TicketAction]) -> list[list[Choice]]:
        # Without the ticket (a reminder whose subject is gone) the words still inform; buttons could not act.
        return [[ticket_button(label, action, ticket_id) for label, action in pairs]] if ticket_id else []

    # Every one of these carries the request's number: a receipt, never edited away by its buttons.
    number, what = str(payload.get("number", "")), payload.get("what")
    if what == "assigned":
        return Say(t(lang, "Your request {number} is now with {name}. We will keep you posted here.",
                     number=number, name=payload.get("name", "")), receipt=True)
    if what == "quote":
        return Say(
            t(lang, "Your request {number} is outside the warranty period, so the repair is paid. Our quote: "
                    "{amount} CNY. Work starts once you accept.", number=number, amount=payload.get("amount", "")),
            choices=buttons((t(lang, "Accept the quote"), TicketAction.ACCEPT_QUOTE),
                            (t(lang, "Decline"), TicketAction.DECLINE_QUOTE)),
            receipt=True,
        )
    if what == "message":
        return Say(t(lang, "About your request {number}, {name} writes: {text}", number=number,
                     name=payload.get("name", ""), text=payload.get("text", "")), receipt=True)
    if what == "suggestion_answered":
        text = t(lang, "Thank you for your suggestion {number}: our team has reviewed it.", number=number)
        if payload.get("note"):
            text += "\n" + t(lang, "Our answer: {note}", note=payload["note"])
        return Say(text, receipt=True)
    status = str(payload.get("status", ""))
    if status == "resolved":
        return Say(
            t(lang, "Your request {number} is resolved. Is everything fine now?", number=number),
            choices=buttons((t(lang, "Yes, it is fixed"), TicketAction.CONFIRM_FIXED),
                            (t(lang, "No, reopen it"), TicketAction.REOPEN)),
            receipt=True,
        )
    text = t(lang, "Your request {number} is now: {status}.", number=number,
             status=t(lang, STATUS_NAMES.get(status, status)))
    if payload.get("note"):
        text += "\n" + t(lang, "Note: {note}", note=payload["note"])
    return Say(text, receipt=True)


def revisit_reply(lang: str, revisit: Revisit) -> Say:
    if revisit.reason == "after_repair":
        text = t(lang, "A week ago we finished a repair in your home. Is everything still working well?")
    elif revisit.reason == "after_move_in":
        text = t(lang, "You moved in about a month ago. How is everything in your new home?")
    else:
        text = t(lang, "We are checking in: is everything fine with your home?")
    from dialogs.flows.revisit import answer_choices  # the revisit flow owns its buttons

    return Say(text, choices=answer_choices(lang, revisit.id))


def viewing_reply(lang: str, kind: str, payload: dict[str, Any], tz: ZoneInfo, staff: bool,
                  names_zh: Names) -> Say:
    at, address = _when(lang, payload.get("starts_at"), tz), _address(lang, payload, names_zh)
    if staff:
        return Say(t(lang, "Viewing at {when}: {address} ({listing}).", when=at, address=address,
                     listing=payload.get("listing", "")))
    if kind == "viewing_1h":
        return Say(t(lang, "Your viewing starts in about an hour, at {when}: {address}.", when=at, address=address))
    return Say(t(lang, "Reminder: your viewing is tomorrow at {when}: {address}.", when=at, address=address))


# ---- what staff receive ------------------------------------------------------------------------------------------

def staff_text(lang: str, reminder: Reminder, tz: ZoneInfo, names_zh: Names) -> str:
    payload, kind = reminder.payload or {}, reminder.kind
    number = str(payload.get("number", ""))
    if kind == "ticket_assigned":
        return t(lang, "Ticket {number} is assigned to you: {category}, priority {priority}.", number=number,
                 category=t(lang, CATEGORY_NAMES.get(str(payload.get("category")), str(payload.get("category")))),
                 priority=t(lang, PRIORITY_NAMES.get(str(payload.get("priority")), str(payload.get("priority")))))
    if kind == "ticket_new":
        return t(lang, "New ticket {number}: {category}, priority {priority}. Please assign it.", number=number,
                 category=t(lang, CATEGORY_NAMES.get(str(payload.get("category")), str(payload.get("category")))),
                 priority=t(lang, PRIORITY_NAMES.get(str(payload.get("priority")), str(payload.get("priority")))))
    if kind in ("sla_80", "sla_breach"):
        which = t(lang, DEADLINE_NAMES.get(str(payload.get("which")), str(payload.get("which"))))
        due = _when(lang, payload.get("due_at"), tz)
        if kind == "sla_80":
            return t(lang, "Ticket {number}: 80% of the {which} time is used, due {due}.", number=number,
                     which=which, due=due)
        return t(lang, "Ticket {number}: the {which} deadline {due} was missed.", number=number, which=which,
                 due=due)
    if kind == "ticket_staff":
        what = payload.get("what")
        if what == "quote_accepted":
            return t(lang, "Ticket {number}: the customer accepted the quote. Work can start.", number=number)
        if what == "quote_declined":
            return t(lang, "Ticket {number}: the customer declined the quote; the ticket is cancelled.",
                     number=number)
        if what == "reopened":
            return t(lang, "Ticket {number}: the customer is not satisfied and reopened it.", number=number)
        return t(lang, "Ticket {number}: the customer added information.", number=number)
    if kind == "chat_sla_80":
        return t(lang, "{customer} is waiting for an answer in chat: 80% of the first-response time is used, due "
                       "{due}.", customer=payload.get("customer", ""), due=_when(lang, payload.get("due_at"), tz))
    if kind == "chat_sla_breach":
        return t(lang, "{customer} waited for an answer in chat past the first-response deadline {due}.",
                 customer=payload.get("customer", ""), due=_when(lang, payload.get("due_at"), tz))
    if kind == "waiting":
        return t(lang, "A customer has been waiting for a person for {minutes} minutes.",
                 minutes=payload.get("minutes", ""))
    if kind == "revisit_due":
        return t(lang, "A revisit is due: {customer}.", customer=payload.get("customer", ""))
    if kind in ("viewing_24h", "viewing_1h"):
        return viewing_reply(lang, kind, payload, tz, True, names_zh).text
    if kind == "consultation_due":  # storage.services.consultations: the next step the staff member promised
        return t(lang, "Next step due for {customer}: {step} (due {due}).", customer=payload.get("customer", ""),
                 step=payload.get("next_step", ""), due=_when(lang, payload.get("due_at"), tz))
    if kind in ("milestone_due", "milestone_overdue"):
        from dialogs.flows.deals import milestone_staff_text  # the deals flow owns the words of tracks and steps

        return milestone_staff_text(lang, kind, payload, tz)
    return str(payload.get("text") or kind)


def staff_link(reminder: Reminder) -> str | None:
    if reminder.subject_type == "ticket" and reminder.subject_id:
        return f"/tickets/{reminder.subject_id}"
    if reminder.subject_type == "conversation" and reminder.subject_id:
        return f"/conversations/{reminder.subject_id}"
    if reminder.subject_type == "viewing" and reminder.subject_id:
        return f"/viewings/{reminder.subject_id}"
    if reminder.subject_type == "consultation" and (reminder.payload or {}).get("customer_id"):
        return f"/customers/{reminder.payload['customer_id']}#consultation-{reminder.subject_id}"
    if reminder.subject_type == "milestone" and (reminder.payload or {}).get("deal_id"):
        return f"/deals/{int(reminder.payload['deal_id'])}"
    return None


# ---- the tick ----------------------------------------------------------------------------------------------------

async def tick(workplace: Workplace, now: datetime | None = None, *, batch: int = BATCH,
               worker: str = WORKER) -> int:
    """Run SLA checks, then send every due reminder, each batch in its own unit of work. Returns how many were sent."""
    async with workplace.open() as work:
        closed = await tickets.auto_close(work.session, now, settings=work.settings)
        work.publish(*(ticket_changed(ticket, auto_closed=True) for ticket in closed))
        await schedule_sla_reminders(work, now)
        await schedule_chat_sla_reminders(work, now)
        await schedule_waiting_reminders(work, now)
    sent_total = 0
    while True:
        async with workplace.open() as work:
            claimed = await reminders.claim_due(work.session, worker=worker, limit=batch, now=now)
            if claimed:
                sent_total += await _deliver(work, claimed, now or clock.now())
        if len(claimed) < batch:
            break
        await asyncio.sleep(0)  # let the event loop breathe between batches
    return sent_total


async def schedule_sla_reminders(work: Work, now: datetime | None = None) -> int:
    """sla_80 / sla_breach reminders to the assignee (or the team lead when unassigned) and, on breach, the lead."""
    session = work.session
    count = 0
    for signal in await sla.scan(session, now, settings=work.settings):
        ticket = signal.ticket
        recipients: set[int] = set()
        if ticket.assignee_id:
            recipients.add(ticket.assignee_id)
        if signal.level == "sla_breach" or not ticket.assignee_id:
            recipients.update(await _team_leads(session, ticket.team))
        for staff_id in recipients:
            row = await reminders.schedule(
                session, kind=signal.level, due_at=now or clock.now(), recipient_staff_id=staff_id,
                subject_type="ticket", subject_id=ticket.id, quiet_hours=ticket.priority != "emergency",
                dedupe_key=f"{signal.level}:{ticket.id}:{signal.which}:{signal.due_at.isoformat()}:{staff_id}",
                payload={"number": ticket.number, "which": signal.which, "due_at": signal.due_at.isoformat()},
                settings=work.settings,
            )
            count += row is not None
    return count


async def schedule_chat_sla_reminders(work: Work, now: datetime | None = None) -> int:
    """Chats waiting for staff (storage.services.sla.scan_chats): chat_sla_80 to the owner (or the team's leads
    while nobody owns it) and, on a breach, chat_sla_breach to the owner and the leads of the team that owes the
    answer (the admins when that team has no lead). Once per wait and deadline."""
    session = work.session
    count = 0
    signals = await sla.scan_chats(session, now, settings=work.settings)
    ids = {signal.wait.conversation_id for signal in signals}
    customers: dict[int, Customer] = dict((await session.execute(
        select(Conversation.id, Customer).join(Customer, Customer.id == Conversation.customer_id)
        .where(Conversation.id.in_(ids)))).tuples().all()) if ids else {}
    for signal in signals:
        wait = signal.wait
        recipients: set[int] = set()
        if signal.assignee_id:
            recipients.add(signal.assignee_id)
        if signal.level == "sla_breach" or not signal.assignee_id:
            # the leads of the team that owes the answer; a team without a lead falls to the admins
            recipients.update(await _team_leads(session, wait.team) or await _admins(session))
        customer = customers.get(wait.conversation_id)
        for staff_id in recipients:
            row = await reminders.schedule(
                session, kind=f"chat_{signal.level}", due_at=now or clock.now(), recipient_staff_id=staff_id,
                subject_type="conversation", subject_id=wait.conversation_id, quiet_hours=True,
                dedupe_key=f"chat_{signal.level}:{wait.id}:{signal.due_at.isoformat()}:{staff_id}",
                payload={"customer": customer.display_name if customer is not None else "",
                         "due_at": signal.due_at.isoformat(), "team": wait.team or ""},
                settings=work.settings,
            )
            count += row is not None
    return count


async def _admins(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Staff.id).where(Staff.is_active.is_(True),
                                                              Staff.role == StaffRole.ADMIN))).all())


async def _team_leads(session: AsyncSession, team: str | None) -> list[int]:
    query = select(Staff.id).where(Staff.is_active.is_(True), Staff.is_team_lead.is_(True))
    if team:
        query = query.where(Staff.team == team)
    return list((await session.scalars(query)).all())


async def schedule_waiting_reminders(work: Work, now: datetime | None = None) -> int:
    """Conversations waiting for a person longer than WAITING_ALERT_MINUTES: tell the leads and admins, once per
    wait."""
    session, minutes = work.session, work.settings.waiting_alert_minutes
    now = now or clock.now()
    waiting = (await session.execute(
        select(Conversation.id, Conversation.waiting_since).where(
            Conversation.status == "open", Conversation.mode == ConversationMode.WAITING,
            Conversation.waiting_since <= now - timedelta(minutes=minutes))
    )).all()
    if not waiting:
        return 0
    people = list((await session.scalars(select(Staff.id).where(
        Staff.is_active.is_(True), (Staff.is_team_lead.is_(True)) | (Staff.role == StaffRole.ADMIN)))).all())
    count = 0
    for conversation_id, since in waiting:
        for staff_id in people:
            row = await reminders.schedule(
                session, kind="waiting", due_at=now, recipient_staff_id=staff_id, subject_type="conversation",
                subject_id=conversation_id, quiet_hours=True,
                dedupe_key=f"waiting:{conversation_id}:{since.isoformat()}:{staff_id}",
                payload={"minutes": minutes}, settings=work.settings,
            )
            count += row is not None
    return count


async def _deliver(work: Work, claimed: list[Reminder], now: datetime) -> int:
    """Render claimed reminders into outbox rows and notifications, in the work's transaction; returns how many."""
    session, settings = work.session, work.settings
    quiet = parse_window(settings.quiet_hours)
    customer_ids = {r.recipient_customer_id for r in claimed if r.recipient_customer_id}
    staff_ids = {r.recipient_staff_id for r in claimed if r.recipient_staff_id}
    customers = {c.id: c for c in (await session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))
                 } if customer_ids else {}
    staff = {s.id: s for s in (await session.scalars(select(Staff).where(Staff.id.in_(staff_ids))))} \
        if staff_ids else {}
    names_zh = await district_names(session)
    outbox_rows: list[dict[str, Any]] = []
    staff_notices: list[StaffNotice] = []
    sent: list[Reminder] = []
    for index, reminder in enumerate(claimed):
        if index and index % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # other tasks (updates, the console) run between slices of a burst
        person: Customer | Staff | None = (customers.get(reminder.recipient_customer_id or 0)
                                           or staff.get(reminder.recipient_staff_id or 0))
        if person is None or reminders.is_expired(reminder, now) or (
                isinstance(person, Staff) and not person.is_active):
            await reminders.drop(session, reminder, now)
            continue
        tz = _zone(person, settings.tz)
        if (reminder.payload or {}).get("quiet_hours", True):
            morning = after_quiet_hours(now, tz, quiet)
            if morning != now:
                await reminders.defer(session, reminder, morning)
                continue
        if isinstance(person, Customer):
            reply = await _customer_reply(session, reminder, person, tz, names_zh)
            if reply is None:
                await reminders.drop(session, reminder, now)
                continue
            if reachable(person):  # else the reminder is done: there is nobody to deliver it to
                priority = PRIORITY_BOT if reminder.kind == "ticket_update" else PRIORITY_REMINDER
                chat = person.chat_id if person.channel == "telegram" else None
                outbox_rows.append(outbox_row(chat, reply.to_payload(), priority, channel=person.channel,
                                              dedupe_key=f"reminder:{reminder.id}", customer_id=person.id))
        else:
            text = staff_text(person.language, reminder, tz, names_zh)
            staff_notices.append(StaffNotice(person, Rendered(Say(text).to_payload(), text), staff_link(reminder),
                                             dedupe_key=f"reminder:{reminder.id}"))
        sent.append(reminder)
    await enqueue_many(session, outbox_rows)
    await deliver_staff_notices(work, staff_notices)
    await reminders.mark_sent(session, sent, now)
    return len(sent)


def _zone(person: Customer | Staff, default: ZoneInfo) -> ZoneInfo:
    zone = getattr(person, "timezone", None)
    if zone:
        try:
            return ZoneInfo(zone)
        except (ValueError, KeyError):
            return default
    return default


async def _customer_reply(session: AsyncSession, reminder: Reminder, customer: Customer, tz: ZoneInfo,
                          names_zh: Names) -> Say | None:
    lang, payload = customer.language, reminder.payload or {}
    if reminder.kind == "ticket_update":
        return ticket_update_reply(lang, payload, reminder.subject_id)
    if reminder.kind == "survey":
        from dialogs.flows.survey import survey_reply

        survey = await session.get(Survey, int(payload.get("survey_id") or reminder.subject_id or 0))
        if survey is None or survey.score is not None:
            return None
        subject = str(payload.get("number", ""))
        if not subject and survey.subject_type == "ticket":
            subject = await session.scalar(select(Ticket.number).where(Ticket.id == survey.subject_id)) or ""
        return survey_reply(lang, survey, subject)
    if reminder.kind == "revisit":
        revisit = await session.get(Revisit, int(payload.get("revisit_id") or reminder.subject_id or 0))
        if revisit is None or revisit.status not in ("scheduled", "sent"):
            return None
        await revisits.mark_sent(session, revisit.id)
        return revisit_reply(lang, revisit)
    if reminder.kind in ("viewing_24h", "viewing_1h"):
        return viewing_reply(lang, reminder.kind, payload, tz, False, names_zh)
    if reminder.kind == "deal_update":
        from dialogs.flows.deals import deal_update_reply  # the deals flow owns its notices and buttons

        return deal_update_reply(lang, payload, tz)
    if reminder.kind == "viewing_interest":
        from dialogs.flows.viewings import interest_reply  # the journeys' flow owns that question

        return interest_reply(lang, int(payload.get("viewing_id") or reminder.subject_id or 0))
    if payload.get("text"):
        return Say(str(payload["text"]))
    return None
