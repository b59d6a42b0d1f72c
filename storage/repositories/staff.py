"""Staff members: look-ups, the team list, presence (online_until heartbeats)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Staff
from storage.vocabulary import CHAT_ROLES

PRESENCE_WINDOW = timedelta(seconds=90)  # a console that stops beating for this long counts as offline


async def get(session: AsyncSession, staff_id: int) -> Staff | None:
    return await session.get(Staff, staff_id)


async def by_email(session: AsyncSession, email: str) -> Staff | None:
    return await session.scalar(select(Staff).where(func.lower(Staff.email) == email.strip().lower()))


async def list_staff(session: AsyncSession, *, include_inactive: bool = True) -> Sequence[Staff]:
    query = select(Staff).order_by(Staff.is_active.desc(), Staff.name, Staff.id)
    if not include_inactive:
        query = query.where(Staff.is_active.is_(True))
    return (await session.scalars(query)).all()


async def agents(session: AsyncSession) -> Sequence[Staff]:
    """Who can own conversations: active agents and admins."""
    return (
        await session.scalars(
            select(Staff).where(Staff.is_active.is_(True), Staff.role.in_(CHAT_ROLES)).order_by(Staff.name)
        )
    ).all()


async def heartbeat(
    session: AsyncSession, staff_id: int, *, now: datetime | None = None, window: timedelta = PRESENCE_WINDOW
) -> None:
    """The staff member's console is open: online for another `window`."""
    staff = await session.get(Staff, staff_id)
    if staff is not None:
        staff.online_until = (now or clock.now()) + window


async def set_offline(session: AsyncSession, staff_id: int) -> None:
    staff = await session.get(Staff, staff_id)
    if staff is not None:
        staff.online_until = None


def is_online(staff: Staff, now: datetime | None = None) -> bool:
    return staff.online_until is not None and staff.online_until > (now or clock.now())


async def teams(session: AsyncSession) -> list[str]:
    """The teams (departments) active staff belong to, by name."""
    rows = await session.scalars(select(Staff.team).where(Staff.is_active.is_(True), Staff.team.is_not(None))
                                 .distinct().order_by(Staff.team))
    return [team for team in rows.all() if team]


async def by_telegram_chat(session: AsyncSession, chat_id: int) -> int | None:
    """The id of the active staff member who linked this Telegram chat, if any."""
    found: int | None = await session.scalar(
        select(Staff.id).where(Staff.telegram_chat_id == chat_id, Staff.is_active.is_(True)).limit(1))
    return found
