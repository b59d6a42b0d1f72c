"""Benchmark of the Telegram pipeline against the offline Bot API server running in its own process.

    python bench/pipeline.py [--updates 2000] [--chats 200] [--rate 100] [--seconds 10] [--broadcast 1500]
                             [--skip-memory | --only-memory]

1. Throughput: N updates from 200 chats through (a) a bare aiogram echo bot and (b) Homedesk's full pipeline
   (stored inbound update, dialog step, outbox row, delivery), in the same run; updates/s for both, ratio.
   The server's flood limits and our send pacing are off here: this measures the pipeline, not Telegram.
2. Latency: updates pushed at a steady --rate through the full pipeline; p50/p99 update-to-reply latency
   (server clock: update queued -> reply accepted).
3. Delivery under Telegram's limits: --broadcast messages to as many chats queued in the outbox, server
   limits on (30/s, 1/s per chat), our sender at its defaults: delivered/s against the 30/s limit, and 429s.
4. Resident memory (VmRSS) of `homedesk run` with the demo data loaded (`homedesk seed-demo`) against a bare
   aiogram echo bot (bench/echo_bot.py) as its own process, in the same run, each after the same updates: 50 /start
   from new chats, then 50 requests for listings; both figures, the difference, and whether it is within 60 MB
   (issue 17). `--only-memory` runs this step alone, `--skip-memory` leaves it out; `--memory-role bot` (repeatable,
   with `--memory-role all`) measures a `homedesk run --role bot` process (polling, no console) too.
5. With --instances N (PostgreSQL only): the same N updates through `homedesk run --role bot` processes in webhook
   mode behind a small balancer (bench/balancer.py), one process, then N, in the same run: updates/s and ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOKEN = "123456789:AAHomedeskBenchToken0123456789abcdefgh"


class Server:
    """The offline Bot API server in a child process, driven over its control API."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.base = ""
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Server:
        self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [sys.executable, "-m", "tests.botapi", "--port", "0", "--no-limits", "--no-call-log",
             "--token", TOKEN],
            cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert self.process.stdout is not None
        self.base = (await asyncio.to_thread(self.process.stdout.readline)).strip()
        if not self.base.startswith("http"):
            raise RuntimeError(f"the Bot API server did not start: {self.base!r}")
        self.http = aiohttp.ClientSession(base_url=self.base)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.http is not None:
            await self.http.close()
        if self.process is not None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 10)

    async def post(self, path: str, body: Any) -> Any:
        assert self.http is not None
        async with self.http.post(f"/_control/{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def get(self, path: str, **query: Any) -> Any:
        assert self.http is not None
        params = {k: str(v) for k, v in query.items()}
        async with self.http.get(f"/_control/{path}", params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def push(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 500):
            await self.post("push_batch", {"items": items[start:start + 500]})

    async def sent_count(self) -> int:
        # No receipts (`since` past the end): polled every 20 ms in the measured process, the full list of
        # receipts cost a tenth of its event loop's time (py-spy), counted against whatever ran alongside.
        return int((await self.get("stats", since=1 << 62))["sent_messages"])

    async def wait_sent(self, target: int, timeout: float = 600) -> float:  # noqa: ASYNC109
        deadline = time.perf_counter() + timeout
        while (count := await self.sent_count()) < target:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"only {count} of {target} messages arrived")
            await asyncio.sleep(0.02)
        return time.perf_counter()


def text_updates(count: int, chats: int, first_chat: int, text: str) -> list[dict[str, Any]]:
    return [{"chat_id": first_chat + n % chats, "text": f"{text} {n}"} for n in range(count)]


# -- (a) bare aiogram echo ---------------------------------------------------------------------------


async def bare_echo(server: Server, updates: int, chats: int) -> float:
    from bench.echo_bot import echo_bot

    bot, dispatcher = echo_bot(server.base, TOKEN)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, polling_timeout=5))
    await asyncio.sleep(1.0)  # let polling start
    before = await server.sent_count()
    started = time.perf_counter()
    await server.push(text_updates(updates, chats, 1_000_000, "echo"))
    finished = await server.wait_sent(before + updates)
    await dispatcher.stop_polling()
    with contextlib.suppress(Exception):
        await polling
    await bot.session.close()
    return updates / (finished - started)


