"""Service levels: deadlines counted in business hours with a holiday calendar, paused while waiting for the customer.

The calendar: SLA_BUSINESS_HOURS on SLA_BUSINESS_DAYS in TIMEZONE, except the days in the Holiday table: a row with
is_workday=False is a day off (Spring Festival...), a row with is_workday=True is a working day even on a weekend
(the Chinese make-up workdays, 调休).

Policies (SlaPolicy rows, editable by admins; DEFAULT_POLICIES when none matches) give minutes. For policies counted
in business hours a "day" is one business day, so the defaults say: first response within one business day (the
seeds' 24 hours), standard repairs resolved in 7 business days, complaints in 3; emergencies answer in 1 hour and are
resolved in 24 hours around the clock.

Pausing: when a ticket waits for the customer, `pause` notes the moment; `resume` pushes the open deadlines forward
by the time the ticket waited (business minutes for business-hours policies).

Chats (consultations) have a first-response deadline too, one `ChatWait` row per stretch of waiting for staff: it
opens when the customer asks for a person, or writes again in a chat a person already answered
(`chat_waiting`), and is settled by the staff's reply (`chat_answered`) or when the chat is closed, returned to the
bot or left (`chat_ended`). Its policy is the SlaPolicy of kind "chat" (category = the channel, telegram / web),
else one business day (the seeds' 24 hours). When staff cannot answer yet they promise an answer by a date
(`promise_answer`): the clock stops until then and resumes, pushed forward by the time it stood, if no answer came.
`scan_chats` warns at 80 % and records breaches as `scan` does for tickets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import ChatWait, Conversation, Customer, Holiday, SlaPolicy, Staff, Ticket
from storage.settings import Settings
from storage.vocabulary import CHAT_TEAM, ConversationMode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FINAL_STATUSES = ("resolved", "closed", "cancelled")
WARN_FRACTION = 0.8
CHAT = "chat"  # the SlaPolicy kind of chats; their "category" is the channel


@dataclass(frozen=True)
class Calendar:
    opens: time
    closes: time
    days: frozenset[int]  # 0 = Monday
    tz: ZoneInfo
    exceptions: Mapping[date, bool]  # day -> is a working day (holidays False, make-up workdays True)

    @classmethod
    def parse(
        cls, hours: str, days: str, tz: ZoneInfo | str, exceptions: Mapping[date, bool] | None = None
    ) -> Calendar:
        try:
            start, end = (part.strip() for part in hours.split("-", 1))
            opens, closes = time.fromisoformat(start), time.fromisoformat(end)
        except ValueError as exc:
            raise ValueError(f"business hours {hours!r} must look like 09:00-18:00") from exc
        if closes <= opens:
            raise ValueError("business hours must close after they open")
        day_set: set[int] = set()
        for name in days.lower().replace(" ", "").split(","):
            if "-" in name:  # mon-fri
                first, last = name.split("-", 1)
                day_set.update(range(WEEKDAYS.index(first), WEEKDAYS.index(last) + 1))
            elif name in WEEKDAYS:
                day_set.add(WEEKDAYS.index(name))
            else:
                raise ValueError(f"unknown day {name!r}; use mon,tue,... or mon-fri")
        return cls(opens, closes, frozenset(day_set), ZoneInfo(tz) if isinstance(tz, str) else tz,
                   dict(exceptions or {}))

    @property
    def day_minutes(self) -> int:
        return (self.closes.hour * 60 + self.closes.minute) - (self.opens.hour * 60 + self.opens.minute)

    def is_workday(self, day: date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() in self.days

    def _span(self, day: date) -> tuple[datetime, datetime]:
        return datetime.combine(day, self.opens, tzinfo=self.tz), datetime.combine(day, self.closes, tzinfo=self.tz)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` business minutes after `start` (aware, UTC)."""
        cursor = start.astimezone(self.tz)
        remaining = max(0.0, minutes)
        day = cursor.date()
        for _ in range(3700):  # ten years of days: a calendar without working days must not spin forever
            if self.is_workday(day):
                opens, closes = self._span(day)
                begin = max(cursor, opens)
                if begin < closes:
                    available = (closes - begin).total_seconds() / 60
                    if remaining <= available:
                        return (begin + timedelta(minutes=remaining)).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            cursor = datetime.combine(day, time(0), tzinfo=self.tz)
        raise ValueError("the business calendar has no working days")

    def between(self, start: datetime, end: datetime) -> float:
        """Business minutes from `start` to `end` (0 when end is not after start)."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(self.tz), end.astimezone(self.tz)
        total = 0.0
        day = a.date()
        while day <= b.date():
            if self.is_workday(day):
                opens, closes = self._span(day)
                lo, hi = max(a, opens), min(b, closes)
                if hi > lo:
                    total += (hi - lo).total_seconds() / 60
            day += timedelta(days=1)
        return total

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        opens, closes = self._span(local.date())
        return self.is_workday(local.date()) and opens <= local < closes


async def load_calendar(session: AsyncSession, settings: Settings) -> Calendar:
    """The SLA calendar: the settings' hours and days in their time zone, with the Holiday table's exceptions."""
    rows = (await session.execute(select(Holiday.day, Holiday.is_workday))).all()
    return Calendar.parse(settings.sla_business_hours, settings.sla_business_days, settings.tz,
                          {day: bool(workday) for day, workday in rows})


@dataclass(frozen=True)
class Policy:
    first_response_minutes: int
    resolve_minutes: int
    business_hours: bool


def default_policy(kind: str, priority: str, day_minutes: int) -> Policy:
    if kind == "repair" and priority == "emergency":
        return Policy(60, 24 * 60, business_hours=False)
    if kind == "complaint":
        return Policy(day_minutes, 3 * day_minutes, business_hours=True)
    if kind == "suggestion":
        return Policy(day_minutes, 10 * day_minutes, business_hours=True)
    if kind == CHAT:
        return Policy(day_minutes, 5 * day_minutes, business_hours=True)
    return Policy(day_minutes, 7 * day_minutes, business_hours=True)


async def policy_for(session: AsyncSession, kind: str, category: str, priority: str, calendar: Calendar) -> Policy:
    """The most specific SlaPolicy row (category and priority beat 'any'), else the built-in default."""
    rows = (await session.scalars(select(SlaPolicy).where(SlaPolicy.kind == kind))).all()
    matching = [r for r in rows if r.category in (None, category) and r.priority in (None, priority)]
    if not matching:
        return default_policy(kind, priority, calendar.day_minutes)
    best = max(matching, key=lambda r: (r.category is not None, r.priority is not None))
    return Policy(best.first_response_minutes, best.resolve_minutes, best.business_hours)


def _add(calendar: Calendar, policy: Policy, start: datetime, minutes: float) -> datetime:
    return calendar.add(start, minutes) if policy.business_hours else start + timedelta(minutes=minutes)


def _between(calendar: Calendar, policy: Policy, start: datetime, end: datetime) -> float:
    if policy.business_hours:
        return calendar.between(start, end)
    return max(0.0, (end - start).total_seconds() / 60)


async def _context(session: AsyncSession, ticket: Ticket, settings: Settings) -> tuple[Calendar, Policy]:
    calendar = await load_calendar(session, settings)
    return calendar, await policy_for(session, ticket.kind, ticket.category, ticket.priority, calendar)


async def apply_deadlines(session: AsyncSession, ticket: Ticket, start: datetime | None = None, *,
                          settings: Settings) -> None:
    """Set both deadlines from `start` (the ticket's creation)."""
    calendar, policy = await _context(session, ticket, settings)
    start = start or ticket.created_at or clock.now()
    ticket.first_response_due_at = _add(calendar, policy, start, policy.first_response_minutes)
    ticket.resolve_due_at = _add(calendar, policy, start, policy.resolve_minutes)


def pause(ticket: Ticket, now: datetime | None = None) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now or clock.now()


async def resume(session: AsyncSession, ticket: Ticket, now: datetime | None = None, *,
                 settings: Settings) -> float:
    """Push open deadlines forward by the paused time; returns the minutes added."""
    if ticket.sla_paused_at is None:
        return 0.0
    now = now or clock.now()
    calendar, policy = await _context(session, ticket, settings)
    paused = _between(calendar, policy, ticket.sla_paused_at, now)
    if ticket.resolve_due_at is not None:
        ticket.resolve_due_at = _add(calendar, policy, ticket.resolve_due_at, paused) if paused else \
            ticket.resolve_due_at
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None and paused:
        ticket.first_response_due_at = _add(calendar, policy, ticket.first_response_due_at, paused)
    ticket.sla_paused_at = None
    return paused


@dataclass(frozen=True)
class Clock:
    """What the board shows: deadline, minutes left (negative = overdue), paused, breached."""

    due_at: datetime | None
    minutes_left: float | None
    paused: bool
    breached: bool
    done: bool


async def status(session: AsyncSession, ticket: Ticket, now: datetime | None, calendar: Calendar) -> dict[str, Clock]:
    """The ticket's clocks; `calendar` from `load_calendar` (load it once for a whole board)."""
    now = now or clock.now()
    policy = await policy_for(session, ticket.kind, ticket.category, ticket.priority, calendar)
    at = ticket.sla_paused_at or now  # a paused clock shows the time left when it stopped
    result: dict[str, Clock] = {}
    for name, due, done_at, breached in (
        ("first_response", ticket.first_response_due_at, ticket.first_responded_at, ticket.first_response_breached),
        ("resolution", ticket.resolve_due_at, ticket.resolved_at, ticket.resolution_breached),
    ):
        left = None
        if due is not None and done_at is None:
            left = _between(calendar, policy, at, due) if at < due else -_between(calendar, policy, due, at)
        result[name] = Clock(due, left, ticket.sla_paused_at is not None, breached or (left is not None and left < 0),
                             done_at is not None)
    return result


def deadline_met(due: datetime | None, done_at: datetime | None, now: datetime,
                 paused_at: datetime | None = None) -> bool | None:
    """Was a deadline met, from the timestamps alone: True when done by the deadline (or there was none), False
    when done late or still open past it, None while it is open and not yet due (it counts neither way). A paused
    clock stopped at `paused_at`: a deadline it had not reached then is not yet due."""
    if done_at is not None:
        return due is None or done_at <= due
    if due is None:
        return None
    return False if due <= (paused_at or now) else None


def format_minutes(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    sign = "-" if minutes < 0 else ""
    minutes = abs(int(minutes))
    hours, mins = divmod(minutes, 60)
    return f"{sign}{hours}h {mins:02d}m" if hours else f"{sign}{mins}m"


@dataclass(frozen=True)
class SlaSignal:
    ticket: Ticket
    which: str  # first_response | resolution
    level: str  # sla_80 | sla_breach
    due_at: datetime


async def scan(session: AsyncSession, now: datetime | None = None, *, settings: Settings) -> list[SlaSignal]:
    """Open, running tickets at 80 % of a deadline or past it. Breaches are recorded on the ticket here.

    The caller turns signals into reminders with dedupe keys, so a signal repeated on every tick is sent once.
    """
    now = now or clock.now()
    calendar = await load_calendar(session, settings)
    tickets = (
        await session.scalars(
            select(Ticket).where(Ticket.status.not_in(("closed", "cancelled")), Ticket.sla_paused_at.is_(None))
        )
    ).all()
    policies: dict[tuple[str, str, str], Policy] = {}
    signals: list[SlaSignal] = []
    for ticket in tickets:
        key = (ticket.kind, ticket.category, ticket.priority)
        if key not in policies:
            policies[key] = await policy_for(session, *key, calendar)
        policy = policies[key]
        checks = []
        if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
            checks.append(("first_response", ticket.first_response_due_at))
        if ticket.status not in FINAL_STATUSES and ticket.resolve_due_at is not None:
            checks.append(("resolution", ticket.resolve_due_at))
        for which, due in checks:
            if now >= due:
                if which == "first_response":
                    ticket.first_response_breached = True
                else:
                    ticket.resolution_breached = True
                signals.append(SlaSignal(ticket, which, "sla_breach", due))
                continue
            total = _between(calendar, policy, ticket.created_at, due)
            warn_at = _add(calendar, policy, ticket.created_at, total * WARN_FRACTION)
            if now >= warn_at:
                signals.append(SlaSignal(ticket, which, "sla_80", due))
    await session.flush()
    return signals


async def upsert_policy(
    session: AsyncSession, *, kind: str, category: str | None, priority: str | None, first_response_minutes: int,
    resolve_minutes: int, business_hours: bool,
) -> SlaPolicy:
    """Admins set a policy; one row per (kind, category, priority), None meaning 'any'."""
    if first_response_minutes <= 0 or resolve_minutes <= 0:
        raise ValueError("minutes must be positive")
    row = await session.scalar(select(SlaPolicy).where(
        SlaPolicy.kind == kind,
        SlaPolicy.category.is_(None) if category is None else SlaPolicy.category == category,
        SlaPolicy.priority.is_(None) if priority is None else SlaPolicy.priority == priority))
    if row is None:
        row = SlaPolicy(kind=kind, category=category, priority=priority, first_response_minutes=1, resolve_minutes=1)
        session.add(row)
    row.first_response_minutes, row.resolve_minutes = first_response_minutes, resolve_minutes
    row.business_hours = business_hours
    await session.flush()
    return row


async def set_holiday(session: AsyncSession, day: date, name: str, is_workday: bool) -> Holiday:
    """A day off, or (is_workday=True) a make-up working day on a weekend."""
    row = await session.get(Holiday, day)
    if row is None:
        row = Holiday(day=day, name=name[:128], is_workday=is_workday)
        session.add(row)
    else:
        row.name, row.is_workday = name[:128], is_workday
    await session.flush()
    return row


# ---- chats: a first-response deadline for every chat waiting for staff ------------------------------------------

CHAT_TOPICS = ("needs", "recommend", "booking", "viewings", "repair", "complaint", "suggestion", "tickets", "faq",
               "general")


async def open_chat_wait(session: AsyncSession, conversation_id: int) -> ChatWait | None:
    return await session.scalar(select(ChatWait).where(
        ChatWait.conversation_id == conversation_id, ChatWait.answered_at.is_(None), ChatWait.ended_at.is_(None))
        .order_by(ChatWait.id.desc()).limit(1))


async def _chat_team(session: AsyncSession, conversation: Conversation) -> str:
    """The department that owes the answer: the owner's, else complaints for a complaint, else the chat desk."""
    if conversation.assignee_id is not None:
        team = await session.scalar(select(Staff.team).where(Staff.id == conversation.assignee_id))
        if team:
            return team
    return "complaints" if conversation.handoff_reason == "complaint" else CHAT_TEAM


async def chat_waiting(session: AsyncSession, conversation: Conversation, *, topic: str | None = None,
                       now: datetime | None = None, settings: Settings) -> ChatWait | None:
    """The conversation waits for staff (in the queue, or a person's chat the customer wrote in again): open a
    wait with its deadline unless one is open. A chat with the bot waits for nobody (None)."""
    if conversation.status != "open" or conversation.mode not in (ConversationMode.WAITING, ConversationMode.HUMAN):
        return None
    existing = await open_chat_wait(session, conversation.id)
    if existing is not None:
        return existing
    now = now or clock.now()
    if conversation.handoff_reason == "complaint":
        topic = "complaint"
    if topic not in CHAT_TOPICS or topic == "general":
        previous = await session.scalar(select(ChatWait.topic).where(ChatWait.conversation_id == conversation.id)
                                        .order_by(ChatWait.id.desc()).limit(1))
        topic = previous or "general"
    channel = await session.scalar(select(Customer.channel).where(Customer.id == conversation.customer_id))
    calendar = await load_calendar(session, settings)
    policy = await policy_for(session, CHAT, channel or "telegram", "normal", calendar)
    wait = ChatWait(conversation_id=conversation.id, channel=channel or "telegram", topic=topic,
                    team=await _chat_team(session, conversation), started_at=now,
                    due_at=_add(calendar, policy, now, policy.first_response_minutes), breached=False)
    session.add(wait)
    await session.flush()
    return wait


async def chat_answered(session: AsyncSession, conversation_id: int, staff: Staff,
                        now: datetime | None = None) -> ChatWait | None:
    """A person answered the chat: its open wait is settled (late when past its deadline)."""
    wait = await open_chat_wait(session, conversation_id)
    if wait is None:
        return None
    now = now or clock.now()
    wait.answered_at, wait.answered_by = now, staff.id
    wait.team = staff.team or wait.team
    wait.paused_at = None
    wait.breached = wait.breached or now > wait.due_at
    await session.flush()
    return wait


async def chat_ended(session: AsyncSession, conversation_id: int, how: str,
                     now: datetime | None = None) -> ChatWait | None:
    """The chat was closed, returned to the bot or left by the customer while it waited: the wait ends."""
    wait = await open_chat_wait(session, conversation_id)
    if wait is None:
        return None
    now = now or clock.now()
    wait.ended_at, wait.ended_how, wait.paused_at = now, how, None
    wait.breached = wait.breached or now > wait.due_at
    await session.flush()
    return wait


async def promise_answer(session: AsyncSession, conversation_id: int, by: datetime,
                         now: datetime | None = None) -> ChatWait:
    """Staff told the customer to expect an answer by `by`: the clock stops until then."""
    now = now or clock.now()
    wait = await open_chat_wait(session, conversation_id)
    if wait is None:
        raise ValueError("the customer is not waiting for an answer")
    if by <= now:
        raise ValueError("the promised day must be in the future")
    wait.paused_at = wait.paused_at or now
    wait.promised_at = by
    await session.flush()
    return wait


async def _resume_chat(session: AsyncSession, wait: ChatWait, calendar: Calendar, now: datetime) -> None:
    channel_policy = await policy_for(session, CHAT, wait.channel, "normal", calendar)
    if wait.paused_at is not None:
        stood = _between(calendar, channel_policy, wait.paused_at, min(now, wait.promised_at or now))
        wait.due_at = _add(calendar, channel_policy, wait.due_at, stood) if stood else wait.due_at
        wait.paused_at = None


@dataclass(frozen=True)
class ChatSignal:
    wait: ChatWait
    assignee_id: int | None
    level: str  # sla_80 | sla_breach
    due_at: datetime


async def scan_chats(session: AsyncSession, now: datetime | None = None, *, settings: Settings) -> list[ChatSignal]:
    """Open chat waits at 80 % of their deadline or past it (breaches recorded); paused ones whose promised day
    came without an answer run again first."""
    now = now or clock.now()
    calendar = await load_calendar(session, settings)
    rows = (await session.execute(
        select(ChatWait, Conversation.assignee_id).join(Conversation, Conversation.id == ChatWait.conversation_id)
        .where(ChatWait.answered_at.is_(None), ChatWait.ended_at.is_(None)))).tuples().all()
    policies: dict[str, Policy] = {}
    signals: list[ChatSignal] = []
    for wait, assignee_id in rows:
        if wait.paused_at is not None:
            if wait.promised_at is not None and now < wait.promised_at:
                continue
            await _resume_chat(session, wait, calendar, now)
        if wait.channel not in policies:
            policies[wait.channel] = await policy_for(session, CHAT, wait.channel, "normal", calendar)
        policy = policies[wait.channel]
        if now >= wait.due_at:
            wait.breached = True
            signals.append(ChatSignal(wait, assignee_id, "sla_breach", wait.due_at))
            continue
        total = _between(calendar, policy, wait.started_at, wait.due_at)
        if now >= _add(calendar, policy, wait.started_at, total * WARN_FRACTION):
            signals.append(ChatSignal(wait, assignee_id, "sla_80", wait.due_at))
    await session.flush()
    return signals
