"""Console fixtures: the app on a fresh SQLite database, staff of every role, and a signed-in client helper."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from staff_console.app import create_app
from storage.db import transaction
from storage.events import EventBus
from storage.models import Staff
from storage.services.staff_accounts import create_staff
from storage.settings import Settings

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class Team:
    admin: Staff
    agent: Staff
    agent2: Staff
    service: Staff


def console_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "console_secret": base64.urlsafe_b64encode(b"k" * 32).decode(),
        "handoff_tick_seconds": 0,  # tests drive assignment themselves
        "telegram_bot_token": None,
        "telegram_bot_username": "homedesk_test_bot",
        "business_hours": "00:00-23:59",
        "business_days": "mon,tue,wed,thu,fri,sat,sun",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 with minimal cost: the tests check the rules around hashing, not its strength."""
    from argon2 import PasswordHasher

    from storage.services import staff_accounts

    monkeypatch.setattr(staff_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
async def team(sessions: async_sessionmaker[AsyncSession]) -> Team:
    async with transaction(sessions) as session:
        people = [await create_staff(session, f"{role}@example.com", name, role.rstrip("2"), PASSWORD)
                  for role, name in (("admin", "Ada Admin"), ("agent", "Alan Agent"), ("agent2", "Bea Agent"),
                                     ("service", "Sam Service"))]
    return Team(*people)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def client(sessions, bus) -> AsyncIterator[TestClient]:
    app = create_app(settings=console_settings(), sessions=sessions, bus=bus)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def csrf_of(client: TestClient, path: str = "/login") -> str:
    response = await client.get(path)
    match = CSRF_RE.search(await response.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in; returns the session's CSRF token."""
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                                  "next": "/profile"}, allow_redirects=False)
    assert response.status == 302, await response.text()
    return await csrf_of(client, "/profile")


@pytest.fixture
async def make_client(sessions, bus) -> AsyncIterator:
    """Extra clients on the same app (several staff at once)."""
    app = create_app(settings=console_settings(), sessions=sessions, bus=bus)
    server = TestServer(app)
    clients: list[TestClient] = []

    async def factory() -> TestClient:
        test_client = TestClient(server)
        await test_client.start_server()
        clients.append(test_client)
        return test_client

    yield factory
    for test_client in clients:
        await test_client.close()


@pytest.fixture
async def console(sessions, bus) -> AsyncIterator[str]:
    """The console served on a real port for a browser: its base address (no trailing slash)."""
    server = TestServer(create_app(settings=console_settings(), sessions=sessions, bus=bus), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
