"""Human handoff: the queue, taking a conversation, auto-assignment, requeue, transfer, return and close.

One rule lives here for the bot and the console alike. Every change of owner is a single conditional UPDATE
(`... WHERE mode = 'waiting'` and so on), so two agents pressing "take" at once, or two processes auto-assigning
at once, can never both win: the database lets exactly one row change.

The queue rules (`request_handoff`, `take`, `auto_assign`...) work on the caller's session. What a person or the
scheduler does to a conversation (`take_over`, `agent_reply`, `add_note`, `transfer`, `return_to_bot`, `close`,
`assignment_tick`) takes a `Work`: the acting staff member is `work.actor`, and each operation tells the
customer, audits, notifies staff and appends its live events itself, so an entry point only opens the work and
calls one function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import rows_changed
from storage.events import conversation_changed, message_new
from storage.models import PRIORITY_AGENT, ChatWait, Conversation, Customer, Handoff, Holiday, Message, Staff, Survey
from storage.outbox import queue_to_customer
from storage.repositories import inbox
from storage.repositories.staff import PRESENCE_WINDOW
from storage.services import auth, sla, surveys
from storage.services.notices import notify_staff, notify_team, tell_customer
from storage.services.sla import Calendar
from storage.unit_of_work import Work
from storage.vocabulary import CHAT_ROLES, HANDOFF_TEAMS, ConversationMode, StaffRole

REASONS = ("asked", "misunderstood", "complaint", "agent_takeover", "transfer", "requeued")
PROMISE_HORIZON = timedelta(days=30)  # how far ahead staff may promise an answer
DEFAULT_MINUTES_PER_CUSTOMER = 4.0  # expected wait per customer ahead when there is no history yet


class HandoffError(Exception):
    """The change is not allowed in the conversation's current state; the message says why."""


@dataclass(frozen=True)
class QueueStatus:
    position: int  # 1 = next in line
    waiting: int  # everybody in line
    expected_wait_minutes: int | None  # None outside business hours
    open_now: bool
    next_open_at: datetime | None  # when people answer again (outside business hours)


async def chat_calendar(session: AsyncSession, hours: str, days: str, tz: ZoneInfo | str) -> Calendar:
    """When people answer chats: BUSINESS_HOURS on BUSINESS_DAYS, with the same holiday table (and make-up
    workdays) as the SLA calendar, so a public holiday is closed for chats too."""
    rows = (await session.execute(select(Holiday.day, Holiday.is_workday))).all()
    return Calendar.parse(hours, days, tz, {day: bool(workday) for day, workday in rows})


async def _open_handoff(session: AsyncSession, conversation_id: int) -> Handoff | None:
    return await session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.ended_at.is_(None))
        .order_by(Handoff.id.desc())
        .limit(1)
    )


async def _end_open_handoff(session: AsyncSession, conversation_id: int, how: str, now: datetime) -> Handoff | None:
    handoff = await _open_handoff(session, conversation_id)
    if handoff is not None:
        handoff.ended_at = now
        handoff.ended_how = how
    return handoff


