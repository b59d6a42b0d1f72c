"""Every route: without login (redirect or 401), with the wrong role (403), and every state-changing request
without or with a forged CSRF token (403). Plus cookies, throttling, the WebSocket origin check and escaping."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from staff_console.app import create_app
from storage.db import transaction
from storage.models import AuditLog, Staff
from storage.repositories import conversations, customers
from storage.services import handoff
from tests.staff_console.conftest import PASSWORD, console_settings, csrf_of, sign_in

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz"), ("POST", "/language")}


def all_routes() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, concrete path, allowed roles) for every route the console serves."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from storage.events import EventBus

    # No database: the routes are only listed, never called.
    app = create_app(settings=console_settings(), sessions=async_sessionmaker(), bus=EventBus())
    found = []
    for route in app.router.routes():
        if route.method == "HEAD" or isinstance(route.resource, web.StaticResource):
            continue
        info = route.resource.get_info()
        path = info.get("path") or re.sub(r"\{[^}]+\}", "1", info["formatter"])
        roles = getattr(route.handler, "__roles__", ())
        found.append((route.method, path, roles))
    return found


ROUTES = all_routes()
PROTECTED = [(m, p, r) for m, p, r in ROUTES if (m, p) not in PUBLIC]


def test_every_route_declares_roles():
    undeclared = [(m, p) for m, p, r in ROUTES if (m, p) not in PUBLIC and not r]
    assert undeclared == []
    assert len(PROTECTED) > 30


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
async def test_without_login_redirects_or_401(client, method, path, roles):
    token = await csrf_of(client)  # a valid CSRF token is not a login
    if method == "GET":
        response = await client.get(path, allow_redirects=False)
        if path.startswith("/api/") or path == "/ws":
            assert response.status == 401
        else:
            assert response.status == 302
            assert response.headers["Location"].startswith("/login?next=")
    else:
        response = await client.request(method, path, data={"csrf_token": token}, allow_redirects=False)
        assert response.status == 401


LIMITED = [(m, p, r) for m, p, r in PROTECTED if set(r) != {"admin", "agent", "service"}]


@pytest.mark.parametrize(("method", "path", "roles"), LIMITED, ids=[f"{m} {p}" for m, p, _ in LIMITED])
async def test_wrong_role_is_403(client, team, method, path, roles):
    outsiders = [role for role in ("service", "agent") if role not in roles]
    email = {"service": "service@example.com", "agent": "agent@example.com"}[outsiders[0]]
    token = await sign_in(client, email)
    response = await client.request(method, path, data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 403


UNSAFE = [(m, p, r) for m, p, r in ROUTES if m in ("POST", "PUT", "PATCH", "DELETE")]


@pytest.mark.parametrize(("method", "path", "roles"), UNSAFE, ids=[f"{m} {p}" for m, p, _ in UNSAFE])
async def test_missing_or_forged_csrf_is_403(client, team, method, path, roles):
    email = "admin@example.com" if "admin" in (roles or ()) else "agent@example.com"
    if (method, path) != ("POST", "/login"):
        await sign_in(client, email)
    else:
        await csrf_of(client)
    missing = await client.request(method, path, data={"x": "1"}, allow_redirects=False)
    assert missing.status == 403
    forged = await client.request(method, path, data={"csrf_token": "forged-token"}, allow_redirects=False)
    assert forged.status == 403
    header = await client.request(method, path, headers={"X-CSRF-Token": "forged"}, allow_redirects=False)
    assert header.status == 403


async def test_session_cookie_flags(client, team):
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                                 "csrf_token": token}, allow_redirects=False)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    token = await csrf_of(client)
    behind_https = await client.post("/profile", data={"csrf_token": token, "name": "Alan Agent"},
                                     headers={"X-Forwarded-Proto": "https"}, allow_redirects=False)
    assert "Secure" in behind_https.headers["Set-Cookie"]


async def test_login_rotates_session_and_logout_ends_it(client, team):
    before = await csrf_of(client)
    after = await sign_in(client, "agent@example.com")
    assert before != after
    response = await client.post("/logout", data={"csrf_token": after}, allow_redirects=False)
    assert response.status == 302
    again = await client.get("/inbox", allow_redirects=False)
    assert again.status == 302 and again.headers["Location"].startswith("/login")


async def test_deactivated_staff_lose_their_session_at_once(client, team, sessions):
    await sign_in(client, "agent@example.com")
    assert (await client.get("/inbox", allow_redirects=False)).status == 200
    async with transaction(sessions) as session:
        (await session.get(Staff, team.agent.id)).is_active = False
    assert (await client.get("/inbox", allow_redirects=False)).status == 302


async def test_account_lock_after_five_failures(client, team, sessions, frozen_clock):
    for _ in range(5):
        token = await csrf_of(client)
        response = await client.post("/login", data={"email": "agent@example.com", "password": "wrong-password",
                                                     "csrf_token": token})
        assert response.status == 401
    token = await csrf_of(client)
    locked = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                              "csrf_token": token})
    assert locked.status == 429 and "Too many attempts" in await locked.text()
    frozen_clock.advance(minutes=16)
    await sign_in(client, "agent@example.com")
    async with sessions() as session:
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()
    assert actions.count("login_failed") == 5 and "login_locked" in actions and actions[-1] == "login"


async def test_ip_throttle_across_accounts(client, team, frozen_clock):
    for n in range(20):
        token = await csrf_of(client)
        await client.post("/login", data={"email": f"nobody{n}@example.com", "password": "x", "csrf_token": token})
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status == 429
    frozen_clock.advance(minutes=16)
    await sign_in(client, "admin@example.com")


async def test_websocket_origin_check(client, team):
    await sign_in(client, "agent@example.com")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws?inbox=1", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    host = f"http://{client.server.host}:{client.server.port}"
    ws = await client.ws_connect("/ws?inbox=1", headers={"Origin": host})
    hello = await ws.receive_json(timeout=5)
    assert hello == {"type": "hello", "staff_id": team.agent.id}
    await ws.close()


async def test_customer_script_shows_as_text(client, team, sessions):
    async with transaction(sessions) as session:
        customer, _ = await customers.get_or_create(session, telegram_user_id=5, chat_id=5,
                                                    first_name="<img src=x onerror=alert(1)>")
        conversation = await conversations.current(session, customer)
        await conversations.record(session, conversation, direction="in", sender="customer",
                                   text="<script>alert('x')</script>")
        await handoff.request_handoff(session, conversation, "asked")
    await sign_in(client, "agent@example.com")
    for path in ("/inbox", f"/conversations/{conversation.id}", f"/customers/{customer.id}", "/customers"):
        body = await (await client.get(path)).text()
        assert "<script>alert" not in body and "<img src=x" not in body, path
    body = await (await client.get(f"/conversations/{conversation.id}")).text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in body


async def test_security_headers(client, team):
    response = await client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status == 200 and await response.json() == {"status": "ok", "db": True}


async def test_open_redirect_refused(client, team):
    token = await csrf_of(client)
    response = await client.post("/login", data={"email": "agent@example.com", "password": PASSWORD,
                                                 "csrf_token": token, "next": "//evil.example/x"},
                                 allow_redirects=False)
    assert response.headers["Location"] == "/"


def test_lock_lengths_double():
    from storage.services.auth import _lock_length

    assert _lock_length(5) == timedelta(minutes=15) and _lock_length(10) == timedelta(minutes=30)


def _request_from(peer: str, forwarded: str | None, trusted: str = ""):  # type: ignore[no-untyped-def]
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    from staff_console.context import SETTINGS_KEY

    app = web.Application()
    app[SETTINGS_KEY] = console_settings(trusted_proxies=trusted)
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 5555) if name == "peername" else default)
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("GET", "/login", headers=headers, transport=transport, app=app)


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "seen"), [
    # No TRUSTED_PROXIES (the default): nobody's header is believed, not even from this host or the LAN.
    ("8.8.4.4", "203.0.113.5", "", "8.8.4.4"),
    ("127.0.0.1", "203.0.113.5", "", "127.0.0.1"),
    ("10.0.0.2", "203.0.113.9", "", "10.0.0.2"),
    # A peer that is not one of the proxies: its header is ignored.
    ("10.0.0.3", "203.0.113.9", "10.0.0.2", "10.0.0.3"),
    # Our proxy: the right-most address it vouches for; whatever the client wrote further left is ignored.
    ("127.0.0.1", "1.1.1.1, 203.0.113.5", "127.0.0.1", "203.0.113.5"),
    ("10.0.0.2", "203.0.113.9", "10.0.0.0/8", "203.0.113.9"),
    # Two of our proxies in a row (CDN -> nginx): skip both, take the client.
    ("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.7", "10.0.0.0/8", "203.0.113.9"),
    ("::1", "2001:db8::5", "::1", "2001:db8::5"),
    # A proxy that sent no header: the peer itself.
    ("127.0.0.1", None, "127.0.0.1", "127.0.0.1"),
])
def test_forwarded_for_is_believed_only_from_trusted_proxies(peer, forwarded, trusted, seen):
    from staff_console.context import client_ip

    assert client_ip(_request_from(peer, forwarded, trusted)) == seen


async def test_rotating_forwarded_for_gives_no_extra_attempts(client, team, frozen_clock):
    """An untrusted client writing a new X-Forwarded-For each time is still one address to the throttle."""
    statuses = []
    for n in range(25):
        token = await csrf_of(client)
        response = await client.post("/login", data={"email": f"nobody{n}@example.com", "password": "x",
                                                     "csrf_token": token},
                                     headers={"X-Forwarded-For": f"198.51.100.{n}"})
        statuses.append(response.status)
    assert statuses == [401] * 20 + [429] * 5
