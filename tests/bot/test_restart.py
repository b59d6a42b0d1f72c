"""A sender process killed mid-delivery (SIGKILL, request in flight) and restarted delivers every pending
message exactly once."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from multiprocessing.process import BaseProcess

from sqlalchemy import select

from dialogs.replies import Say
from storage.models import OutboxMessage
from storage.outbox import enqueue
from tests.bot import sender_process
from tests.bot.conftest import eventually
from tests.botapi import BotApiServer
from tests.dbutil import sqlite_url


def start_sender(database_url: str, api: BotApiServer, lease: float) -> BaseProcess:
    """A separate sender process, forked so it need not import everything again."""
    argv = [database_url, api.base_url, api.token, "--lease", str(lease)]
    process = multiprocessing.get_context("fork").Process(target=sender_process.forked_main, args=(argv,),
                                                          daemon=True)
    process.start()
    return process


async def stop(process: BaseProcess) -> None:
    process.kill()  # SIGKILL: no cleanup at all
    await asyncio.to_thread(process.join, 30)


async def test_killed_mid_delivery_then_restarted_sends_everything_exactly_once(api, sessions, tmp_path):
    chats = [9701, 9702, 9703]
    expected = [f"{chat}/{n}" for n in range(4) for chat in chats]
    async with sessions() as session, session.begin():
        for n in range(4):
            for chat in chats:
                await enqueue(session, chat_id=chat, payload=Say(f"{chat}/{n}").to_payload())
    url = sqlite_url(tmp_path)

    first = start_sender(url, api, lease=2.0)
    try:
        await eventually(lambda: len(api.all_sent()) >= 4, timeout=60, what="the first deliveries")
        api.hang_next(1, methods=["sendMessage"])  # the next send reaches the server and is never answered
        await eventually(lambda: any(call.hung for call in api.calls), timeout=60, what="a request in flight")
    finally:
        await stop(first)  # the row in flight stays 'sending' under its lease
    async with sessions() as session:
        in_flight = list(await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "sending")))
    assert len(in_flight) == 1

    second = start_sender(url, api, lease=2.0)
    try:
        await eventually(lambda: len(api.all_sent()) >= len(expected), timeout=60, what="every message")
        await eventually_rows_sent(sessions, len(expected))
    finally:
        await stop(second)
    received = Counter(m["text"] for m in api.all_sent())
    assert set(received) == set(expected)
    assert set(received.values()) == {1}, f"duplicates: {[t for t, n in received.items() if n > 1]}"
    for chat in chats:
        assert [m["text"] for m in api.sent(chat)] == [f"{chat}/{n}" for n in range(4)]


async def eventually_rows_sent(sessions, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        async with sessions() as session:
            statuses = list(await session.scalars(select(OutboxMessage.status)))
        if statuses.count("sent") == count:
            return
        assert loop.time() < deadline, f"rows not all sent: {Counter(statuses)}"
        await asyncio.sleep(0.05)
