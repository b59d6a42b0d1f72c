"""One poison update never stops intake (issue 14, availability 1).

Real HTTP, the real Dispatcher and pipeline, on SQLite and PostgreSQL: a text and a button press carrying
U+0000 (PostgreSQL refuses it in JSONB and text), an update whose chat id is beyond 64 bits (no integer column
takes it), and a flow that raises on one update, each inside a burst of good updates from other chats. The
others are all answered, what can be stored is stored and handled, the rest is in the dead letters, and admins
(only admins) see them in the console.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import translate
from staff_console.app import create_app
from storage.db import transaction
from storage.models import DeadLetter, InboundUpdate, Message
from storage.services.staff_accounts import create_staff
from tests.bot.conftest import eventually
from tests.staff_console.conftest import PASSWORD, console_settings, sign_in

FAST_RETRIES = {"retry_base": 0.01, "retry_cap": 0.05}
BEYOND_INT64 = 2**64 + 7


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher

    from storage.services import staff_accounts

    monkeypatch.setattr(staff_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def good_burst(api, count: int, prefix: str) -> list:
    customers = [api.customer(first_name=f"{prefix}{i}") for i in range(count)]
    for customer in customers:
        customer.send_command("help")
    return customers


async def test_nul_bytes_and_ids_beyond_64_bits_never_stop_intake(api, make_any_channel, any_sessions, bus):
    sessions = any_sessions
    async with make_any_channel(api, handler_concurrency=4, intake=FAST_RETRIES) as channel:
        first = good_burst(api, 15, "Early")
        # A customer whose name and text carry U+0000, then a press with U+0000 in its data.
        nul = api.customer(first_name="Nul\x00Name")
        nul_text = nul.send_text("hello\x00world")
        presser = api.customer(first_name="Presser")
        presser.send_command("start")
        await presser.wait_for("Hello Presser", timeout=30)
        press = presser.press_data("r|\x00forged")
        # A chat and user id beyond 64 bits: no integer column of any database takes it.
        giant = api.customer(user_id=BEYOND_INT64, first_name="Giant")
        giant_update = giant.send_command("start")
        second = good_burst(api, 15, "Late")
        everyone = first + second
        await eventually(lambda: all(c.texts() for c in everyone), timeout=30, what="every good chat answered")
        await nul.wait_for(lambda message: True, timeout=30)
        await presser.wait_for("This button has expired", timeout=30)
        answer = await presser.wait_for_callback_answer(timeout=30)
        await channel.sender.drain()
    assert all(len(c.texts()) == 1 and "Here is what I can do" in c.texts()[0] for c in everyone)
    assert answer["callback_query_id"] == press["callback_query"]["id"]
    assert not giant.texts()
    async with sessions() as session:
        stored = await session.get(InboundUpdate, nul_text["update_id"])
        pressed = await session.get(InboundUpdate, press["update_id"])
        letters = list(await session.scalars(select(DeadLetter)))
        history = list(await session.scalars(select(Message.text).where(Message.update_id == nul_text["update_id"])))
        counts = dict((await session.execute(
            select(InboundUpdate.status, func.count()).group_by(InboundUpdate.status))).all())
    # What could be stored was stored and handled, with U+0000 shown as U+FFFD.
    assert stored.status == "done" and stored.payload["message"]["text"] == "hello\ufffdworld"
    assert stored.payload["message"]["from"]["first_name"] == "Nul\ufffdName"
    assert history == ["hello\ufffdworld"]
    assert pressed.status == "done"
    # The update no database can take is a dead letter with its raw JSON; intake moved past it.
    assert len(letters) == 1
    letter = letters[0]
    assert letter.update_id == giant_update["update_id"] and letter.chat_id is None
    assert letter.stage == "store" and "64 bits" in letter.error
    assert str(BEYOND_INT64) in letter.raw
    assert counts == {"done": 33}
    # Staff see it: the dead letters page lists it for admins, and no other role may open it.
    await add_staff(sessions)
    admin_page = await console_get(sessions, bus, "admin@example.com", "/dead-letters")
    assert admin_page[0] == 200 and str(giant_update["update_id"]) in admin_page[1]
    assert str(BEYOND_INT64) in admin_page[1]
    for email in ("agent@example.com", "service@example.com"):
        assert (await console_get(sessions, bus, email, "/dead-letters"))[0] == 403


async def add_staff(sessions) -> None:
    async with transaction(sessions) as session:
        for role, name in (("admin", "Ada Admin"), ("agent", "Alan Agent"), ("service", "Sam Service")):
            await create_staff(session, f"{role}@example.com", name, role, PASSWORD)


async def console_get(sessions, bus, email: str, path: str) -> tuple[int, str]:
    app = create_app(settings=console_settings(), sessions=sessions, bus=bus)
    async with TestClient(TestServer(app)) as client:
        await sign_in(client, email)
        response = await client.get(path, allow_redirects=False)
        return response.status, await response.text()


async def test_a_flow_that_keeps_failing_is_dead_lettered_and_its_chat_goes_on(api, make_any_channel, any_sessions,
                                                                            monkeypatch):
    sessions = any_sessions
    real = translate.message_event
    calls = {"boom": 0}

    def failing(message):
        if message.text == "boom":
            calls["boom"] += 1
            raise RuntimeError("the flow broke on this update")
        return real(message)

    monkeypatch.setattr(translate, "message_event", failing)
    async with make_any_channel(api, handler_concurrency=4, intake={**FAST_RETRIES, "max_attempts": 3}) as channel:
        victim = api.customer(first_name="Victim")
        boom = victim.send_text("boom")
        victim.send_command("help")  # waits behind the failing update, then is answered
        others = good_burst(api, 10, "Other")
        await victim.wait_for("Here is what I can do", timeout=30)
        await eventually(lambda: all(c.texts() for c in others), timeout=30, what="the other chats")
        await channel.sender.drain()
    assert calls["boom"] == 3, "bounded attempts, no loop"
    async with sessions() as session:
        row = await session.get(InboundUpdate, boom["update_id"])
        letter = await session.scalar(select(DeadLetter).where(DeadLetter.update_id == boom["update_id"]))
    assert row.status == "failed" and "the flow broke" in row.error
    assert letter.stage == "handle" and letter.attempts == 3 and letter.chat_id == victim.chat_id
    assert '"boom"' in letter.raw and "RuntimeError" in letter.error


async def test_a_failing_update_is_not_retried_forever_across_restarts(api, make_any_channel, any_sessions,
                                                                      monkeypatch):
    """The attempts are stored: an update that used them up before a restart is dead-lettered, not run again."""
    calls = {"boom": 0}
    real = translate.message_event

    def failing(message):
        if message.text == "boom":
            calls["boom"] += 1
            raise RuntimeError("still broken")
        return real(message)

    monkeypatch.setattr(translate, "message_event", failing)
    victim = api.customer(first_name="Victim")
    async def stored_attempts(update_id: int) -> int:
        async with any_sessions() as session:
            row = await session.get(InboundUpdate, update_id)
            return row.attempts if row is not None else 0

    async with make_any_channel(api, intake={**FAST_RETRIES, "max_attempts": 5}):
        boom = victim.send_text("boom")
        for _ in range(1500):
            if await stored_attempts(boom["update_id"]) >= 2:
                break
            await asyncio.sleep(0.02)
    # Stopped between attempts, like a crash: the update stays received, with its attempts.
    attempts = await stored_attempts(boom["update_id"])
    assert 2 <= attempts < 5
    tried = calls["boom"]
    async with make_any_channel(api, intake={**FAST_RETRIES, "max_attempts": 5}):
        async def dead() -> bool:
            async with any_sessions() as session:
                return bool(await session.scalar(select(DeadLetter.id).where(
                    DeadLetter.update_id == boom["update_id"])))

        for _ in range(500):
            if await dead():
                break
            await asyncio.sleep(0.02)
    assert await dead()
    assert calls["boom"] - tried == 5 - attempts, "only the attempts left were made"


async def test_dead_letters_page_escapes_what_it_shows_and_links_only_for_admins(any_sessions, bus):
    from storage import updates

    await add_staff(any_sessions)
    async with transaction(any_sessions) as session:
        await updates.dead_letter(session, raw={"update_id": 901, "message": {"text": "<script>x</script>\x00"}},
                                  error="the database refused it: <b>bad</b>", stage="store", update_id=901,
                                  chat_id=BEYOND_INT64, attempts=2)
    status, page = await console_get(any_sessions, bus, "admin@example.com", "/dead-letters")
    assert status == 200 and "901" in page and "store" in page
    assert "&lt;script&gt;" in page and "<script>x" not in page
    assert "&lt;b&gt;bad&lt;/b&gt;" in page
    assert 'href="/dead-letters"' in (await console_get(any_sessions, bus, "admin@example.com", "/profile"))[1]
    for email in ("agent@example.com", "service@example.com"):
        assert 'href="/dead-letters"' not in (await console_get(any_sessions, bus, email, "/profile"))[1]
    # Paging on is bounded: a cursor beyond 64 bits is ignored, not an error.
    status, _ = await console_get(any_sessions, bus, "admin@example.com", f"/dead-letters?before={2**70}")
    assert status == 200
