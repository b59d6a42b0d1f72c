"""Several instances on one PostgreSQL: two `homedesk run --role bot` processes in webhook mode behind the test's
own load balancer, fed by the offline Bot API server; one is SIGKILLed under load. Every update is handled exactly
once, every chat's replies reach Telegram in the order the updates came, the survivor takes over what the killed
one stored and left. Also: one poller at a time, and the periodic jobs run in one instance at a time.

Runs on PostgreSQL only (SQLite is one process); skipped without TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench.balancer import Balancer, free_port
from storage.db import create_engine, session_factory
from storage.leadership import Leadership
from storage.models import Base, Conversation, Customer, InboundUpdate, Message, OutboxMessage
from tests.bot.conftest import TOKEN, channel_factory, eventually
from tests.botapi import BotApiServer
from tests.dbutil import PG_URL, REDIS_URL, postgres_schema

pytestmark = pytest.mark.skipif(not PG_URL, reason="several instances share PostgreSQL: set TEST_DATABASE_URL")
REPO = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def own_database() -> AsyncIterator[str]:
    """A throw-away database (not a schema: the instances are real `homedesk` processes reading DATABASE_URL)."""
    assert PG_URL
    name = f"hd_instances_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


class Instance:
    def __init__(self, name: str, database_url: str, api: BotApiServer, balancer_url: str, logs: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logs / f"{name}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE": api.base_url, "DATABASE_URL": database_url,
               "WEBHOOK_URL": f"{balancer_url}/telegram/webhook", "WEBHOOK_SECRET": "instances-test-secret",
               "CONSOLE_HOST": "127.0.0.1", "CONSOLE_PORT": str(self.port), "SEND_RATE_GLOBAL": "1000",
               "SEND_RATE_PER_CHAT_SECONDS": "0", "INTAKE_SWEEP_SECONDS": "1", "LOG_LEVEL": "WARNING",
               "HANDOFF_TICK_SECONDS": "0"}
        env.pop("REDIS_URL", None)
        if REDIS_URL:
            env["REDIS_URL"] = REDIS_URL
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started before the load
                [sys.executable, "-m", "homedesk", "run", "--role", "bot"], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT)

    async def ready(self) -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as response:
                return response.status == 200
        except (aiohttp.ClientError, OSError):
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


async def wait_ready(instance: Instance) -> None:
    for _ in range(600):
        if await instance.ready():
            return
        assert instance.process is not None and instance.process.poll() is None, instance.log.read_text()[-3000:]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{instance.name} did not start: {instance.log.read_text()[-3000:]}")


async def migrate(database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "homedesk", "migrate", cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def test_two_instances_behind_a_balancer_one_killed_under_load(tmp_path):
    chats, per_chat = 40, 12
    async with own_database() as url, BotApiServer(token=TOKEN, limits=None) as api:
        await migrate(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        first_backends: list[str] = []
        balancer = Balancer(first_backends)
        async with balancer:
            a = Instance("a", url, api, balancer.url, tmp_path)
            b = Instance("b", url, api, balancer.url, tmp_path)
            first_backends += [a.url, b.url]
            try:
                a.start()
                b.start()
                await wait_ready(a)
                await wait_ready(b)
                await eventually(lambda: api._webhook is not None, timeout=60, what="the webhook is set")

                customers = [api.customer(first_name=f"C{n}", user_id=880_000 + n) for n in range(chats)]

                async def handled() -> int:
                    async with sessions() as session:
                        return len(list(await session.scalars(
                            select(InboundUpdate.update_id).where(InboundUpdate.status == "done"))))

                pushed: list[int] = []
                half = per_chat // 2
                for round_ in range(half):
                    for customer in customers:
                        pushed.append(customer.send_text(f"hello {round_}")["update_id"])
                # Under load: kill `a` once a third of the first half went through.
                for _ in range(3000):
                    if await handled() >= len(pushed) // 3:
                        break
                    await asyncio.sleep(0.02)
                handled_at_kill = await handled()
                a.kill()
                for round_ in range(half, per_chat):
                    for customer in customers:
                        pushed.append(customer.send_text(f"hello {round_}")["update_id"])

                async def all_done() -> bool:
                    async with sessions() as session:
                        statuses = Counter((await session.execute(
                            select(InboundUpdate.status))).scalars())
                        outbox = Counter((await session.execute(select(OutboxMessage.status))).scalars())
                    return statuses.get("done", 0) == len(pushed) and set(outbox) == {"sent"}

                for _ in range(6000):
                    if await all_done():
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError(f"not everything was handled; logs: {b.log.read_text()[-3000:]}")
                assert handled_at_kill < len(pushed), "the kill came after the load"
                assert balancer.answered[a.url] > 0 and balancer.answered[b.url] > 0, balancer.answered

                async with sessions() as session:
                    rows = (await session.execute(select(InboundUpdate.update_id, InboundUpdate.status))).all()
                    inbound = (await session.execute(
                        select(Message.update_id, Customer.chat_id)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .join(Customer, Customer.id == Conversation.customer_id)
                        .where(Message.direction == "in").order_by(Message.id))).all()
                    out = (await session.execute(
                        select(Customer.chat_id, Message.telegram_message_id, Message.delivery_status)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .join(Customer, Customer.id == Conversation.customer_id)
                        .where(Message.direction == "out").order_by(Message.id))).all()
                # Exactly once: every update stored once, handled once, its message in the history once.
                assert sorted(update_id for update_id, _ in rows) == sorted(pushed)
                assert {status for _, status in rows} == {"done"}
                seen = Counter(update_id for update_id, _ in inbound)
                assert set(seen) == set(pushed) and set(seen.values()) == {1}, "an update was handled twice"
                # In order: each chat's updates were handled in the order they came ...
                per_chat_ids: dict[int, list[int]] = defaultdict(list)
                for update_id, chat in inbound:
                    per_chat_ids[chat].append(update_id)
                assert len(per_chat_ids) == chats
                for ids in per_chat_ids.values():
                    assert ids == sorted(ids) and len(ids) == per_chat
                # ... and its replies reached Telegram in the order they were written (Telegram numbers a
                # chat's messages as they arrive).
                per_chat_out: dict[int, list[int]] = defaultdict(list)
                for chat, telegram_id, status in out:
                    assert status == "sent"
                    per_chat_out[chat].append(telegram_id)
                for chat, telegram_ids in per_chat_out.items():
                    assert telegram_ids == sorted(telegram_ids), f"chat {chat}: replies out of order"
                # What Telegram received: every reply, at most a few twice (the killed sender's requests whose
                # outcome it had not committed yet: bot/sender.py's max_unconfirmed, 4 by default).
                received = sum(len(api.sent(customer.chat_id)) for customer in customers)
                assert len(out) <= received <= len(out) + 4
                print(f"\n{len(pushed)} updates over {chats} chats; instance a killed after {handled_at_kill} "
                      f"were handled; balancer answers {dict(balancer.answered)}; {received - len(out)} "
                      f"reply(ies) sent twice")
            finally:
                a.stop()
                b.stop()
                await engine.dispose()


async def test_one_leader_at_a_time_and_a_standby_takes_over(tmp_path):
    """The leadership behind the poller, the periodic jobs and the intake sweep: two contenders, one leads;
    when its connection goes (a killed process), the other leads within its retry."""
    async with own_database() as url:
        engines = [create_engine(url), create_engine(url)]
        first, second = (Leadership(engine, "periodic-jobs", retry_seconds=0.05, check_seconds=0.05)
                         for engine in engines)
        runs: Counter[str] = Counter()
        leading_now: set[str] = set()
        overlaps: list[set[str]] = []

        def job(name: str):
            async def work() -> None:
                leading_now.add(name)
                try:
                    while True:
                        if len(leading_now) > 1:
                            overlaps.append(set(leading_now))
                        runs[name] += 1
                        await asyncio.sleep(0.01)
                finally:
                    leading_now.discard(name)
            return work

        try:
            one = asyncio.create_task(first.lead(job("first")))
            await eventually(lambda: runs["first"] > 5, timeout=30, what="the first leads")
            two = asyncio.create_task(second.lead(job("second")))
            await asyncio.sleep(0.5)
            assert runs["second"] == 0, "two leaders at once"
            # The leader's process is killed: its connection goes, and the standby takes over.
            assert first._connection is not None
            one.cancel()
            await first._connection.invalidate()
            await asyncio.gather(one, return_exceptions=True)
            await eventually(lambda: runs["second"] > 5, timeout=30, what="the standby leads")
            assert second.leading and second.terms == 1
            assert overlaps == []
            # A leader whose connection breaks (the database restarted, a network cut) takes the lock again on a
            # new connection; the standby, had it been quicker, would have led instead and the other stepped down.
            assert second._connection is not None
            await second._connection.invalidate()
            await eventually(lambda: second.terms == 2, timeout=30, what="the leader leads again after a cut")
            two.cancel()
            await asyncio.gather(two, return_exceptions=True)
            assert not first.leading and not second.leading
        finally:
            for engine in engines:
                await engine.dispose()


async def test_a_second_poller_waits_and_takes_over_when_the_first_stops(bus):
    """Polling mode with two instances: one polls, the other waits (no 409 fight over getUpdates); one recovers;
    when the first stops, the second polls (and leads recovery), and every update is handled once."""
    async with postgres_schema() as (url, connect_args), BotApiServer(token=TOKEN, limits=None) as api:
        engines = [create_engine(url, connect_args=connect_args) for _ in range(2)]
        async with engines[0].begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sessions = session_factory(engines[0])
        factories = [channel_factory(session_factory(engine), bus) for engine in engines]
        try:
            async with factories[0](api, leadership_retry_seconds=0.1) as first:
                async with factories[1](api, leadership_retry_seconds=0.1) as second:
                    await eventually(lambda: first.polling.leading, what="the first instance polls")
                    # Recovery of stored-but-unhandled updates: the first instance did it at start, not the second.
                    assert first.recovery.leading and not second.recovery.leading
                    customers = [api.customer(user_id=770_000 + n) for n in range(3)]
                    for n in range(4):
                        for customer in customers:
                            customer.send_text(f"first {n}")
                    await eventually(lambda: all(len(api.sent(c.chat_id)) >= 4 for c in customers),
                                     what="replies while the first polls")
                    assert not second.polling.leading
                    await first.stop()
                    await eventually(lambda: second.polling.leading and second.recovery.leading,
                                     what="the second takes over")
                    for n in range(4):
                        for customer in customers:
                            customer.send_text(f"second {n}")
                    async with sessions() as session:
                        await eventually_async(session, 24)
                conflicts = [call for call in api.calls if call.method.lower() == "getupdates" and call.status == 409]
                assert conflicts == [], "two pollers fought over getUpdates"
        finally:
            for engine in engines:
                await engine.dispose()


async def eventually_async(session, count: int) -> None:
    for _ in range(600):
        statuses = Counter((await session.execute(select(InboundUpdate.status))).scalars())
        await session.rollback()
        if statuses.get("done", 0) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not every update was handled: {statuses}")
