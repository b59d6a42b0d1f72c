"""A copied session cookie stops working at sign-out, password change, deactivation and "sign out everywhere"
(issue 14, item 7). The copy is replayed from another client, as a thief would."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select

from staff_console.security import COOKIE_NAME
from storage.db import transaction
from storage.models import AuditLog, Staff
from storage.models.people import StaffSession
from tests.staff_console.conftest import PASSWORD, sign_in


def cookie_of(client: TestClient) -> str:
    for cookie in client.session.cookie_jar:
        if cookie.key == COOKIE_NAME:
            return cookie.value
    raise AssertionError("no session cookie")


async def replay(make_client, cookie: str) -> TestClient:
    """Another browser carrying a copy of the cookie."""
    thief = await make_client()
    thief.session.cookie_jar.update_cookies({COOKIE_NAME: cookie})
    return thief


async def works(client: TestClient) -> bool:
    response = await client.get("/profile", allow_redirects=False)
    if response.status == 200:
        return True
    assert response.status == 302 and response.headers["Location"].startswith("/login"), response.status
    return False


async def test_a_copied_cookie_dies_at_sign_out(make_client, team):
    agent = await make_client()
    token = await sign_in(agent, "agent@example.com")
    thief = await replay(make_client, cookie_of(agent))
    assert await works(thief)
    assert (await agent.post("/logout", data={"csrf_token": token}, allow_redirects=False)).status == 302
    assert not await works(thief)
    assert not await works(agent)


async def test_signing_out_in_one_browser_keeps_the_others(make_client, team):
    laptop, phone = await make_client(), await make_client()
    token = await sign_in(laptop, "agent@example.com")
    await sign_in(phone, "agent@example.com")
    await laptop.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert await works(phone) and not await works(laptop)


async def test_a_copied_cookie_dies_at_password_change(make_client, team):
    agent = await make_client()
    token = await sign_in(agent, "agent@example.com")
    thief = await replay(make_client, cookie_of(agent))
    assert await works(thief)
    response = await agent.post("/profile", data={"csrf_token": token, "name": "Alan Agent",
                                                  "current_password": PASSWORD,
                                                  "new_password": "a brand new password"}, allow_redirects=False)
    assert response.status == 303
    assert not await works(thief)
    assert await works(agent)  # the browser that changed it goes on, with a new session
    assert cookie_of(agent) != cookie_of(thief)
    other = await make_client()
    await sign_in(other, "agent@example.com", "a brand new password")


async def test_sign_out_everywhere_from_the_profile(make_client, team):
    laptop, phone = await make_client(), await make_client()
    token = await sign_in(laptop, "agent@example.com")
    await sign_in(phone, "agent@example.com")
    thief = await replay(make_client, cookie_of(laptop))
    assert "/profile/sessions/end" in await (await laptop.get("/profile")).text()
    response = await laptop.post("/profile/sessions/end", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert not await works(thief) and not await works(phone) and not await works(laptop)
    await sign_in(laptop, "agent@example.com")  # signing in again works


async def test_an_admin_signs_someone_out_everywhere(make_client, team, sessions):
    admin, agent = await make_client(), await make_client()
    admin_token = await sign_in(admin, "admin@example.com")
    await sign_in(agent, "agent@example.com")
    thief = await replay(make_client, cookie_of(agent))
    assert f"/staff/{team.agent.id}/sign-out" in await (await admin.get("/staff")).text()
    response = await admin.post(f"/staff/{team.agent.id}/sign-out", data={"csrf_token": admin_token},
                                allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/staff"
    assert not await works(thief) and not await works(agent)
    assert await works(admin)
    async with sessions() as session:
        audited = await session.scalar(select(AuditLog).where(AuditLog.action == "sign_out_everywhere"))
    assert audited is not None and audited.target_id == team.agent.id and audited.staff_id == team.admin.id


async def test_deactivation_and_a_password_reset_end_sessions_for_good(make_client, team, sessions):
    admin, agent = await make_client(), await make_client()
    admin_token = await sign_in(admin, "admin@example.com")
    await sign_in(agent, "agent@example.com")
    thief = await replay(make_client, cookie_of(agent))
    form = {"csrf_token": admin_token, "name": "Alan Agent", "role": "agent", "max_concurrent": "5"}
    await admin.post(f"/staff/{team.agent.id}", data=form, allow_redirects=False)  # not active
    await admin.post(f"/staff/{team.agent.id}", data={**form, "is_active": "on"}, allow_redirects=False)
    async with sessions() as session:
        assert (await session.get(Staff, team.agent.id)).is_active
    assert not await works(thief)  # reactivating does not bring the old sessions back

    await sign_in(agent, "agent@example.com")
    thief = await replay(make_client, cookie_of(agent))
    await admin.post(f"/staff/{team.agent.id}", data={**form, "is_active": "on", "password": "reset by admin"},
                     allow_redirects=False)
    assert not await works(thief) and not await works(agent)
    assert await works(admin)


async def test_a_session_from_before_the_upgrade_is_refused(make_client, team, sessions):
    """Cookies without a server-side session (made before this change, or forged with the key) do not work."""
    agent = await make_client()
    await sign_in(agent, "agent@example.com")
    async with transaction(sessions) as session:
        await session.execute(delete(StaffSession))
    assert not await works(agent)
    assert (await agent.get("/login", allow_redirects=False)).status == 200  # no redirect loop


async def test_an_open_live_channel_closes_when_its_session_ends(make_client, team, monkeypatch):
    import aiohttp

    from staff_console.routes import live

    monkeypatch.setattr(live, "SESSION_CHECK_SECONDS", 0.05)
    agent = await make_client()
    token = await sign_in(agent, "agent@example.com")
    thief = await replay(make_client, cookie_of(agent))
    origin = {"Origin": f"http://{thief.server.host}:{thief.server.port}"}
    ws = await thief.ws_connect("/ws?inbox=1", headers=origin)
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await agent.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    closing = await ws.receive(timeout=10)  # a safety net only: the channel closes at its next check
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION or closing.data == 1008
    await ws.close()
