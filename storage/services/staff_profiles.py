"""What a staff member's work depends on: an agent's working hours and time off (storage.services.viewings offers
slots from them), a technician's service areas, skills and level (storage.services.tickets.suggest_assignees
ranks by them) and their work history (the tickets they handled).

One rule for the console's forms, `homedesk create-staff` and `homedesk import-staff`: every value is checked
here and a refusal is a StaffAccountError whose English sentence the console translates (staff_console.errors).

Working hours are written per weekday as ranges, "09:00-12:00, 13:00-18:00" (an empty day is a day off), and
stored as {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], ...}. Time off is whole local days, from one date to
another inclusive, in the staff member's (or the company's) time zone.

Functions work inside the caller's transaction; callers commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import District, Project, Staff, StaffTimeOff, Survey, Ticket
from storage.services.staff_accounts import StaffAccountError
from storage.services.tickets import OPEN_STATUSES
from storage.vocabulary import COMPLAINT_CATEGORIES, REPAIR_CATEGORIES

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))  # as refusals name a day (the console shows its word)
SKILLS: tuple[str, ...] = tuple(dict.fromkeys((*REPAIR_CATEGORIES, *COMPLAINT_CATEGORIES)))
LEVELS = range(1, 6)  # 1 junior .. 5 senior; emergencies prefer seniors
MAX_AREAS = 30
MAX_AREA_LENGTH = 64
MAX_TIME_OFF_DAYS = 366
RECENT_TICKETS = 10
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至到]\s*(\d{1,2}):(\d{2})\s*$")
_LIST_SEPARATORS = re.compile(r"[;,；，、\n]")


# ---- working hours -------------------------------------------------------------------------------------------


def _clock_time(hours: str, minutes: str) -> time | None:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(23, 59)
    if h > 23 or m > 59:
        return None
    return time(h, m)


def parse_day(code: str, text: str) -> list[list[str]]:
    """One weekday's ranges ("09:00-12:00, 13:00-18:00"), sorted; empty text is a day off."""
    day = DAY_NAMES[code]
    ranges: list[tuple[time, time]] = []
    for part in (p for p in _LIST_SEPARATORS.split(text or "") if p.strip()):
        match = _RANGE.match(part)
        opens = _clock_time(match.group(1), match.group(2)) if match else None
        closes = _clock_time(match.group(3), match.group(4)) if match else None
        if match is None or opens is None or closes is None:
            raise StaffAccountError(f"{day}: {part.strip()} is not a time range like 09:00-18:00")
        if closes <= opens:
            raise StaffAccountError(f"{day}: {part.strip()} ends before it starts")
        ranges.append((opens, closes))
    ranges.sort()
    for (_, first_end), (second_start, _) in zip(ranges, ranges[1:], strict=False):
        if second_start < first_end:
            raise StaffAccountError(f"{day}: the time ranges overlap")
    return [[f"{opens:%H:%M}", f"{closes:%H:%M}"] for opens, closes in ranges]


def parse_week(texts: Mapping[str, str]) -> dict[str, list[list[str]]]:
    """{"mon": "09:00-18:00", ...} (missing days are off) -> the stored form, days off left out."""
    week: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        ranges = parse_day(day, texts.get(day, ""))
        if ranges:
            week[day] = ranges
    return week


def parse_hours_option(text: str) -> dict[str, list[list[str]]]:
    """The command line's and the CSV's form: "mon-fri 09:00-18:00; sat 10:00-16:00" (days: mon..sun, a range
    like mon-fri, or several separated by "/": "mon/wed 09:00-12:00"). Later parts add to a day's ranges."""
    texts: dict[str, list[str]] = {}
    for part in (p.strip() for p in re.split(r"[;；\n]", text or "") if p.strip()):
        days_text, _, ranges = part.partition(" ")
        days: list[str] = []
        for piece in days_text.lower().split("/"):
            first, _, last = piece.partition("-")
            if first not in WEEKDAYS or (last and last not in WEEKDAYS):
                raise StaffAccountError(f"hours: {part} does not start with weekdays like mon-fri")
            stop = WEEKDAYS.index(last) if last else WEEKDAYS.index(first)
            days.extend(WEEKDAYS[WEEKDAYS.index(first):stop + 1])
        if not ranges.strip() or not days:
            raise StaffAccountError(f"hours: {part} does not start with weekdays like mon-fri")
        for day in days:
            texts.setdefault(day, []).append(ranges)
    return parse_week({day: ",".join(ranges) for day, ranges in texts.items()})


