"""Kill test: how many messages Telegram gets twice when the sender is SIGKILLed under load.

An outbox of `--messages` replies over `--chats` chats; the offline Bot API server (tests/botapi) and the sender
(tests/bot/sender_process.py) each in their own process. The sender is SIGKILLed `--kills` times while it
delivers, at evenly spaced points, and restarted each time; the last one delivers the rest. Then every message
must have arrived, in order per chat, and the ones that arrived twice are counted per kill.

Telegram has no idempotency key, so a kill can repeat a message whose request Telegram accepted but whose
outcome the sender had not committed yet. The sender keeps at most `--unconfirmed` requests in that state
(bot/sender.py), so each kill re-sends at most that many; rows whose outcome was committed, and rows merely
claimed, are never sent twice. After each kill the rows still 'sending' are exactly the ones at risk: every
re-sent message must be one of them.

Usage: python bench/kill.py [--messages 3000] [--chats 200] [--kills 2] [--database-url URL] [--telegram-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/matching.py would shadow the matching package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import aiohttp  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

ROOT = str(Path(__file__).resolve().parents[1])
TOKEN = "123456789:AAHomedeskOfflineBenchToken0123456789ab"


@dataclass
class KillReport:
    messages: int
    kills: int
    bound: int  # the design's bound per kill: max_unconfirmed
    resent_per_kill: list[int] = field(default_factory=list)
    sending_at_kill: list[int] = field(default_factory=list)  # rows 'sending' (outcome not committed) at each kill
    delivered_at_kill: list[int] = field(default_factory=list)  # messages the server had at each kill
    resent_outside_window: int = 0  # re-sent rows that were not 'sending' at any kill: must be 0
    missing: int = 0
    out_of_order_chats: int = 0
    seconds: float = 0.0


@contextlib.asynccontextmanager
async def bot_api_process() -> AsyncIterator[str]:
    """The offline Bot API server in its own process, as Telegram is."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.botapi", "--token", TOKEN, "--no-limits", "--no-call-log",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the Bot API server did not start: {base_url!r}")
        yield base_url
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        await process.wait()


async def start_sender(database_url: str, base_url: str, *, schema: str | None, lease: float, in_flight: int,
                       unconfirmed: int, telegram_limits: bool) -> asyncio.subprocess.Process:
    argv = [database_url, base_url, TOKEN, "--lease", str(lease), "--in-flight", str(in_flight),
            "--unconfirmed", str(unconfirmed)]
    if schema:
        argv += ["--schema", schema]
    if telegram_limits:
        argv.append("--telegram-limits")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bot.sender_process", *argv, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT})
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
    if line != "sender ready":
        raise RuntimeError(f"the sender did not start: {line!r}")
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGKILL)
    await process.wait()


async def seed(sessions: async_sessionmaker[AsyncSession], messages: int, chats: int) -> dict[str, int]:
    """The outbox rows, interleaved over the chats; returns text -> row id."""
    from dialogs.replies import Say
    from storage.models import OutboxMessage
    from storage.outbox import enqueue_many, outbox_row

    chat_ids = [9_100_001 + n for n in range(chats)]
    texts = [f"{chat_ids[n % chats]}:{n // chats}" for n in range(messages)]
    async with sessions() as session, session.begin():
        for start in range(0, messages, 2000):
            await enqueue_many(session, [outbox_row(int(text.split(":")[0]), Say(text).to_payload(), 0)
                                         for text in texts[start:start + 2000]])
    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage.id, OutboxMessage.payload))).all()
    return {payload["text"]: row_id for row_id, payload in rows}


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    from storage.models import OutboxMessage

    async with sessions() as session:
        return dict((await session.execute(select(OutboxMessage.id, OutboxMessage.status))).all())


async def delivered(http: aiohttp.ClientSession, base_url: str) -> int:
    async with http.get(f"{base_url}/_control/stats", params={"since": str(10**9)}) as response:
        return int((await response.json())["sent_messages"])


