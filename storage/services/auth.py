"""Console sign-in with throttling per account and per address, and the audit log.

Per account: every 5 failed attempts in a row lock the account, 15 minutes the first time and twice as long
each time after (at most a day), whatever address the attempts come from; a successful sign-in resets the
count. Per address: 20 failures within a 15-minute window refuse further attempts from that address, whatever
the account, which stops password spraying.

Both counters live in the database (so they hold across console processes) and are counted atomically: an
attempt takes its place with one UPDATE ... RETURNING (account) and one upsert ... RETURNING (address) *before*
the password is checked. Concurrent attempts therefore each get their own number, and no more than 5 of them
reach the password check per lock, however many arrive at once. A successful sign-in gives its place back.

A sign-in is three short steps, so no connection and no write turn is held while Argon2 runs (it takes tenths
of a second on purpose): count the attempt (one write transaction), check the password (a thread, no database),
record the outcome (one write transaction). Each write transaction writes first, so on SQLite it takes the
write lock at once rather than failing to upgrade a read ("database is locked") when another process wrote.
Every attempt leaves an audit row: login, login_failed, login_locked or login_throttled.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import dialect_insert
from storage.gate import WriteGate
from storage.models import AuditLog, Staff
from storage.models.people import LoginAddress
from storage.services import staff_accounts

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
        _dummy_hash = staff_accounts.hash_password("no account has this password")
    return _dummy_hash


@dataclass(frozen=True)
class LoginResult:
    outcome: str  # ok | invalid | locked | throttled
    staff: Staff | None = None
    retry_after_seconds: int = 0
    session_token: str | None = None  # for the console's cookie, on success

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class _Attempt:
    """An attempt that took its place in the counters and may have its password checked."""

    email: str
    staff_id: int | None = None
    password_hash: str | None = None
    is_active: bool = False


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


def _lock_length(failures: int) -> timedelta:
    doublings = max(0, failures // ACCOUNT_FAILURES_BEFORE_LOCK - 1)
    return min(ACCOUNT_LOCK * (2 ** min(doublings, 10)), ACCOUNT_LOCK_MAX)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def address_key(ip: str) -> str:
    """What the per-address throttle counts by: the IPv4 address, or the IPv6 /64 (one subscriber's network: its
    owner can pick any of its 2^64 addresses, so each alone would give unlimited fresh counters)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def count_address_attempt(session: AsyncSession, ip: str, now: datetime) -> tuple[int, datetime]:
    """Count one attempt from this address in its window (a new window once the last one is over), atomically;
    returns (attempts in the window including this one, when the window started)."""
    window_start = LoginAddress.__table__.c.window_started_at
    stale = window_start <= now - IP_WINDOW
    insert = dialect_insert(session)(LoginAddress).values(ip=ip, window_started_at=now, failures=1)
    statement = insert.on_conflict_do_update(
        index_elements=[LoginAddress.ip],
        set_={"failures": case((stale, 1), else_=LoginAddress.failures + 1),
              "window_started_at": case((stale, literal(now, window_start.type)), else_=window_start)},
    ).returning(LoginAddress.failures, LoginAddress.window_started_at)
    failures, started = (await session.execute(statement)).one()
    return int(failures), started


