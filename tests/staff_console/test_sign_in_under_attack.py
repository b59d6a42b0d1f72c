"""Sign-in under attack (issue 14, items 3 and 6), on SQLite and PostgreSQL.

Fifty concurrent wrong passwords for one account from one address get slow answers or 429s, never a 5xx, while
another staff member signs in; the database is small on purpose (three pooled connections) and another process
keeps writing, as the bot does. A locked account stays locked from any address; a busy database gives 503 with
Retry-After, not a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from staff_console.app import create_app
from storage import clock
from storage.db import create_engine, session_factory, transaction
from storage.events import EventBus
from storage.models import AuditLog, Base, Staff
from storage.services import auth, staff_accounts
from storage.services.staff_accounts import create_staff
from tests.dbutil import postgres_schema, sqlite_url
from tests.staff_console.conftest import PASSWORD, console_settings, csrf_of

ATTACKER = "203.0.113.66"
COLLEAGUE = "198.51.100.7"


class SlowHasher(PasswordHasher):
    """Cheap Argon2 that takes 0.3 s to verify, like the real one on a busy server (asleep rather
    than burning the CPU the other tests share)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 (argon2's own name)
        time.sleep(0.3)
        return super().verify(hash, password)


@asynccontextmanager
async def small_database(backend: str, tmp_path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """(the console's engine with three pooled connections, another process's engine) on one fresh database."""
    small = {"pool_size": 3, "max_overflow": 0, "pool_timeout": 1}
    if backend == "sqlite":
        console, other = create_engine(sqlite_url(tmp_path), **small), create_engine(sqlite_url(tmp_path))
        try:
            async with console.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            yield console, other
        finally:
            await console.dispose()
            await other.dispose()
        return
    async with postgres_schema() as (url, connect_args):
        console = create_engine(url, connect_args=connect_args, **small)
        other = create_engine(url, connect_args=connect_args)
        try:
            async with console.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            yield console, other
        finally:
            await console.dispose()
            await other.dispose()


async def _staff(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        await create_staff(session, "agent@example.com", "Alan Agent", "agent", PASSWORD)
        await create_staff(session, "admin@example.com", "Ada Admin", "admin", PASSWORD)


async def _other_process_writes(sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> int:
    """The bot in another process: small write transactions, one after the other, until told to stop."""
    written = 0
    while not stop.is_set():
        async with transaction(sessions) as session:
            session.add(AuditLog(at=clock.now(), action="bot_tick", details={}))
        written += 1
        await asyncio.sleep(0.005)
    return written


async def test_fifty_concurrent_wrong_passwords_never_give_5xx(backend, tmp_path, monkeypatch):
    async with small_database(backend, tmp_path) as (console_engine, other_engine):
        sessions = session_factory(console_engine)
        await _staff(sessions)
        monkeypatch.setattr(staff_accounts, "_hasher", SlowHasher())
        app = create_app(settings=console_settings(trusted_proxies="127.0.0.1"), sessions=sessions, bus=EventBus())
        stop = asyncio.Event()
        other = asyncio.create_task(_other_process_writes(session_factory(other_engine), stop))
        async with TestClient(TestServer(app)) as attacker, TestClient(attacker.server) as colleague:
            token = await csrf_of(attacker)

            async def wrong_password() -> tuple[int, str | None]:
                response = await attacker.post(
                    "/login", data={"email": "agent@example.com", "password": "wrong-password", "csrf_token": token},
                    headers={"X-Forwarded-For": ATTACKER}, allow_redirects=False)
                await response.read()
                return response.status, response.headers.get("Retry-After")

            attack = [asyncio.create_task(wrong_password()) for _ in range(50)]
            await asyncio.sleep(0)  # the attack is under way
            colleague_token = await csrf_of(colleague)
            signed_in = await colleague.post(
                "/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": colleague_token,
                                "next": "/staff"}, headers={"X-Forwarded-For": COLLEAGUE}, allow_redirects=False)
            answers = await asyncio.gather(*attack)
            stop.set()
            assert await other > 0
            assert signed_in.status == 302 and signed_in.headers["Location"] == "/staff"
            assert (await colleague.get("/staff", allow_redirects=False)).status == 200
            statuses = sorted(status for status, _ in answers)
            assert set(statuses) <= {401, 429}, statuses
            assert 401 in statuses  # some attempts were really checked, slowly
            assert all(retry is not None and int(retry) >= 1 for status, retry in answers if status == 429)
        async with sessions() as session:
            agent = await session.scalar(select(Staff).where(Staff.email == "agent@example.com"))
        assert agent is not None and agent.failed_logins == auth.ACCOUNT_FAILURES_BEFORE_LOCK
        assert agent.locked_until is not None


async def test_a_locked_account_stays_locked_from_a_new_address(sessions, bus, team, frozen_clock):
    app = create_app(settings=console_settings(trusted_proxies="127.0.0.1"), sessions=sessions, bus=bus)
    async with TestClient(TestServer(app)) as client:
        for _ in range(auth.ACCOUNT_FAILURES_BEFORE_LOCK):
            token = await csrf_of(client)
            response = await client.post("/login", data={"email": "agent@example.com", "password": "wrong",
                                                         "csrf_token": token}, headers={"X-Forwarded-For": ATTACKER})
            assert response.status == 401
        for address in (COLLEAGUE, "192.0.2.1", "2001:db8::1"):
            token = await csrf_of(client)
            response = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                                         "csrf_token": token}, headers={"X-Forwarded-For": address})
            assert response.status == 429, address
            assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
        frozen_clock.advance(minutes=16)
        token = await csrf_of(client)
        response = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                                     "csrf_token": token}, headers={"X-Forwarded-For": COLLEAGUE},
                                     allow_redirects=False)
        assert response.status == 302


async def test_a_busy_database_gives_503_with_retry_after(client, team, monkeypatch):
    from tests.staff_console.conftest import sign_in

    async def locked(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("UPDATE staff ...", {}, Exception("database is locked"))

    await sign_in(client, "agent@example.com")
    monkeypatch.setattr(staff_accounts, "session_owner", locked)  # every signed-in page checks its session
    page = await client.get("/inbox", allow_redirects=False)
    assert page.status == 503 and page.headers["Retry-After"] == "5"
    api = await client.get("/api/inbox", allow_redirects=False)
    assert api.status == 503 and "busy" in (await api.json())["error"]

    client.session.cookie_jar.clear()
    monkeypatch.setattr(auth, "login", locked)
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status == 503 and response.headers["Retry-After"] == "5"


async def test_the_limiter_paces_and_refuses(monkeypatch):
    from staff_console.security import LoginBusy, LoginLimiter

    limiter = LoginLimiter(per_key=1, queue_per_key=1, total=4, wait_seconds=60)
    release = asyncio.Event()
    entered: list[int] = []

    async def attempt(n: int) -> str:
        try:
            async with limiter.turn("ip:1", "account:a"):
                entered.append(n)
                await release.wait()
            return "done"
        except LoginBusy as busy:
            assert busy.retry_after >= 1
            return "busy"

    first = asyncio.create_task(attempt(1))
    second = asyncio.create_task(attempt(2))  # waits its turn
    await asyncio.sleep(0)
    assert await attempt(3) == "busy"  # one running, one waiting: refused at once
    async with limiter.turn("ip:2", "account:b"):  # someone else is not held up
        pass
    release.set()
    assert await asyncio.gather(first, second) == ["done", "done"]
    assert entered == [1, 2] and limiter.in_use() == 0
