"""Sign-in counters under concurrency (issue 14, item 6), on SQLite and PostgreSQL.

Two console processes (each with its own write gate, on one database) take 30 wrong passwords
at once. Every attempt is counted: none is lost to a read-modify-write race, no more than 5 reach the password
check before the account locks, and the address counter sees all 30.
"""

from __future__ import annotations

import asyncio

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from storage.db import transaction
from storage.gate import WriteGate
from storage.models import AuditLog, Staff
from storage.models.people import LoginAddress, StaffSession
from storage.services import auth, staff_accounts
from storage.services.staff_accounts import create_staff

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(staff_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


async def _agent(sessions) -> Staff:
    async with transaction(sessions) as session:
        return await create_staff(session, "agent@example.com", "Alan Agent", "agent", PASSWORD)


async def _actions(sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog.action, func.count()).group_by(AuditLog.action))).all()
    return {action: count for action, count in rows}


async def test_thirty_concurrent_wrong_passwords_are_all_counted(any_sessions, frozen_clock):
    agent = await _agent(any_sessions)
    processes = [WriteGate(any_sessions), WriteGate(any_sessions)]  # two processes, two gates
    results = await asyncio.gather(*(
        auth.login(processes[n % 2], "agent@example.com", f"wrong-{n}", ip="203.0.113.5") for n in range(30)))
    outcomes = [result.outcome for result in results]
    # The address lets 20 through (the other 10 are throttled); of those, 5 reach the password check and the
    # account is locked for the other 15.
    assert outcomes.count("invalid") == auth.ACCOUNT_FAILURES_BEFORE_LOCK  # at most 5 guesses per lock
    assert outcomes.count("throttled") == 30 - auth.IP_FAILURES_ALLOWED
    assert outcomes.count("locked") == auth.IP_FAILURES_ALLOWED - auth.ACCOUNT_FAILURES_BEFORE_LOCK
    async with any_sessions() as session:
        stored = await session.get(Staff, agent.id)
        address = await session.get(LoginAddress, "203.0.113.5")
    assert stored is not None and stored.failed_logins == auth.ACCOUNT_FAILURES_BEFORE_LOCK
    assert stored.locked_until is not None and stored.locked_until > frozen_clock.now()
    assert address is not None and address.failures == 30
    actions = await _actions(any_sessions)
    assert actions == {"login_failed": 5, "login_locked": 15, "login_throttled": 10}  # 30 attempts, 30 rows


async def test_thirty_concurrent_attempts_from_one_address_count_thirty(any_sessions, frozen_clock):
    processes = [WriteGate(any_sessions), WriteGate(any_sessions)]  # two processes, two gates
    results = await asyncio.gather(*(
        auth.login(processes[n % 2], f"nobody{n}@example.com", "x", ip="203.0.113.9") for n in range(30)))
    outcomes = [result.outcome for result in results]
    assert outcomes.count("invalid") == auth.IP_FAILURES_ALLOWED
    assert outcomes.count("throttled") == 30 - auth.IP_FAILURES_ALLOWED
    assert all(0 < r.retry_after_seconds <= 15 * 60 for r in results if r.outcome == "throttled")
    async with any_sessions() as session:
        address = await session.get(LoginAddress, "203.0.113.9")
    assert address is not None and address.failures == 30
    frozen_clock.advance(minutes=16)  # a new window
    again = await auth.login(processes[0], "nobody@example.com", "x", ip="203.0.113.9")
    assert again.outcome == "invalid"


async def test_the_lock_holds_from_any_address_and_a_right_password_resets(any_sessions, frozen_clock):
    agent = await _agent(any_sessions)
    gate = WriteGate(any_sessions)
    for n in range(4):
        assert (await auth.login(gate, "agent@example.com", "wrong", ip=f"192.0.2.{n}")).outcome == "invalid"
    ok = await auth.login(gate, "Agent@Example.com ", PASSWORD, ip="192.0.2.9")  # the 5th attempt is right
    assert ok.ok and ok.staff is not None and ok.staff.failed_logins == 0 and ok.session_token
    for n in range(5):
        assert (await auth.login(gate, "agent@example.com", "wrong", ip=f"198.51.100.{n}")).outcome == "invalid"
    locked = await auth.login(gate, "agent@example.com", PASSWORD, ip="2001:db8::1")
    assert locked.outcome == "locked" and locked.retry_after_seconds == 15 * 60
    frozen_clock.advance(minutes=15, seconds=1)
    assert (await auth.login(gate, "agent@example.com", PASSWORD, ip="2001:db8::1")).ok
    async with any_sessions() as session:
        stored = await session.get(Staff, agent.id)
        sessions_open = await session.scalar(select(func.count()).select_from(StaffSession))
    assert stored is not None and stored.failed_logins == 0 and stored.locked_until is None
    assert sessions_open == 2


async def test_sessions_end_one_by_one_or_all_at_once(any_sessions, frozen_clock):
    agent = await _agent(any_sessions)
    async with transaction(any_sessions) as session:
        laptop = await staff_accounts.start_session(session, agent.id, ip="192.0.2.1")
        phone = await staff_accounts.start_session(session, agent.id)

    async def owner(token: str) -> Staff | None:
        async with any_sessions() as session:
            return await staff_accounts.session_owner(session, agent.id, token)

    assert (await owner(laptop)) is not None and (await owner(phone)) is not None
    assert await owner("forged") is None
    async with transaction(any_sessions) as session:
        await staff_accounts.end_session(session, laptop)
    assert await owner(laptop) is None and await owner(phone) is not None
    async with transaction(any_sessions) as session:
        assert await staff_accounts.end_sessions(session, agent.id) == 1
    assert await owner(phone) is None
    async with transaction(any_sessions) as session:
        late = await staff_accounts.start_session(session, agent.id)
    frozen_clock.advance(hours=12)
    assert await owner(late) is None  # sessions end 12 hours after sign-in
    async with transaction(any_sessions) as session:
        await staff_accounts.start_session(session, agent.id)  # sweeps the expired one
        remaining = await session.scalar(select(func.count()).select_from(StaffSession))
    assert remaining == 1


def test_addresses_are_counted_by_ipv4_address_or_ipv6_network():
    assert auth.address_key("203.0.113.5") == "203.0.113.5"
    assert auth.address_key("2001:db8:1:2:aaaa::1") == auth.address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert auth.address_key("2001:db8:1:3::1") != auth.address_key("2001:db8:1:2::1")
    assert auth.address_key("::ffff:203.0.113.5") == "203.0.113.5"
    assert auth.address_key("unknown") == "unknown"


async def test_rotating_ipv6_addresses_in_one_network_share_a_throttle(any_sessions, frozen_clock):
    gate = WriteGate(any_sessions)
    outcomes = [(await auth.login(gate, f"nobody{n}@example.com", "x", ip=f"2001:db8:0:7::{n + 1:x}")).outcome
                for n in range(auth.IP_FAILURES_ALLOWED + 2)]
    assert outcomes == ["invalid"] * auth.IP_FAILURES_ALLOWED + ["throttled"] * 2
    async with any_sessions() as session:
        audited = (await session.scalars(select(AuditLog.ip).where(AuditLog.action == "login_failed"))).all()
    assert len(set(audited)) == auth.IP_FAILURES_ALLOWED  # the audit keeps each full address
