"""Staff accounts: creation, Argon2 password hashes (the console's login checks them), and console sessions.

A console session is a row (`StaffSession`) named by the SHA-256 of a random token that only the browser's
encrypted cookie holds. A cookie works while its row exists: `end_session` ends one browser (sign-out),
`end_sessions` every browser of a staff member at once (password change, deactivation, "sign out everywhere"),
so a copied cookie stops working too. Sessions end `SESSION_LIFETIME` after sign-in whatever the cookie says.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Staff
from storage.models.people import StaffSession
from storage.vocabulary import STAFF_ROLES

MIN_PASSWORD_LENGTH = 8
SESSION_LIFETIME = timedelta(hours=12)  # from sign-in; the console's cookie lives as long
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


class StaffAccountError(ValueError):
    """The account cannot be created as asked; the message says why in one line."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's; rehash on the next good login."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def normalise_email(email: str) -> str:
    return email.strip().lower()


def is_email(email: str) -> bool:
    return bool(_EMAIL_RE.match(normalise_email(email)))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffAccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


async def by_email(session: AsyncSession, email: str) -> Staff | None:
    return await session.scalar(select(Staff).where(func.lower(Staff.email) == normalise_email(email)))


async def create_staff(
    session: AsyncSession,
    email: str,
    name: str,
    role: str,
    password: str,
    *,
    password_hash: str | None = None,
    **fields: object,
) -> Staff:
    """Add a staff member (flushed, not committed). Extra model fields (skills, working_hours, ...) may be given.

    `password_hash` is `hash_password(password)` made earlier, when several accounts share one password.
    """
    email = normalise_email(email)
    if not _EMAIL_RE.match(email):
        raise StaffAccountError(f"{email!r} is not an email address")
    if role not in STAFF_ROLES:
        raise StaffAccountError(f"unknown role {role!r}; use one of {', '.join(STAFF_ROLES)}")
    if not name.strip():
        raise StaffAccountError("name must not be empty")
    check_password(password)
    if await by_email(session, email) is not None:
        raise StaffAccountError(f"a staff member with email {email} already exists")
    if password_hash is None:
        # Argon2 takes ~0.1 s of CPU on purpose; a thread keeps the event loop answering meanwhile.
        password_hash = await asyncio.to_thread(hash_password, password)
    staff = Staff(email=email, name=name.strip(), role=role, password_hash=password_hash, **fields)
    session.add(staff)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise StaffAccountError(f"a staff member with email {email} already exists") from exc
    return staff


async def set_password(session: AsyncSession, staff: Staff, password: str) -> None:
    """A new password (checked, hashed in a thread); every session of the account ends and its lock is lifted."""
    check_password(password)
    staff.password_hash = await asyncio.to_thread(hash_password, password)
    staff.failed_logins, staff.locked_until = 0, None
    await end_sessions(session, staff.id)


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def start_session(session: AsyncSession, staff_id: int, *, ip: str | None = None,
                        now: datetime | None = None) -> str:
    """A new console session for this staff member; returns the token for the cookie (never stored as is).
    Sessions past their end are swept here, so the table holds about one row per signed-in browser."""
    now = now or clock.now()
    await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(id=_session_id(token), staff_id=staff_id, created_at=now,
                             expires_at=now + SESSION_LIFETIME, ip=(ip or "")[:64] or None))
    await session.flush()
    return token


async def session_owner(session: AsyncSession, staff_id: int, token: str, *,
                        now: datetime | None = None) -> Staff | None:
    """The active staff member a cookie's session belongs to; None once it ended, expired or the account is off."""
    if not token:
        return None
    return await session.scalar(
        select(Staff).join(StaffSession, StaffSession.staff_id == Staff.id).where(
            StaffSession.id == _session_id(token), Staff.id == staff_id, Staff.is_active.is_(True),
            StaffSession.expires_at > (now or clock.now()),
        )
    )


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign-out: this browser's session ends (every copy of its cookie with it)."""
    if token:
        await session.execute(delete(StaffSession).where(StaffSession.id == _session_id(token)))


async def end_sessions(session: AsyncSession, staff_id: int) -> int:
    """Every session of this staff member ends at once; returns how many there were."""
    result = await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    return int(getattr(result, "rowcount", 0) or 0)