# -- (b) the full pipeline ---------------------------------------------------------------------------


DATABASE_URL: str | None = None  # --database-url: PostgreSQL instead of a fresh SQLite file per case


async def fresh_database(database: Path) -> Any:
    """An engine on an empty, migrated database: a new SQLite file, or a new PostgreSQL schema."""
    from sqlalchemy import text

    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.models import Base

    if not DATABASE_URL:
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        await upgrade(engine)
        return engine
    schema = f"bench_{database.stem}_{os.getpid()}"
    admin = create_engine(DATABASE_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    engine = create_engine(DATABASE_URL, connect_args={"server_settings": {"search_path": schema}})
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return engine


async def pipeline_channel(server: Server, database: Path, paced: bool) -> tuple[Any, Any]:
    from bot.channel import ChannelOptions, TelegramChannel
    from bot.limits import SendLimiter
    from storage.db import session_factory
    from storage.events import EventBus
    from storage.settings import load_settings

    engine = await fresh_database(database)
    settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base=server.base,
                             database_url=str(engine.url.render_as_string(hide_password=False)))
    unpaced = SendLimiter(global_rate=None, per_chat_seconds=0.0, group_per_minute=0)
    limiter = SendLimiter() if paced else unpaced
    options = ChannelOptions(limiter=limiter, poll_timeout=5, set_commands=False,
                             handler_concurrency=int(os.environ.get("BENCH_CONCURRENCY", "16")))
    channel = TelegramChannel(settings, session_factory(engine), EventBus(), options)
    return channel, engine


def settle_like_homedesk_run() -> None:
    """What `homedesk run` does once started (homedesk.app): start-up objects out of the garbage collector's
    reach, so a full collection does not stall the loop mid-measurement."""
    gc.collect()
    gc.freeze()


STATEMENTS: list[float] = []  # SQL statements per update in the last full_pipeline run (all of them: intake too)


async def full_pipeline(server: Server, updates: int, chats: int, database: Path) -> float:
    from sqlalchemy import event

    channel, engine = await pipeline_channel(server, database, paced=False)
    await channel.start()
    settle_like_homedesk_run()
    await asyncio.sleep(1.0)
    before = await server.sent_count()
    counted = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    started = time.perf_counter()
    await server.push(text_updates(updates, chats, 2_000_000, "hello"))
    finished = await server.wait_sent(before + updates)
    event.remove(engine.sync_engine, "before_cursor_execute", count)
    STATEMENTS.append(counted[0] / updates)
    await channel.stop()
    await engine.dispose()
    return updates / (finished - started)


def reply_latencies(pushed: list[Any], receipts: list[Any]) -> list[float]:
    """Seconds from each update the server pushed to the reply that answered it, sorted: the k-th update of a
    chat is answered by the chat's k-th reply (the pipeline keeps each chat in order)."""
    replies: dict[int, list[float]] = {}
    for chat_id, _, accepted_at in receipts:
        replies.setdefault(chat_id, []).append(accepted_at)
    seen: dict[int, int] = {}
    samples = []
    for _, chat_id, pushed_at, _ in pushed:
        k = seen.get(chat_id, 0)
        seen[chat_id] = k + 1
        samples.append(replies[chat_id][k] - pushed_at)
    return sorted(samples)


async def latency(server: Server, rate: float, seconds: float, chats: int,
                  database: Path) -> dict[str, float]:
    channel, engine = await pipeline_channel(server, database, paced=False)
    await channel.start()
    settle_like_homedesk_run()
    await asyncio.sleep(1.0)
    updates_from = (await server.get("updates"))["next"]
    receipts_from = (await server.get("stats"))["next"]
    before = await server.sent_count()
    total = int(rate * seconds)
    items = text_updates(total, chats, 3_000_000, "hi")
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, item in enumerate(items):  # paced pushes, one at a time, at `rate` per second
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        await server.post("push_text", item)
    await server.wait_sent(before + total)
    await channel.stop()
    await engine.dispose()
    pushed = (await server.get("updates", since=updates_from))["updates"]
    receipts = (await server.get("stats", since=receipts_from))["receipts"]
    samples = reply_latencies(pushed, receipts)
    p99 = samples[int(0.99 * (len(samples) - 1))]
    return {"p50_ms": 1000 * statistics.median(samples), "p99_ms": 1000 * p99, "max_ms": 1000 * samples[-1],
            "count": len(samples)}