def day_text(staff: Staff, day: str) -> str:
    """A weekday's stored ranges as the form shows them ("09:00-12:00, 13:00-18:00")."""
    return ", ".join(f"{pair[0]}-{pair[1]}" for pair in (staff.working_hours or {}).get(day, []) or []
                     if isinstance(pair, list | tuple) and len(pair) == 2)


def set_working_hours(staff: Staff, texts: Mapping[str, str]) -> dict[str, list[list[str]]]:
    """Check and store the week's hours (all days or none: one bad day changes nothing)."""
    staff.working_hours = parse_week(texts)
    return staff.working_hours


# ---- time off ------------------------------------------------------------------------------------------------


def staff_zone(staff: Staff, company: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(staff.timezone) if staff.timezone else company
    except (ValueError, KeyError):
        return company


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise StaffAccountError(f"{what} is not a date like 2026-03-01") from None


async def add_time_off(session: AsyncSession, staff: Staff, first_day: date, last_day: date, reason: str | None,
                       *, company: ZoneInfo, now: datetime | None = None) -> StaffTimeOff:
    """Whole days away, first_day to last_day inclusive, local to the staff member; slots there are no longer
    offered (bookings already made stay: the console lists them so someone can move them)."""
    now = now or clock.now()
    if last_day < first_day:
        raise StaffAccountError("the time off ends before it starts")
    if (last_day - first_day).days >= MAX_TIME_OFF_DAYS:
        raise StaffAccountError(f"time off is at most {MAX_TIME_OFF_DAYS} days at a time")
    tz = staff_zone(staff, company)
    if last_day < now.astimezone(tz).date():
        raise StaffAccountError("the time off is already over")
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise StaffAccountError("the reason is longer than 200 characters")
    row = StaffTimeOff(
        staff_id=staff.id, starts_at=datetime.combine(first_day, time(0), tz).astimezone(ZoneInfo("UTC")),
        ends_at=datetime.combine(last_day + timedelta(days=1), time(0), tz).astimezone(ZoneInfo("UTC")),
        reason=reason or None,
    )
    session.add(row)
    await session.flush()
    return row


async def remove_time_off(session: AsyncSession, staff: Staff, time_off_id: int) -> StaffTimeOff:
    row = await session.get(StaffTimeOff, time_off_id)
    if row is None or row.staff_id != staff.id:
        raise StaffAccountError("no such time off")
    await session.delete(row)
    await session.flush()
    return row


async def time_off(session: AsyncSession, staff_id: int, *, now: datetime | None = None) -> Sequence[StaffTimeOff]:
    """Time off that has not ended yet, soonest first."""
    return (await session.scalars(
        select(StaffTimeOff).where(StaffTimeOff.staff_id == staff_id, StaffTimeOff.ends_at > (now or clock.now()))
        .order_by(StaffTimeOff.starts_at, StaffTimeOff.id)
    )).all()


def time_off_days(row: StaffTimeOff, staff: Staff, company: ZoneInfo) -> tuple[date, date]:
    """The first and last local day of a time-off row."""
    tz = staff_zone(staff, company)
    return row.starts_at.astimezone(tz).date(), (row.ends_at.astimezone(tz) - timedelta(microseconds=1)).date()


# ---- a technician's areas, skills and level ------------------------------------------------------------------


def split_list(text: str | Iterable[str]) -> list[str]:
    """Names separated by ; or , (Chinese punctuation too), trimmed, repeats dropped, order kept."""
    parts = _LIST_SEPARATORS.split(text) if isinstance(text, str) else list(text)
    seen: dict[str, str] = {}
    for part in (p.strip() for p in parts):
        if part and part.lower() not in seen:
            seen[part.lower()] = part
    return list(seen.values())


def check_areas(areas: Iterable[str]) -> list[str]:
    names = split_list(areas)
    if len(names) > MAX_AREAS:
        raise StaffAccountError(f"at most {MAX_AREAS} service areas")
    for name in names:
        if len(name) > MAX_AREA_LENGTH:
            raise StaffAccountError(f"the area {name} is longer than {MAX_AREA_LENGTH} characters")
    return names


def check_skills(skills: Iterable[str]) -> list[str]:
    codes = [code.lower() for code in split_list(skills)]
    for code in codes:
        if code not in SKILLS:
            raise StaffAccountError(f"unknown skill {code}; use ticket categories: {', '.join(SKILLS)}")
    return [code for code in SKILLS if code in codes]  # the categories' own order


def check_level(value: object) -> int:
    try:
        level = int(str(value).strip())
    except ValueError:
        level = 0
    if level not in LEVELS:
        raise StaffAccountError(f"the level is a whole number from {LEVELS.start} to {LEVELS.stop - 1}")
    return level


async def unknown_areas(session: AsyncSession, areas: Iterable[str]) -> list[str]:
    """Areas that name no project and no district (yet): they match no ticket until one exists."""
    wanted = {area.lower(): area for area in areas}
    if not wanted:
        return []
    projects = await session.scalars(select(func.lower(Project.name)).where(func.lower(Project.name).in_(wanted)))
    districts = await session.scalars(
        select(func.lower(District.name)).where(func.lower(District.name).in_(wanted)))
    known = set(projects.all()) | set(districts.all())
    return [name for key, name in wanted.items() if key not in known]


async def known_areas(session: AsyncSession) -> list[str]:
    """Project and district names, for the form's suggestions."""
    projects = (await session.scalars(select(Project.name).order_by(Project.name))).all()
    districts = (await session.scalars(select(District.name).order_by(District.name))).all()
    return list(dict.fromkeys([*projects, *districts]))


def set_technician(staff: Staff, *, areas: Iterable[str], skills: Iterable[str], level: object) -> None:
    """Check everything first, then store it (one bad value changes nothing)."""
    checked_areas, checked_skills, checked_level = check_areas(areas), check_skills(skills), check_level(level)
    staff.service_areas, staff.skills, staff.level = checked_areas, checked_skills, checked_level


# ---- work history --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkHistory:
    handled: int  # tickets ever assigned to them
    open: int  # of those, still open
    resolved: int  # resolved or closed
    surveys: int  # answered satisfaction surveys about their tickets
    average_score: float | None
    recent: Sequence[Ticket]


async def work_history(session: AsyncSession, staff_id: int) -> WorkHistory:
    """The tickets a staff member handled: counts, the latest ones, and the customers' average rating."""
    counts = dict((await session.execute(
        select(Ticket.status, func.count()).where(Ticket.assignee_id == staff_id).group_by(Ticket.status)
    )).tuples().all())


    surveyed = (await session.execute(
        select(func.count(Survey.score), func.avg(Survey.score)).join(Ticket, Ticket.id == Survey.subject_id)
        .where(Survey.subject_type == "ticket", Ticket.assignee_id == staff_id, Survey.score.is_not(None))
    )).one()
    recent = (await session.scalars(
        select(Ticket).where(Ticket.assignee_id == staff_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(RECENT_TICKETS)
    )).all()
    return WorkHistory(
        handled=sum(counts.values()), open=sum(n for status, n in counts.items() if status in OPEN_STATUSES),
        resolved=sum(n for status, n in counts.items() if status in ("resolved", "closed")),
        surveys=int(surveyed[0] or 0), average_score=round(float(surveyed[1]), 1) if surveyed[0] else None,
        recent=recent,
    )