async def run(database_url: str, sessions: async_sessionmaker[AsyncSession], *, schema: str | None = None,
              messages: int = 3000, chats: int = 200, kills: int = 2, lease: float = 2.0, in_flight: int = 64,
              unconfirmed: int = 4, telegram_limits: bool = False, give_up_after: float = 300.0) -> KillReport:
    """Seed the outbox (empty tables expected), deliver it with `kills` SIGKILLs, and count what came twice."""
    report = KillReport(messages=messages, kills=kills, bound=unconfirmed)
    row_of = await seed(sessions, messages, chats)
    at_risk: list[set[int]] = []
    started = time.monotonic()
    options = {"schema": schema, "lease": lease, "in_flight": in_flight, "unconfirmed": unconfirmed,
               "telegram_limits": telegram_limits}
    async with bot_api_process() as base_url, aiohttp.ClientSession() as http:
        deadline = time.monotonic() + give_up_after
        for number in range(kills):
            process = await start_sender(database_url, base_url, **options)
            target = messages * (number + 1) // (kills + 1)
            try:
                while await delivered(http, base_url) < target:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"only {await delivered(http, base_url)} of {target} delivered")
                    await asyncio.sleep(0.01)
            finally:
                await kill(process)  # SIGKILL in the middle of delivering: no cleanup at all
            state = await statuses(sessions)
            at_risk.append({row_id for row_id, status in state.items() if status == "sending"})
            report.sending_at_kill.append(len(at_risk[-1]))
            report.delivered_at_kill.append(await delivered(http, base_url))
        process = await start_sender(database_url, base_url, **options)
        try:
            while any(status != "sent" for status in (await statuses(sessions)).values()):
                if time.monotonic() > deadline:
                    raise TimeoutError("the outbox was not delivered in time")
                await asyncio.sleep(0.1)
        finally:
            await kill(process)
        report.seconds = time.monotonic() - started
        received: dict[int, list[str]] = {}
        for chat in sorted({int(text.split(":")[0]) for text in row_of}):
            async with http.get(f"{base_url}/_control/sent", params={"chat_id": str(chat)}) as response:
                received[chat] = [message["text"] for message in await response.json()]
    counts = Counter(text for texts in received.values() for text in texts)
    resent = {row_of[text] for text, count in counts.items() if count > 1}
    report.resent_per_kill = [len(resent & risky) for risky in at_risk]
    report.resent_outside_window = len(resent - set().union(*at_risk))
    report.missing = len(set(row_of) - set(counts))
    for texts in received.values():
        collapsed = [text for index, text in enumerate(texts) if index == 0 or texts[index - 1] != text]
        if collapsed != sorted(collapsed, key=lambda text: int(text.split(":")[1])):
            report.out_of_order_chats += 1
    return report


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[tuple[str, str | None, async_sessionmaker[AsyncSession]]]:
    """(url, schema, sessions): a temporary SQLite file, or a throw-away schema in the PostgreSQL database."""
    import uuid

    from sqlalchemy import text

    from storage.db import create_engine, session_factory
    from storage.models import Base

    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite+aiosqlite:///{Path(folder) / 'kill.db'}"
        schema = f"kill_{uuid.uuid4().hex[:12]}" if url.startswith("postgresql") else None
        admin = create_engine(url)
        if schema:
            async with admin.begin() as connection:
                await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}}) if schema else admin
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            yield url, schema, session_factory(engine)
        finally:
            await engine.dispose()
            if schema:
                async with admin.begin() as connection:
                    await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                await admin.dispose()


async def main(args: argparse.Namespace) -> None:
    async with database(args.database_url) as (url, schema, sessions):
        report = await run(url, sessions, schema=schema, messages=args.messages, chats=args.chats, kills=args.kills,
                           unconfirmed=args.unconfirmed, telegram_limits=args.telegram_limits)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{backend}: {report.messages} messages, {report.kills} SIGKILLs in {report.seconds:.1f}s")
    print(f"  re-sent per kill: {report.resent_per_kill} (bound {report.bound}); rows 'sending' at the kills: "
          f"{report.sending_at_kill}; re-sent outside that window: {report.resent_outside_window}; "
          f"missing: {report.missing}; chats out of order: {report.out_of_order_chats}")
    print(json.dumps(asdict(report)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--unconfirmed", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (the run uses a throw-away schema); "
                                                             "default a temporary SQLite file")
    parser.add_argument("--telegram-limits", action="store_true", help="pace sends as in production (29/s)")
    asyncio.run(main(parser.parse_args()))