async def broadcast(server: Server, count: int, database: Path) -> dict[str, float]:
    from dialogs.replies import Say
    from storage.db import session_factory
    from storage.models import PRIORITY_BROADCAST
    from storage.outbox import enqueue

    await server.post("limits", {})  # Telegram's limits on: 30/s overall, 1/s per private chat
    channel, engine = await pipeline_channel(server, database, paced=True)
    before = await server.get("stats")
    receipts_from = before["next"]
    async with session_factory(engine)() as session, session.begin():
        for n in range(count):
            payload = Say(f"New listings for you #{n}").to_payload()
            await enqueue(session, chat_id=4_000_000 + n, payload=payload, priority=PRIORITY_BROADCAST)
    started = time.perf_counter()
    await channel.start()
    finished = await server.wait_sent(before["sent_messages"] + count)
    await channel.stop()
    await engine.dispose()
    after = await server.get("stats", since=receipts_from)
    times = [accepted_at for _, _, accepted_at in after["receipts"]]
    await server.post("limits", {"enabled": False})
    return {"delivered_per_s": count / (finished - started),
            "steady_per_s": (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 else 0.0,
            "too_many_requests": after["too_many_requests"] - before["too_many_requests"]}


# -- memory of `homedesk run` ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def resident_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


MEMORY_BUDGET_MB = 60.0  # issue 17: `homedesk run` within this much of the bare aiogram echo process
MEMORY_UPDATES = 50  # /start from as many new chats, then as many requests for listings, to each process
SEARCHES = ("2 bedroom in Wangjing under 12000", "望京两居室 1万2以内", "studio near Guomao, budget 8k")


async def _settle(server: Server, timeout: float = 120) -> None:  # noqa: ASYNC109
    """Until the server has accepted no new message for a second (each update answered, however many replies)."""
    deadline = time.perf_counter() + timeout
    last = await server.sent_count()
    while time.perf_counter() < deadline:
        await asyncio.sleep(1.0)
        count = await server.sent_count()
        if count == last:
            return
        last = count


async def settled_rss(server: Server, pid: int, first_chat: int) -> dict[str, float]:
    """Resident memory (VmRSS) of process `pid` after MEMORY_UPDATES /start commands from as many new chats, and
    again after one request for listings from each of those chats: the same updates for every process measured."""
    before = await server.sent_count()
    await server.push([{"chat_id": first_chat + n, "command": "start"} for n in range(MEMORY_UPDATES)])
    await server.wait_sent(before + MEMORY_UPDATES, timeout=120)
    await _settle(server)
    after_start = await asyncio.to_thread(resident_kb, pid)
    before = await server.sent_count()
    await server.push([{"chat_id": first_chat + n, "text": SEARCHES[n % len(SEARCHES)]}
                       for n in range(MEMORY_UPDATES)])
    await server.wait_sent(before + MEMORY_UPDATES, timeout=120)
    await _settle(server)
    after_search = await asyncio.to_thread(resident_kb, pid)
    return {"start_mb": after_start / 1024, "search_mb": after_search / 1024}


async def echo_memory(server: Server) -> dict[str, float]:
    """The same-run baseline: bench/echo_bot.py (a bare aiogram echo bot) as its own process, same updates."""
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        [sys.executable, str(REPO / "bench" / "echo_bot.py"), "--api", server.base, "--token", TOKEN],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert process.stdout is not None
        line = (await asyncio.to_thread(process.stdout.readline)).strip()
        if line != "ready":
            raise RuntimeError(f"the echo bot did not start: {line!r}")
        await asyncio.sleep(0.5)  # its first getUpdates is waiting
        return await settled_rss(server, process.pid, 5_100_000)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


async def run_memory(server: Server, workdir: Path, role: str = "all") -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE": server.base, "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / f'homedesk-{role}.db'}",
           "CONSOLE_PORT": str(port),
           "LOG_LEVEL": "WARNING"}
    homedesk = [sys.executable, "-m", "homedesk"]
    seeded = subprocess.run([*homedesk, "seed-demo"], cwd=workdir, env=env, capture_output=True, text=True,  # noqa: ASYNC221
                            check=False)
    process = subprocess.Popen([*homedesk, "run", "--role", role], cwd=workdir, env=env,  # noqa: ASYNC220
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if role in ("all", "console"):  # a bot process polling Telegram has no web server: its replies tell
            async with aiohttp.ClientSession() as http:
                for _ in range(1200):
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                            if response.status == 200:
                                break
                    await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # polling has started
        idle_kb = await asyncio.to_thread(resident_kb, process.pid) if role in ("all", "console") else 0
        measured = await settled_rss(server, process.pid, 5_000_000)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)
    failure = (seeded.stdout + seeded.stderr).strip().splitlines()[-1:] if seeded.returncode else []
    return {"idle_mb": idle_kb / 1024, **measured, "seeded": seeded.returncode == 0, "seed_output": failure}


