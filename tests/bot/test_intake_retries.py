"""Intake retries (issue 14, availability 1 and 2), through the real pipeline on SQLite and PostgreSQL.

Errors are injected where the pipeline meets the database and the flows: an outage's error ("database is
locked", a terminated connection) makes an update or a batch wait and try again without counting an attempt
or losing its chat's place; an error the database does not explain (it answers a probe) counts, and after a
few the update is dead-lettered. Also: start-up recovery in chat order, and the webhook's answers.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bot import pipeline as pipeline_module
from bot import translate
from bot.channel import ChannelOptions, TelegramChannel
from bot.db_health import is_transient_error
from storage import updates
from storage.models import DeadLetter, InboundUpdate, Message
from tests.bot.conftest import eventually, fast_limiter, settings_for

FAST = {"retry_base": 0.01, "retry_cap": 0.05, "probe_backoff_cap": 0.05}


def locked() -> OperationalError:
    return OperationalError("UPDATE conversations ...", {}, Exception("database is locked"))


def connection_lost() -> DBAPIError:
    return DBAPIError("SELECT 1", {}, ConnectionResetError("connection was closed in the middle of operation"),
                      connection_invalidated=True)


class _Unrelated(Exception):
    pass


@pytest.mark.parametrize(("error", "transient"), [
    (locked(), True),
    (connection_lost(), True),
    (PoolTimeoutError("QueuePool limit of size 10 overflow 20 reached"), True),
    (ConnectionRefusedError(111, "Connect call failed"), True),
    (OperationalError("SELECT", {}, Exception("no such table: customers")), False),
    (IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), False),
    (OverflowError("Python int too large to convert to SQLite INTEGER"), False),
    (_Unrelated("the database is locked in the flow's own words"), False),
    (RuntimeError("wrapped"), False),
])
def test_which_errors_are_an_outage_by_their_kind(error, transient):
    assert is_transient_error(error) is transient


def test_an_outage_error_is_recognised_through_its_cause():
    try:
        try:
            raise connection_lost()
        except DBAPIError as exc:
            raise RuntimeError("the flow gave up") from exc
    except RuntimeError as wrapped:
        assert is_transient_error(wrapped)


def test_asyncpg_connection_errors_are_an_outage():
    asyncpg = pytest.importorskip("asyncpg")
    assert is_transient_error(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))
    assert is_transient_error(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_transient_error(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    assert not is_transient_error(asyncpg.exceptions.DataError("invalid input for query argument $1"))


async def test_a_locked_database_while_handling_waits_without_failing_or_losing_order(api, make_any_channel,
                                                                                   any_sessions, monkeypatch):
    real = translate.message_event
    failures = {"left": 6}

    def flaky(message):
        if message.text == "first" and failures["left"] > 0:
            failures["left"] -= 1
            raise locked()
        return real(message)

    monkeypatch.setattr(translate, "message_event", flaky)
    async with make_any_channel(api, intake={**FAST, "max_attempts": 2}) as channel:
        ann = api.customer(first_name="Ann")
        first = ann.send_text("first")
        ann.send_command("help")  # must wait behind "first", however long the database is away
        others = [api.customer(first_name=f"O{i}") for i in range(5)]
        for other in others:
            other.send_command("help")
        await eventually(lambda: len(ann.texts()) >= 2, timeout=30, what="both replies to Ann")
        await eventually(lambda: all(o.texts() for o in others), timeout=30, what="the other chats")
        await channel.sender.drain()
        stats = channel.pipeline.stats
    assert failures["left"] == 0
    assert stats.failed_attempts == 0 and stats.dead_letters == 0 and stats.outage_waits >= 6
    assert "Here is what I can do" in ann.texts()[-1]
    async with any_sessions() as session:
        row = await session.get(InboundUpdate, first["update_id"])
        texts = list(await session.scalars(select(Message.text).where(Message.direction == "in")
                                           .where(Message.update_id.in_([first["update_id"]]))))
        dead = await session.scalar(select(func.count()).select_from(DeadLetter))
    assert row.status == "done" and row.attempts == 0, "the database being away is not the update's fault"
    assert texts == ["first"] and dead == 0


async def test_storing_a_batch_waits_for_the_database_and_loses_nothing(api, make_any_channel, any_sessions,
                                                                       monkeypatch):
    real = updates.store
    failures = {"left": 3}

    async def flaky(session, rows):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise connection_lost()
        return await real(session, rows)

    monkeypatch.setattr(updates, "store", flaky)
    async with make_any_channel(api, intake=FAST) as channel:
        people = [api.customer(first_name=f"P{i}") for i in range(8)]
        for person in people:
            person.send_command("help")
        await eventually(lambda: all(p.texts() for p in people), timeout=30, what="every reply")
        await channel.sender.drain()
        stats = channel.pipeline.stats
    assert failures["left"] == 0 and stats.dead_letters == 0
    assert all(len(p.texts()) == 1 for p in people)
    async with any_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundUpdate)
                                    .where(InboundUpdate.status == "done")) == 8


async def test_a_batch_the_database_refuses_is_stored_one_by_one_and_the_culprit_dead_lettered(
        api, make_any_channel, any_sessions, monkeypatch):
    """Whatever makes one row unstorable (here: injected), the rest of its batch is stored and handled."""
    real = updates.store
    poison: set[int] = set()

    async def refusing(session, rows):
        if any(row["update_id"] in poison for row in rows):
            raise IntegrityError("INSERT INTO inbound_updates ...", {}, Exception("value refused"))
        return await real(session, rows)

    monkeypatch.setattr(updates, "store", refusing)
    people = [api.customer(first_name=f"P{i}") for i in range(6)]
    victim = api.customer(first_name="Victim")
    async with make_any_channel(api, intake=FAST) as channel:
        for person in people[:3]:
            person.send_command("help")
        bad = victim.send_command("help")
        poison.add(bad["update_id"])
        for person in people[3:]:
            person.send_command("help")
        await eventually(lambda: all(p.texts() for p in people), timeout=30, what="every other reply")
        await channel.sender.drain()
    assert not victim.texts()
    async with any_sessions() as session:
        letter = await session.scalar(select(DeadLetter))
        stored = await session.scalar(select(func.count()).select_from(InboundUpdate))
    assert letter.update_id == bad["update_id"] and letter.stage == "store" and "value refused" in letter.error
    assert letter.chat_id == victim.chat_id and '"/help"' in letter.raw
    assert stored == 6


async def test_recovery_at_start_handles_stored_updates_in_chat_order(api, make_any_channel, any_sessions,
                                                                     monkeypatch):
    monkeypatch.setattr(pipeline_module, "RECOVERY_PAGE", 4)  # several pages
    commands = ["help", "language", "start", "help"]
    people = [api.customer(first_name=f"R{i}") for i in range(3)]
    rows = []
    update_id = 5000
    for command in commands:  # interleaved across chats, as Telegram numbers them
        for person in people:
            update_id += 1
            rows.append({"update_id": update_id, "chat_id": person.chat_id, "status": "received", "payload": {
                "update_id": update_id, "message": {
                    "message_id": update_id, "date": 1700000000, "from": person.user, "text": f"/{command}",
                    "chat": {"id": person.chat_id, "type": "private", "first_name": person.first_name},
                    "entities": [{"type": "bot_command", "offset": 0, "length": len(command) + 1}]}}})
    exhausted = dict(rows[-1], update_id=9999, payload={**rows[-1]["payload"], "update_id": 9999})
    async with any_sessions() as session, session.begin():
        await updates.store(session, [*rows, exhausted])
        await session.execute(InboundUpdate.__table__.update().where(InboundUpdate.update_id == 9999)
                              .values(attempts=3))
    async with make_any_channel(api, intake={**FAST, "max_attempts": 3}) as channel:
        await eventually(lambda: all(len(p.texts()) >= len(commands) for p in people), timeout=30,
                         what="every recovered update answered")
        await channel.sender.drain()
    expected = {"help": "Here is what I can do", "language": "Choose your language", "start": "Hello"}
    for person in people:
        assert len(person.texts()) == len(commands)
        for command, reply in zip(commands, person.texts(), strict=True):
            assert expected[command] in reply
    async with any_sessions() as session:
        letter = await session.scalar(select(DeadLetter).where(DeadLetter.update_id == 9999))
    assert letter is not None and letter.stage == "handle", "attempts used up before the restart: not run again"


async def test_webhook_answers_200_for_poison_and_500_while_the_database_is_away(api, any_sessions, bus,
                                                                               monkeypatch):
    settings = settings_for(api, webhook_url="https://bot.example.com/telegram/webhook",
                            webhook_secret="s3cret-token")
    channel = TelegramChannel(settings, any_sessions, bus, ChannelOptions(limiter=fast_limiter(), intake=FAST))
    app = web.Application()
    channel.mount_webhook(app)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
    user = {"id": 4711, "is_bot": False, "first_name": "Nu\x00ll"}
    message = {"message_id": 1, "date": 1700000000, "from": user, "text": "/help\x00",
               "chat": {"id": 4711, "type": "private", "first_name": "Nu\x00ll"},
               "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}
    giant = {"update_id": 71, "message": {**message, "chat": {"id": 2**64, "type": "private"}}}
    try:
        async with TestClient(TestServer(app)) as client:
            nul = await client.post("/telegram/webhook", json={"update_id": 70, "message": message}, headers=headers)
            poison = await client.post("/telegram/webhook", json=giant, headers=headers)
            real = updates.store

            async def away(session, rows):
                raise connection_lost()

            monkeypatch.setattr(updates, "store", away)
            outage = await client.post("/telegram/webhook", json={"update_id": 72, "message": message},
                                       headers=headers)
            monkeypatch.setattr(updates, "store", real)
            await asyncio.wait_for(channel.pipeline.join(), 30)
    finally:
        await channel.pipeline.close()
        await channel.bot.session.close()
    assert (nul.status, poison.status, outage.status) == (200, 200, 500)
    async with any_sessions() as session:
        handled = await session.get(InboundUpdate, 70)
        letter = await session.scalar(select(DeadLetter))
        missing = await session.get(InboundUpdate, 72)
    assert handled.status == "done" and handled.payload["message"]["text"] == "/help\ufffd"
    assert letter.update_id == 71 and letter.stage == "store"
    assert missing is None, "not stored: Telegram retries it after the 500"
