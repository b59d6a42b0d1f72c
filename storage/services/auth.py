"""Console sign-in with throttling per account and per address, and the audit log.

Per account: every 5 failed attempts in a row lock the account, 15 minutes the first time and twice as long
each time after (at most a day); a successful sign-in resets the count. Per address: 20 failures within
15 minutes refuse further attempts from that address, whatever the account, which stops password spraying.
Failures are read from the audit log, so throttling holds across console processes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import AuditLog, Staff
from storage.services.staff_accounts import hash_password, needs_rehash, verify_password

ACCOUNT_FAILURES_BEFORE_LOCK = 5
ACCOUNT_LOCK = timedelta(minutes=15)
ACCOUNT_LOCK_MAX = timedelta(days=1)
IP_FAILURES_ALLOWED = 20
IP_WINDOW = timedelta(minutes=15)
_dummy_hash: str | None = None


def _unknown_account_hash() -> str:
    """A real hash to verify against when the email is unknown, so both cases take the same time."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("no account has this password")
    return _dummy_hash


@dataclass(frozen=True)
class LoginResult:
    outcome: str  # ok | invalid | locked | throttled
    staff: Staff | None = None
    retry_after_seconds: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


async def audit(
    session: AsyncSession, action: str, *, staff_id: int | None = None, target_type: str | None = None,
    target_id: int | None = None, details: dict[str, Any] | None = None, ip: str | None = None,
    now: datetime | None = None,
) -> AuditLog:
    """One audit row (logins, takeovers, transfers, status changes, exports...), in the caller's transaction."""
    row = AuditLog(at=now or clock.now(), staff_id=staff_id, action=action, target_type=target_type,
                   target_id=target_id, details=details or {}, ip=(ip or "")[:64] or None)
    session.add(row)
    await session.flush()
    return row


async def ip_failures(session: AsyncSession, ip: str, now: datetime) -> int:
    return await session.scalar(
        select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "login_failed", AuditLog.ip == ip[:64], AuditLog.at > now - IP_WINDOW
        )
    ) or 0


def _lock_length(failures: int) -> timedelta:
    doublings = max(0, failures // ACCOUNT_FAILURES_BEFORE_LOCK - 1)
    return min(ACCOUNT_LOCK * (2 ** min(doublings, 10)), ACCOUNT_LOCK_MAX)


async def login(
    session: AsyncSession, email: str, password: str, *, ip: str, now: datetime | None = None
) -> LoginResult:
    """Check a sign-in attempt; records the outcome in the audit log. The caller commits in every case."""
    now = now or clock.now()
    email = email.strip().lower()
    if await ip_failures(session, ip, now) >= IP_FAILURES_ALLOWED:
        await audit(session, "login_throttled", details={"email": email[:254]}, ip=ip, now=now)
        return LoginResult("throttled", retry_after_seconds=int(IP_WINDOW.total_seconds()))
    staff = await session.scalar(select(Staff).where(func.lower(Staff.email) == email))
    if staff is not None and staff.locked_until is not None and staff.locked_until > now:
        await audit(session, "login_locked", staff_id=staff.id, ip=ip, now=now)
        return LoginResult("locked", retry_after_seconds=int((staff.locked_until - now).total_seconds()) + 1)
    # Verify in a thread: Argon2 is deliberately slow and must not stall the event loop.
    stored_hash = staff.password_hash if staff is not None else _unknown_account_hash()
    valid = await asyncio.to_thread(verify_password, stored_hash, password) and staff is not None
    if staff is not None and valid and staff.is_active:
        if needs_rehash(staff.password_hash):  # in a thread too: hashing must not stall other requests
            staff.password_hash = await asyncio.to_thread(hash_password, password)
        staff.failed_logins = 0
        staff.locked_until = None
        staff.last_login_at = now
        await audit(session, "login", staff_id=staff.id, ip=ip, now=now)
        return LoginResult("ok", staff=staff)
    details: dict[str, Any] = {"email": email[:254]} if staff is None else {}
    if staff is not None:
        staff.failed_logins += 1
        if staff.failed_logins % ACCOUNT_FAILURES_BEFORE_LOCK == 0:
            staff.locked_until = now + _lock_length(staff.failed_logins)
        if not staff.is_active:
            details["inactive"] = True
    await audit(session, "login_failed", staff_id=staff.id if staff else None, details=details, ip=ip, now=now)
    return LoginResult("invalid")