async def _reload(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None:
        raise HandoffError("no such conversation")
    return conversation


async def request_handoff(
    session: AsyncSession, conversation: Conversation, reason: str, *, now: datetime | None = None
) -> Handoff:
    """Put the conversation in line for a person. Asking again while waiting or with a person changes nothing."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    if conversation.status != "open":
        raise HandoffError("the conversation is closed")
    now = now or clock.now()
    if conversation.mode in (ConversationMode.WAITING, ConversationMode.HUMAN):
        existing = await _open_handoff(session, conversation.id)
        if existing is not None:
            return existing
        if conversation.mode == ConversationMode.HUMAN:  # a person has it already; only the missing record is added
            handoff = Handoff(conversation_id=conversation.id, reason=reason, requested_at=now,
                              taken_at=conversation.assigned_at, taken_by=conversation.assignee_id)
            session.add(handoff)
            await session.flush()
            return handoff
    conversation.waiting_since = conversation.waiting_since if conversation.mode == ConversationMode.WAITING else now
    conversation.mode = ConversationMode.WAITING
    conversation.team = None  # the customer asked: any agent
    conversation.handoff_reason = reason
    conversation.assignee_id = None
    conversation.assigned_at = None
    conversation.version += 1
    handoff = Handoff(conversation_id=conversation.id, reason=reason, requested_at=now)
    session.add(handoff)
    await session.flush()
    return handoff


async def cancel_request(session: AsyncSession, conversation: Conversation, *, now: datetime | None = None) -> bool:
    """The customer changed their mind while waiting: back to the bot. False when a person already took it."""
    now = now or clock.now()
    changed = await rows_changed(
        session, update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.mode == ConversationMode.WAITING,
               Conversation.status == "open")
        .values(mode=ConversationMode.BOT, waiting_since=None, handoff_reason=None,
                version=Conversation.version + 1)
        .execution_options(synchronize_session=False)
    )
    if changed != 1:
        return False
    await _end_open_handoff(session, conversation.id, "cancelled", now)
    await sla.chat_ended(session, conversation.id, "cancelled", now)
    await session.refresh(conversation)
    return True


async def queue_position(session: AsyncSession, conversation: Conversation) -> tuple[int, int]:
    """(position, total waiting). Earlier waiting_since goes first; ties by id."""
    waiting = and_(Conversation.status == "open", Conversation.mode == ConversationMode.WAITING)
    total = await session.scalar(select(func.count()).select_from(Conversation).where(waiting)) or 0
    if conversation.mode != ConversationMode.WAITING or conversation.waiting_since is None:
        return 0, total
    ahead = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            waiting,
            or_(
                Conversation.waiting_since < conversation.waiting_since,
                and_(Conversation.waiting_since == conversation.waiting_since, Conversation.id < conversation.id),
            ),
        )
    )
    return (ahead or 0) + 1, total


def _online(now: datetime) -> ColumnElement[bool]:
    return and_(
        Staff.is_active.is_(True), Staff.role.in_(CHAT_ROLES), Staff.available.is_(True),
        Staff.online_until.is_not(None), Staff.online_until > now,
    )


async def average_take_minutes(session: AsyncSession, now: datetime, sample: int = 50) -> float:
    """How long customers waited for a person lately (the last `sample` taken handoffs in 7 days)."""
    rows = (
        await session.execute(
            select(Handoff.requested_at, Handoff.taken_at)
            .where(Handoff.taken_at.is_not(None), Handoff.taken_at >= now - timedelta(days=7))
            .order_by(Handoff.taken_at.desc())
            .limit(sample)
        )
    ).all()
    if not rows:
        return DEFAULT_MINUTES_PER_CUSTOMER
    waits = [max(0.0, (taken - asked).total_seconds() / 60) for asked, taken in rows]
    return max(1.0, sum(waits) / len(waits))


async def queue_status(
    session: AsyncSession, conversation: Conversation, hours: Calendar, *, now: datetime | None = None
) -> QueueStatus:
    """What to tell a waiting customer: their place in line and, inside business hours, the expected wait."""
    now = now or clock.now()
    position, total = await queue_position(session, conversation)
    if not hours.is_open(now):
        return QueueStatus(position, total, None, False, hours.add(now, 0))
    online_agents = select(func.count()).select_from(Staff).where(_online(now), Staff.role == StaffRole.AGENT)
    online = await session.scalar(online_agents) or 0
    per_customer = await average_take_minutes(session, now)
    expected = math.ceil(per_customer * max(position, 1) / max(online, 1))
    return QueueStatus(position, total, expected, True, None)


async def take(
    session: AsyncSession, conversation_id: int, staff: Staff, *, now: datetime | None = None,
    takeover: bool = False,
) -> Conversation:
    """An agent takes a conversation: exactly one of several simultaneous takers wins.

    From the queue (mode waiting), or with `takeover=True` straight from the bot (mode bot, the live list).
    Raises HandoffError for the losers.
    """
    if not staff.is_active or (staff.role not in CHAT_ROLES and not staff.team):
        raise HandoffError("only active agents can take conversations")
    now = now or clock.now()
    modes = (ConversationMode.WAITING, ConversationMode.BOT) if takeover else (ConversationMode.WAITING,)
    before, team = (await session.execute(select(Conversation.mode, Conversation.team)
                                          .where(Conversation.id == conversation_id))).one_or_none() or (None, None)
    if team is not None and staff.role != StaffRole.ADMIN and staff.team != team:
        raise HandoffError(f"this conversation is waiting for the {team} team")
    if staff.role not in CHAT_ROLES and (team is None or before != ConversationMode.WAITING):
        raise HandoffError("only active agents can take conversations")
    changed = await rows_changed(
        session, update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status == "open", Conversation.mode.in_(modes),
               _may_take(staff))
        .values(mode=ConversationMode.HUMAN, assignee_id=staff.id, assigned_at=now, version=Conversation.version + 1)
        .execution_options(synchronize_session=False)
    )
    if changed != 1:
        raise HandoffError("someone else already took this conversation, or it is no longer waiting")
    conversation = await _reload(session, conversation_id)
    handoff = await _open_handoff(session, conversation_id)
    if handoff is None or before == ConversationMode.BOT:
        handoff = Handoff(conversation_id=conversation_id, reason="agent_takeover", requested_at=now)
        session.add(handoff)
        conversation.handoff_reason = "agent_takeover"
    handoff.taken_at = now
    handoff.taken_by = staff.id
    await session.flush()
    return conversation


def _may_take(staff: Staff) -> ColumnElement[bool]:
    """The conversations this person may take, in the same UPDATE that takes one (a transfer to a team at the
    same moment cannot slip past): admins any; agents those for any agent or for their team; a team's other
    members only those waiting for their team."""
    if staff.role == StaffRole.ADMIN:
        return Conversation.id.is_not(None)
    if staff.role in CHAT_ROLES:
        return or_(Conversation.team.is_(None), Conversation.team == staff.team)
    return Conversation.team == staff.team


async def team_members(session: AsyncSession, team: str) -> list[int]:
    """The active staff of a team a chat can be transferred to (storage.vocabulary.HANDOFF_TEAMS)."""
    return list((await session.scalars(select(Staff.id).where(Staff.is_active.is_(True), Staff.team == team)
                                       .order_by(Staff.id))).all())


async def active_load(session: AsyncSession) -> dict[int, int]:
    """Open human conversations per assignee."""
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.status == "open", Conversation.mode == ConversationMode.HUMAN,
               Conversation.assignee_id.is_not(None))
        .group_by(Conversation.assignee_id)
    )
    return {staff_id: count for staff_id, count in rows.all()}


async def auto_assign(session: AsyncSession, *, now: datetime | None = None) -> list[tuple[Conversation, Staff]]:
    """Give waiting conversations (oldest first) to online agents, round-robin, within each agent's limit.

    Round-robin is "least recently assigned first", read from the handoffs table, so it survives restarts and
    works across processes. Agents who are offline, inactive or at their limit are skipped, and so is an agent
    who just lost this very conversation for not answering.
    """
    now = now or clock.now()
    agents = list((await session.scalars(select(Staff).where(_online(now), Staff.role == StaffRole.AGENT))).all())
    if not agents:
        return []
    load = await active_load(session)
    last_rows = await session.execute(
        select(Handoff.taken_by, func.max(Handoff.taken_at)).where(Handoff.taken_by.is_not(None))
        .group_by(Handoff.taken_by)
    )
    last_taken = {staff_id: at for staff_id, at in last_rows.all()}
    waiting = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.status == "open", Conversation.mode == ConversationMode.WAITING,
                   Conversation.team.is_(None))  # a team's members take theirs themselves
            .order_by(Conversation.waiting_since, Conversation.id)
        )
    ).all()
    assigned: list[tuple[Conversation, Staff]] = []
    for conversation in waiting:
        skipped = await _silent_assignees(session, conversation)
        candidates = [a for a in agents if load.get(a.id, 0) < a.max_concurrent and a.id not in skipped]
        if not candidates:
            continue
        floor = datetime.min.replace(tzinfo=now.tzinfo)
        agent = min(candidates, key=lambda a: (last_taken.get(a.id) or floor, a.id))
        try:
            taken = await take(session, conversation.id, agent, now=now)
        except HandoffError:  # taken by a person or another process meanwhile
            continue
        load[agent.id] = load.get(agent.id, 0) + 1
        last_taken[agent.id] = now
        assigned.append((taken, agent))
    return assigned


async def _silent_assignees(session: AsyncSession, conversation: Conversation) -> set[int]:
    """Agents who lost this conversation to the queue during its current wait."""
    if conversation.waiting_since is None:
        return set()
    rows = await session.scalars(
        select(Handoff.taken_by).where(
            Handoff.conversation_id == conversation.id,
            Handoff.ended_how == "requeued",
            Handoff.ended_at >= conversation.waiting_since,
            Handoff.taken_by.is_not(None),
        )
    )
    return {staff_id for staff_id in rows.all() if staff_id is not None}


async def requeue_silent(work: Work, *, minutes: int, now: datetime | None = None) -> list[tuple[Conversation, int]]:
    """Conversations whose assignee has not written to the customer within `minutes` of being assigned go back
    to the queue, keeping their place in line; the team (active agents and admins) is told, each in their own
    language. Returns (conversation, silent staff id) pairs.
    """
    session = work.session
    now = now or clock.now()
    cutoff = now - timedelta(minutes=minutes)
    silent = (
        await session.scalars(
            select(Conversation).where(
                Conversation.status == "open",
                Conversation.mode == ConversationMode.HUMAN,
                Conversation.assigned_at.is_not(None),
                Conversation.assigned_at <= cutoff,
                or_(
                    Conversation.last_agent_message_at.is_(None),
                    Conversation.last_agent_message_at < Conversation.assigned_at,
                ),
            )
        )
    ).all()
    requeued: list[tuple[Conversation, int]] = []
    for conversation in silent:
        silent_id = conversation.assignee_id
        if silent_id is None:  # the query asked for assigned conversations; a concurrent change cleared it
            continue
        changed = await rows_changed(
            session, update(Conversation)
            .where(
                Conversation.id == conversation.id,
                Conversation.mode == ConversationMode.HUMAN,
                Conversation.assignee_id == silent_id,
                Conversation.assigned_at == conversation.assigned_at,
            )
            .values(
                mode=ConversationMode.WAITING,
                assignee_id=None,
                assigned_at=None,
                # keep their place: the wait started when they first asked, not now
                waiting_since=func.coalesce(Conversation.waiting_since, now),
                version=Conversation.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if changed != 1:
            continue
        ended = await _end_open_handoff(session, conversation.id, "requeued", now)
        reloaded = await _reload(session, conversation.id)
        session.add(Handoff(conversation_id=conversation.id, reason=ended.reason if ended else "requeued",
                            requested_at=now))
        silent_staff = await session.get(Staff, silent_id)
        await notify_team(work, "requeued", link=_link(reloaded), customer=await _customer_name(session, reloaded),
                          agent=silent_staff.name if silent_staff else f"#{silent_id}", minutes=minutes)
        # The row is about the agent who went silent, whoever runs the tick.
        await auth.audit(session, "requeue", staff_id=silent_id, target_type="conversation",
                         target_id=conversation.id, details={"minutes": minutes}, ip=work.ip)
        # The customer hears it too: they are not left talking to someone who left.
        await tell_customer(work, reloaded, "requeued")
        work.publish(conversation_changed(reloaded, requeued=True))
        requeued.append((reloaded, silent_id))
    await session.flush()
    return requeued


async def assignment_tick(work: Work) -> tuple[int, int]:
    """The periodic handoff pass: requeue conversations whose assignee went silent (HANDOFF_REASSIGN_MINUTES),
    then give the queue to online agents; each customer hears who joined, each agent is told. Returns
    (requeued, assigned) counts. Safe to run in several processes at once (see `auto_assign`)."""
    requeued = await requeue_silent(work, minutes=work.settings.handoff_reassign_minutes)
    return len(requeued), await assign_waiting(work)


async def assign_waiting(work: Work) -> int:
    """Give the queue to available online agents now; each customer hears who joined, each agent is told."""
    assigned = await auto_assign(work.session)
    after_hours = await _after_hours(work) if assigned else False
    for conversation, agent in assigned:
        work.publish(conversation_changed(conversation))
        await tell_customer(work, conversation, "agent_joined", agent=_shown_name(work, agent),
                            after_hours=after_hours)
        await auth.audit(work.session, "auto_assign", staff_id=agent.id, target_type="conversation",
                         target_id=conversation.id, ip=work.ip)
        await notify_staff(work, [agent.id], "assigned", link=_link(conversation),
                           customer=await _customer_name(work.session, conversation))
    return len(assigned)


async def set_availability(work: Work, available: bool) -> int:
    """The acting agent switches to Available or Away. Away agents get no new conversations (their own stay
    theirs); switching to Available hands them waiting customers at once rather than at the next tick.
    Returns how many conversations were assigned."""
    me = await acting_staff(work)
    if me.available == available:
        return 0
    me.available = available
    await work.audit("available" if available else "away", target_type="staff", target_id=me.id)
    if not available:
        return 0
    if me.online_until is None or me.online_until <= clock.now():  # switching in the console: the console is open
        me.online_until = clock.now() + PRESENCE_WINDOW
    await work.session.flush()
    return await assign_waiting(work)


async def mark_seen(work: Work, conversation_id: int, up_to_message_id: int | None = None) -> None:
    """Staff read the conversation (up to a message): its unread count drops in every console."""
    before = await work.session.scalar(
        select(Conversation.staff_seen_message_id).where(Conversation.id == conversation_id))
    after = await inbox.mark_seen(work.session, conversation_id, up_to_message_id)
    if after is not None and (before is None or after > before):
        conversation = await work.session.get(Conversation, conversation_id, populate_existing=True)
        if conversation is not None:
            work.publish(conversation_changed(conversation, seen=True))


def _shown_name(work: Work, staff: Staff) -> str:
    """The staff member's name as customers see it: empty when the company keeps names private."""
    return staff.name if work.settings.staff_names_to_customers else ""


async def _after_hours(work: Work) -> bool:
    """Outside the chat hours the customer was told when the team is back (the handoff flow says so); a person
    who joins anyway says they came outside those hours, so the two messages never contradict each other."""
    settings = work.settings
    calendar = await chat_calendar(work.session, settings.business_hours, settings.business_days, settings.tz)
    return not calendar.is_open(clock.now())


def _link(conversation: Conversation) -> str:
    return f"/conversations/{conversation.id}"


async def _customer_name(session: AsyncSession, conversation: Conversation) -> str:
    customer = await session.get(Customer, conversation.customer_id)
    return customer.display_name if customer else f"#{conversation.customer_id}"


async def acting_staff(work: Work) -> Staff:
    """The staff member this work acts for, read in its transaction (so a role change applies at once)."""
    staff_id = work.actor.staff_id
    staff = await work.session.get(Staff, staff_id) if staff_id is not None else None
    if staff is None:
        raise HandoffError("only a staff member can do this")
    return staff


def _check_owner(conversation: Conversation, staff: Staff) -> None:
    if conversation.status != "open" or conversation.mode != ConversationMode.HUMAN:
        raise HandoffError("the conversation is not with a person")
    if conversation.assignee_id != staff.id and staff.role != StaffRole.ADMIN:
        raise HandoffError("only the assignee (or an admin) can do this")


async def take_over(work: Work, conversation_id: int) -> Conversation:
    """The acting agent takes a conversation from the queue or straight from the bot; the customer is told who
    joined. HandoffError for everyone but the one winner of simultaneous takes."""
    agent = await acting_staff(work)
    conversation = await take(work.session, conversation_id, agent, takeover=True)
    work.publish(conversation_changed(conversation))
    await tell_customer(work, conversation, "agent_joined", agent=_shown_name(work, agent),
                        after_hours=await _after_hours(work))
    await work.audit("takeover", target_type="conversation", target_id=conversation_id)
    return conversation


async def agent_reply(
    work: Work, conversation_id: int, payload: dict[str, Any], *, text: str, kind: str | None = None
) -> Message:
    """The acting agent writes to the customer (a reply payload, `dialogs.replies.Reply.to_payload()`): only in a
    conversation they own (admins too). `text` is what the history shows."""
    agent = await acting_staff(work)
    conversation = await _reload(work.session, conversation_id)
    _check_owner(conversation, agent)
    customer = await work.session.get(Customer, conversation.customer_id)
    if customer is None:
        raise HandoffError("the customer is gone")
    message = await queue_to_customer(work.session, conversation, customer, payload, text=text, sender="agent",
                                      priority=PRIORITY_AGENT, staff_id=agent.id, kind=kind)
    conversation.last_agent_message_at = clock.now()  # the silent-assignee clock stops
    await sla.chat_answered(work.session, conversation.id, agent, conversation.last_agent_message_at)
    work.publish(message_new(message))
    return message


async def promise_answer(work: Work, conversation_id: int, day: date, *, now: datetime | None = None) -> ChatWait:
    """Staff cannot answer yet: the customer is told to expect an answer by the end of business on `day`, and the
    chat's first-response clock stops until then (storage.services.sla.promise_answer). The owner (or an admin)
    of a chat with a person, or any agent while it waits in the queue."""
    by = await acting_staff(work)
    now = now or clock.now()
    conversation = await _reload(work.session, conversation_id)
    if not by.is_active or by.role not in CHAT_ROLES:
        raise HandoffError("only active agents can answer chats")
    if conversation.mode != ConversationMode.WAITING:
        _check_owner(conversation, by)
    calendar = await sla.load_calendar(work.session, work.settings)
    until = datetime.combine(day, calendar.closes, tzinfo=calendar.tz)
    if until <= now:
        raise HandoffError("the promised day must be in the future")
    if day - now.astimezone(calendar.tz).date() > PROMISE_HORIZON:
        raise HandoffError("promise an answer within 30 days")
    try:
        wait = await sla.promise_answer(work.session, conversation_id, until, now)
    except ValueError as exc:
        raise HandoffError(str(exc)) from exc
    await tell_customer(work, conversation, "answer_promised", agent=by.name, by=until.isoformat(),
                        tz=str(calendar.tz))
    await work.audit("answer_promised", target_type="conversation", target_id=conversation_id,
                     details={"by": until.isoformat()})
    work.publish(conversation_changed(conversation))
    return wait


async def add_note(work: Work, conversation_id: int, text: str) -> Message:
    """A private note by the acting staff member: stays in the console, never sent to the customer."""
    agent = await acting_staff(work)
    conversation = await _reload(work.session, conversation_id)
    message = Message(conversation_id=conversation.id, direction="out", sender="agent", staff_id=agent.id,
                      kind="note", text=text, private_note=True)
    work.session.add(message)
    await work.session.flush()
    work.publish(message_new(message))
    return message


async def transfer(
    work: Work, conversation_id: int, to_staff_id: int, note: str = "", *, now: datetime | None = None
) -> Conversation:
    """The owner (or an admin) hands a conversation to another agent with a private note; the new owner is told."""
    session = work.session
    by = await acting_staff(work)
    now = now or clock.now()
    conversation = await _reload(session, conversation_id)
    _check_owner(conversation, by)
    target = await session.get(Staff, to_staff_id)
    if target is None or not target.is_active or target.role not in CHAT_ROLES:
        raise HandoffError("transfer to an active agent")
    if target.id == conversation.assignee_id:
        raise HandoffError("the conversation already belongs to this agent")
    previous = conversation.assignee_id
    changed = await rows_changed(
        session, update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.mode == ConversationMode.HUMAN,
               Conversation.assignee_id == previous, Conversation.version == conversation.version)
        .values(assignee_id=target.id, assigned_at=now, team=None, version=Conversation.version + 1)
        .execution_options(synchronize_session=False)
    )
    if changed != 1:
        raise HandoffError("the conversation changed meanwhile; reload and try again")
    await _end_open_handoff(session, conversation_id, "transferred", now)
    session.add(Handoff(conversation_id=conversation_id, reason="transfer", requested_at=now, taken_at=now,
                        taken_by=target.id))
    conversation = await _reload(session, conversation_id)
    # The new owner has not answered yet either; the silent-assignee clock restarts for them.
    conversation.last_agent_message_at = None
    record = Message(conversation_id=conversation_id, direction="out", sender="system", staff_id=by.id, kind="note",
                     text=f"Transferred from {by.name} to {target.name}" + (f": {note}" if note else ""),
                     private_note=True)
    session.add(record)
    await session.flush()
    await notify_staff(work, [target.id], "transferred_with_note" if note else "transferred",
                       link=_link(conversation), by=by.name, customer=await _customer_name(session, conversation),
                       note=note)
    await tell_customer(work, conversation, "transferred", agent=_shown_name(work, target))
    await work.audit("transfer", target_type="conversation", target_id=conversation_id,
                     details={"to": target.id, "note": note})
    work.publish(conversation_changed(conversation, transferred_to=target.id), message_new(record))
    return conversation


