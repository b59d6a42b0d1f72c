"""Linking a staff member's Telegram chat through a one-time deep link (`/start link_<token>`).

Only a hash of the token is stored, so a database reader cannot link their own chat to someone else's account;
the token works once and expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Staff

DEEP_LINK_PREFIX = "link_"
TOKEN_TTL = timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link_token(
    session: AsyncSession, staff: Staff, *, now: datetime | None = None, ttl: timedelta = TOKEN_TTL
) -> str:
    """A fresh token for this staff member; any earlier one stops working."""
    token = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-], allowed in Telegram start parameters
    staff.telegram_link_token = _digest(token)
    staff.telegram_link_expires_at = (now or clock.now()) + ttl
    await session.flush()
    return token


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={DEEP_LINK_PREFIX}{token}"


async def consume_link_token(
    session: AsyncSession, token: str, chat_id: int, *, now: datetime | None = None
) -> Staff | None:
    """Link `chat_id` to the staff member holding this token. None when unknown, used or expired."""
    now = now or clock.now()
    if not token or len(token) > 64:
        return None
    staff = await session.scalar(select(Staff).where(Staff.telegram_link_token == _digest(token)))
    if staff is None or not staff.is_active:
        return None
    if staff.telegram_link_expires_at is None or staff.telegram_link_expires_at <= now:
        staff.telegram_link_token = None
        staff.telegram_link_expires_at = None
        return None
    # One chat belongs to one staff member: a chat moving to a new account leaves the old one.
    await session.execute(
        update(Staff).where(Staff.telegram_chat_id == chat_id, Staff.id != staff.id).values(telegram_chat_id=None)
        .execution_options(synchronize_session="fetch")
    )
    staff.telegram_chat_id = chat_id
    staff.telegram_link_token = None
    staff.telegram_link_expires_at = None
    await session.flush()
    return staff


async def unlink(session: AsyncSession, staff: Staff) -> None:
    staff.telegram_chat_id = None
    await session.flush()