async def memory(server: Server, workdir: Path, roles: tuple[str, ...] = ("all",)) -> None:
    """Step 4: the echo baseline, then `homedesk run` (each role asked for) with the demo data, in this run; the
    figures and the differences."""
    echo = await echo_memory(server)
    print(f"bare aiogram echo (bench/echo_bot.py) resident memory: {echo['start_mb']:.1f} MB after "
          f"{MEMORY_UPDATES} /start, {echo['search_mb']:.1f} MB after {MEMORY_UPDATES} more texts", flush=True)
    for role in roles:
        run = await run_memory(server, workdir, role)
        note = "" if run["seeded"] else f" (seed-demo failed: {run['seed_output']})"
        started = f"{run['idle_mb']:.1f} MB started (/healthz answered), " if run["idle_mb"] else ""
        print(f"homedesk run --role {role} resident memory with demo data: {started}"
              f"{run['start_mb']:.1f} MB after {MEMORY_UPDATES} /start, {run['search_mb']:.1f} MB after "
              f"{MEMORY_UPDATES} requests for listings{note}", flush=True)
        for label, key in (("after /start", "start_mb"), ("after requests", "search_mb")):
            extra = run[key] - echo[key]
            verdict = "within" if extra <= MEMORY_BUDGET_MB else "NOT within"
            print(f"    {label}: homedesk - echo = {extra:+.1f} MB: {verdict} {MEMORY_BUDGET_MB:.0f} MB", flush=True)