async def transfer_to_team(
    work: Work, conversation_id: int, team: str, note: str = "", *, now: datetime | None = None
) -> Conversation:
    """The owner (or an admin) hands a conversation to a team (HANDOFF_TEAMS) rather than to one agent: it waits
    for the team, whose members are told and see it waiting (the inbox's team view); the first of them to take
    it owns it. Auto-assignment leaves it to them. The customer is told which team will answer."""
    session = work.session
    by = await acting_staff(work)
    now = now or clock.now()
    conversation = await _reload(session, conversation_id)
    _check_owner(conversation, by)
    if team not in HANDOFF_TEAMS:
        raise HandoffError(f"unknown team {team}")
    members = [member for member in await team_members(session, team) if member != by.id]
    if not members:
        raise HandoffError(f"nobody else is in the {team} team")
    changed = await rows_changed(
        session, update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.mode == ConversationMode.HUMAN,
               Conversation.assignee_id == conversation.assignee_id, Conversation.version == conversation.version)
        .values(mode=ConversationMode.WAITING, assignee_id=None, assigned_at=None, waiting_since=now, team=team,
                handoff_reason="transfer", version=Conversation.version + 1)
        .execution_options(synchronize_session=False)
    )
    if changed != 1:
        raise HandoffError("the conversation changed meanwhile; reload and try again")
    await _end_open_handoff(session, conversation_id, "transferred", now)
    session.add(Handoff(conversation_id=conversation_id, reason="transfer", requested_at=now))
    conversation = await _reload(session, conversation_id)
    conversation.last_agent_message_at = None
    record = Message(conversation_id=conversation_id, direction="out", sender="system", staff_id=by.id, kind="note",
                     text=f"Transferred from {by.name} to the {team} team" + (f": {note}" if note else ""),
                     private_note=True)
    session.add(record)
    await session.flush()
    await notify_staff(work, members, "team_waiting_with_note" if note else "team_waiting", link=_link(conversation),
                       by=by.name, customer=await _customer_name(session, conversation), team=team, note=note)
    await tell_customer(work, conversation, "team_transfer", team=team)
    await work.audit("transfer", target_type="conversation", target_id=conversation_id,
                     details={"team": team, "note": note})
    work.publish(conversation_changed(conversation, transferred_to_team=team), message_new(record))
    return conversation