async def _take_place(session: AsyncSession, email: str, ip: str, now: datetime) -> _Attempt | LoginResult:
    """Step 1: count the attempt for the address and the account; refuse it when either is over its limit."""
    # A write first (see the docstring).
    failures, window_started = await count_address_attempt(session, address_key(ip), now)
    if failures > IP_FAILURES_ALLOWED:
        await audit(session, "login_throttled", details={"email": email}, ip=ip, now=now)
        return LoginResult("throttled", retry_after_seconds=_seconds_until(window_started + IP_WINDOW, now))
    staff = (await session.execute(
        select(Staff.id, Staff.password_hash, Staff.is_active).where(func.lower(Staff.email) == email)
    )).first()
    if staff is None:
        return _Attempt(email)
    # The account's place: one atomic increment, refused while the account is locked (from any address).
    counted = await session.scalar(
        update(Staff)
        .where(Staff.id == staff.id, or_(Staff.locked_until.is_(None), Staff.locked_until <= now))
        .values(failed_logins=Staff.failed_logins + 1)
        .returning(Staff.failed_logins)
        .execution_options(synchronize_session=False)
    )
    if counted is None:
        locked_until = await session.scalar(select(Staff.locked_until).where(Staff.id == staff.id))
        await audit(session, "login_locked", staff_id=staff.id, ip=ip, now=now)
        retry = _seconds_until(locked_until, now) if locked_until is not None else 1
        return LoginResult("locked", retry_after_seconds=retry)
    if counted % ACCOUNT_FAILURES_BEFORE_LOCK == 0:
        # Locked from now on, before this attempt's password is checked: concurrent attempts find the lock.
        # If this attempt turns out right, step 3 lifts it again.
        await session.execute(
            update(Staff).where(Staff.id == staff.id).values(locked_until=now + _lock_length(counted))
            .execution_options(synchronize_session=False)
        )
    return _Attempt(email, staff.id, staff.password_hash, staff.is_active)


async def _record_success(session: AsyncSession, attempt: _Attempt, new_hash: str | None, ip: str,
                          now: datetime) -> LoginResult:
    if attempt.staff_id is None:
        raise ValueError("a successful sign-in names an account")
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if new_hash is not None:
        values["password_hash"] = new_hash
    await session.execute(update(Staff).where(Staff.id == attempt.staff_id).values(**values)
                          .execution_options(synchronize_session=False))
    # A right password is not a failure: give the address its place back. Finished windows are swept here.
    await session.execute(update(LoginAddress).where(LoginAddress.ip == address_key(ip), LoginAddress.failures > 0)
                          .values(failures=LoginAddress.failures - 1).execution_options(synchronize_session=False))
    await session.execute(delete(LoginAddress).where(LoginAddress.window_started_at <= now - IP_WINDOW)
                          .execution_options(synchronize_session=False))
    staff = await session.get(Staff, attempt.staff_id, populate_existing=True)
    if staff is None:  # the account was deleted between the password check and now
        return LoginResult("invalid")
    token = await staff_accounts.start_session(session, staff.id, ip=ip, now=now)
    await audit(session, "login", staff_id=staff.id, ip=ip, now=now)
    return LoginResult("ok", staff=staff, session_token=token)


async def login(
    gate: WriteGate, email: str, password: str, *, ip: str, now: datetime | None = None
) -> LoginResult:
    """Check a sign-in attempt in three short steps (see the module's docstring), each write through the process's
    write gate (the Workplace's: one writer at a time on SQLite); on success the result carries the staff row and
    a new console session's token."""
    now = now or clock.now()
    email = staff_accounts.normalise_email(email)[:254]
    ip = (ip or "unknown")[:64]
    async with gate.transaction() as session:
        placed = await _take_place(session, email, ip, now)
    if isinstance(placed, LoginResult):
        return placed
    # Verify in a thread, holding no connection: Argon2 is deliberately slow and must not stall the event loop.
    stored_hash = placed.password_hash if placed.password_hash is not None else _unknown_account_hash()
    valid = await asyncio.to_thread(staff_accounts.verify_password, stored_hash, password)
    valid = valid and placed.staff_id is not None
    new_hash = None
    if valid and placed.is_active and staff_accounts.needs_rehash(stored_hash):  # in a thread too
        new_hash = await asyncio.to_thread(staff_accounts.hash_password, password)
    async with gate.transaction() as session:
        if valid and placed.is_active:
            return await _record_success(session, placed, new_hash, ip, now)
        details: dict[str, Any] = {"email": email} if placed.staff_id is None else {}
        if placed.staff_id is not None and not placed.is_active:
            details["inactive"] = True
        await audit(session, "login_failed", staff_id=placed.staff_id, details=details, ip=ip, now=now)
    return LoginResult("invalid")
