"""Staff accounts: creation and Argon2 password hashes (the console's login checks them)."""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Staff
from storage.vocabulary import STAFF_ROLES

MIN_PASSWORD_LENGTH = 8
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