async def return_to_bot(work: Work, conversation_id: int, *, now: datetime | None = None) -> Conversation:
    """The person is done for now; the bot answers again in the same conversation, and the customer is told."""
    by = await acting_staff(work)
    now = now or clock.now()
    conversation = await _reload(work.session, conversation_id)
    # An admin may release a waiting customer; otherwise only the owner returns the conversation.
    if not (conversation.mode == ConversationMode.WAITING and by.role == StaffRole.ADMIN):
        _check_owner(conversation, by)
    conversation.mode = ConversationMode.BOT
    conversation.assignee_id = None
    conversation.assigned_at = None
    conversation.waiting_since = None
    conversation.handoff_reason = None
    conversation.team = None
    conversation.misunderstandings = 0
    conversation.flow = None
    conversation.step = None
    conversation.slots = {}
    conversation.version += 1
    await _end_open_handoff(work.session, conversation_id, "returned", now)
    await sla.chat_ended(work.session, conversation_id, "returned", now)
    await work.session.flush()
    work.publish(conversation_changed(conversation))
    await tell_customer(work, conversation, "returned_to_bot")
    await work.audit("status", target_type="conversation", target_id=conversation_id,
                     details={"to": ConversationMode.BOT})
    return conversation


async def close(
    work: Work, conversation_id: int, *, now: datetime | None = None
) -> tuple[Conversation, Survey | None]:
    """Close the conversation and send its satisfaction survey (once per conversation), stored with the agent.

    The customer's next message starts a fresh conversation with the bot
    (storage.repositories.conversations.current never reopens a closed one).
    """
    by = await acting_staff(work)
    now = now or clock.now()
    conversation = await _reload(work.session, conversation_id)
    _check_owner(conversation, by)
    agent_id = conversation.assignee_id
    conversation.status = "closed"
    conversation.mode = ConversationMode.BOT
    conversation.closed_at = now
    conversation.team = None
    conversation.flow = None
    conversation.step = None
    conversation.slots = {}
    conversation.version += 1
    await _end_open_handoff(work.session, conversation_id, "closed", now)
    await sla.chat_ended(work.session, conversation_id, "closed", now)
    survey = await surveys.create_survey(work.session, subject_type="conversation", subject_id=conversation_id,
                                         customer_id=conversation.customer_id, staff_id=agent_id)
    await work.session.flush()
    work.publish(conversation_changed(conversation))
    if survey is not None:
        await tell_customer(work, conversation, "survey", subject_type=survey.subject_type,
                            subject_id=survey.subject_id, survey_id=survey.id)
    await work.audit("status", target_type="conversation", target_id=conversation_id,
                     details={"to": "closed", "survey": survey is not None})
    return conversation, survey