# -- several instances -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def instance_database(url: str, name: str) -> Any:
    """A new, migrated PostgreSQL database next to --database-url's (real processes read DATABASE_URL)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import create_engine

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        subprocess.run([sys.executable, "-m", "homedesk", "migrate"], cwd=REPO, check=True,  # noqa: ASYNC221
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url})
        yield database_url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def several_instances(server: Server, count: int, updates: int, chats: int, first_chat: int) -> float:
    """updates/s through `count` bot processes in webhook mode behind the balancer, on one PostgreSQL."""
    from bench.balancer import Balancer, free_port

    assert DATABASE_URL
    backends: list[str] = []
    processes: list[subprocess.Popen[bytes]] = []
    async with instance_database(DATABASE_URL, f"bench_instances_{count}_{os.getpid()}") as url, \
            Balancer(backends) as balancer:
        try:
            for _ in range(count):
                port = free_port()
                backends.append(f"http://127.0.0.1:{port}")
                env = {**os.environ, "PYTHONPATH": str(REPO), "TELEGRAM_BOT_TOKEN": TOKEN,
                       "TELEGRAM_API_BASE": server.base, "DATABASE_URL": url, "CONSOLE_PORT": str(port),
                       "WEBHOOK_URL": f"{balancer.url}/telegram/webhook", "SEND_RATE_GLOBAL": "100000",
                       "SEND_RATE_PER_CHAT_SECONDS": "0", "LOG_LEVEL": "ERROR", "HANDOFF_TICK_SECONDS": "0"}
                processes.append(subprocess.Popen(  # noqa: ASYNC220
                    [sys.executable, "-m", "homedesk", "run", "--role", "bot"], cwd=REPO, env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            async with aiohttp.ClientSession() as http:
                for backend in backends:
                    for _ in range(1200):
                        with contextlib.suppress(aiohttp.ClientError):
                            async with http.get(f"{backend}/healthz") as response:
                                if response.status == 200:
                                    break
                        await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # every instance has set the webhook (the same URL)
            before = await server.sent_count()
            started = time.perf_counter()
            await server.push(text_updates(updates, chats, first_chat, "hello"))
            finished = await server.wait_sent(before + updates)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                await asyncio.to_thread(process.wait, 30)
            assert server.http is not None
            async with server.http.post(f"/bot{TOKEN}/deleteWebhook") as response:
                await response.read()
    return updates / (finished - started)


async def main(args: argparse.Namespace) -> None:
    import logging

    global DATABASE_URL
    DATABASE_URL = args.database_url

    logging.basicConfig(level=logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="homedesk-bench-"))
    async with Server() as server:
        where = "PostgreSQL" if DATABASE_URL else "SQLite"
        print(f"Bot API server (own process): {server.base}; {os.cpu_count()} CPUs; database: {where}",
              flush=True)
        if args.only_memory:
            await memory(server, workdir, tuple(args.memory_role or ["all"]))
            return
        echo = await bare_echo(server, args.updates, args.chats)
        print(f"(a) bare aiogram echo:   {echo:7.1f} updates/s  ({args.updates} updates, {args.chats} chats)",
              flush=True)
        full = await full_pipeline(server, args.updates, args.chats, workdir / "throughput.db")
        print(f"(b) Homedesk pipeline:   {full:7.1f} updates/s  (stored, dialog step, outbox, delivered; "
              f"{STATEMENTS[-1]:.1f} SQL statements per update, delivery included)", flush=True)
        print(f"    ratio (b)/(a):       {full / echo:7.2f}", flush=True)
        lat = await latency(server, args.rate, args.seconds, args.chats, workdir / "latency.db")
        print(f"latency at {args.rate:.0f} updates/s: p50 {lat['p50_ms']:.1f} ms, "
              f"p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms ({lat['count']:.0f} updates)",
              flush=True)
        if args.broadcast:
            sent = await broadcast(server, args.broadcast, workdir / "broadcast.db")
            print(f"broadcast {args.broadcast} messages to {args.broadcast} chats, Telegram limits on: "
                  f"{sent['delivered_per_s']:.1f} delivered/s overall ({sent['steady_per_s']:.1f}/s steady) "
                  f"vs 30/s limit; 429s: {sent['too_many_requests']}", flush=True)
        if not args.skip_memory:
            await memory(server, workdir, tuple(args.memory_role or ["all"]))
        if args.instances > 1 and not DATABASE_URL:
            print("--instances needs --database-url (PostgreSQL): SQLite is one process", flush=True)
        elif args.instances > 1:
            one = await several_instances(server, 1, args.updates, args.chats, 6_000_000)
            print(f"(c) 1 bot process, webhook behind the balancer: {one:7.1f} updates/s", flush=True)
            many = await several_instances(server, args.instances, args.updates, args.chats, 7_000_000)
            print(f"(d) {args.instances} bot processes, same balancer:       {many:7.1f} updates/s  "
                  f"ratio (d)/(c) {many / one:.2f}, (d)/(a) {many / echo:.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--broadcast", type=int, default=1500)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--skip-memory", action="store_true", help="leave out step 4 (memory)")
    group.add_argument("--only-memory", action="store_true", help="step 4 alone: echo baseline and homedesk run")
    parser.add_argument("--memory-role", action="append", choices=("all", "bot"),
                        help="the `homedesk run --role` whose memory step 4 measures (repeatable; default all)")
    parser.add_argument("--instances", type=int, default=1,
                        help="also run N `homedesk run --role bot` processes behind a balancer (PostgreSQL)")
    parser.add_argument("--database-url",
                        help="postgresql+asyncpg://... (default: a fresh SQLite file per case)")
    asyncio.run(main(parser.parse_args()))
