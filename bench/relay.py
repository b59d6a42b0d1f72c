"""Relay benchmark: customers in Telegram and agents in the console, everything in between real.

100 conversations in human mode (one agent each), every customer writing every few seconds through the
offline Bot API server (tests/botapi), the real aiogram channel handling the updates, the console app serving
100 signed-in agent WebSockets, and each agent answering through the console's HTTP reply route, which queues
the outbox row that the bot's sender delivers.

Two latencies are printed:
  inbound  = update handed out by the Bot API server (getUpdates)  -> the agent's WebSocket receives it
  outbound = the agent's reply request starts                     -> its sendMessage reaches the Bot API server

Baseline, measured in the same run with the same load (conversations, interval, duration) and the same offline
Bot API server: the relay made of the bare libraries (bench/relay_baseline.py: a bare aiogram bot forwarding each
customer text to the agent's socket on a bare aiohttp WebSocket server, and a bare aiohttp reply route calling
bot.send_message), measured by the same agents and the same code; the ratios Homedesk / baseline are printed.
`--skip-baseline` leaves it out.

The sender runs without deliberate pacing (the per-chat and global limiters are off: the issue measures the
pipeline, not Telegram's flood limits). The bot and the console share one workplace (one write gate, the sender
woken by every committed unit of work), as `homedesk run` wires them; `--no-wake` shows
the pure polling figure instead.

Usage: python -m bench.relay [--conversations 100] [--interval 3] [--duration 30] [--database-url URL]
                             [--redis-url URL] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import json
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

# Run as a script, bench/ comes first on sys.path and bench/matching.py would shadow the matching package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

TOKEN = "123456789:AAHomedeskOfflineBenchToken0123456789ab"
PASSWORD = "bench-password-1"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class Samples:
    inbound: list[float] = field(default_factory=list)
    outbound: list[float] = field(default_factory=list)
    # where the time goes: bot side (update handed out -> event published), console side (event -> socket),
    # console reply request (start -> response), sender (response -> sendMessage at the server)
    bot_side: list[float] = field(default_factory=list)
    console_side: list[float] = field(default_factory=list)
    reply_request: list[float] = field(default_factory=list)
    sender_side: list[float] = field(default_factory=list)
    inbound_marks: list[tuple[float, int, float]] = field(default_factory=list)  # (handed out, message id, socket)

    def split_inbound(self, published: dict[int, float]) -> None:
        for delivered, message_id, received in self.inbound_marks:
            if message_id in published:
                self.bot_side.append((published[message_id] - delivered) * 1000)
                self.console_side.append((received - published[message_id]) * 1000)
    lost_inbound: int = 0
    lost_outbound: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@contextlib.asynccontextmanager
async def own_postgres_database(url: str) -> AsyncIterator[str]:
    """A new, empty database next to --database-url's, dropped afterwards: the bench never drops the tables of a
    database others use (the shared `test` database of the test suite)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import create_engine

    name = f"bench_relay_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[tuple[str, object]]:
    from storage.db import create_engine, session_factory
    from storage.models import Base

    async with contextlib.AsyncExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory())
        if url and url.startswith("postgresql"):
            url = await stack.enter_async_context(own_postgres_database(url))
        url = url or f"sqlite+aiosqlite:///{Path(directory) / 'relay.db'}"
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        try:
            yield url, session_factory(engine)
        finally:
            await engine.dispose()


def cheap_password_hashing() -> None:
    """Bench only: 100 agents sign in during setup; that is not what is measured, so Argon2 runs at minimal cost
    (the same parameters as the seeded hashes, so no rehash on sign-in either)."""
    from argon2 import PasswordHasher

    from storage.services import staff_accounts

    staff_accounts._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


async def seed(sessions, customers, conversations: int) -> list[tuple[int, int, str]]:  # type: ignore[no-untyped-def]
    """One agent per conversation, all in human mode. Returns (conversation id, chat id, agent email)."""
    from argon2 import PasswordHasher

    from storage import clock
    from storage.db import transaction
    from storage.models import Conversation, Customer, Staff

    # Cheap Argon2 parameters for the bench accounts only: 100 sign-ins are setup, not what is measured.
    password_hash = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    seeded = []
    now = clock.now()
    async with transaction(sessions) as session:
        for i, telegram_customer in enumerate(customers[:conversations]):
            agent = Staff(email=f"agent{i}@bench.local", name=f"Agent {i}", role="agent", password_hash=password_hash,
                          max_concurrent=5)
            customer = Customer(telegram_user_id=telegram_customer.user_id, chat_id=telegram_customer.chat_id,
                                first_name=f"Customer {i}", language="en", tags=[])
            session.add_all([agent, customer])
            await session.flush()
            conversation = Conversation(customer_id=customer.id, status="open", mode="human", assignee_id=agent.id,
                                        assigned_at=now, last_agent_message_at=now, slots={}, handoff_reason="asked")
            session.add(conversation)
            await session.flush()
            seeded.append((conversation.id, customer.chat_id, agent.email))
    return seeded


class Agent:
    """An agent with the conversation open: its live socket, and its replies over the HTTP reply route. The
    baseline's agents (login=False) do the same without signing in."""

    def __init__(self, base: str, email: str, conversation_id: int, login: bool = True, index: int = 0) -> None:
        self.base, self.email, self.conversation_id, self.login = base, email, conversation_id, login
        # Each agent signs in "through a proxy" from an address of its own, as in bench/webchat.py: the console
        # paces sign-ins per address (2 at once, 4 waiting), and 100 agents on 127.0.0.1 would be one address.
        address = f"10.11.{index // 250}.{index % 250 + 1}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          headers={"X-Forwarded-For": address})
        self.csrf = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def sign_in(self) -> None:
        if self.login:
            await self._log_in()
        self.ws = await self.http.ws_connect(f"{self.base}/ws?conversation={self.conversation_id}",
                                             headers={"Origin": self.base})
        await self.ws.receive_json(timeout=10)  # hello

    async def _log_in(self) -> None:
        for _ in range(20):
            async with self.http.get(f"{self.base}/login") as response:
                token = CSRF_RE.search(await response.text()).group(1)  # type: ignore[union-attr]
            form = {"email": self.email, "password": PASSWORD, "csrf_token": token, "next": "/profile"}
            async with self.http.post(f"{self.base}/login", data=form) as response:
                if response.status == 429:  # paced by the console's sign-in limiter: wait as a browser would
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                found = CSRF_RE.search(await response.text())
                if found is None or response.status != 200 or response.url.path != "/profile":
                    raise RuntimeError(f"{self.email} could not sign in: {response.status} {response.url.path}")
                self.csrf = found.group(1)
                return
        raise RuntimeError(f"{self.email} could not sign in")

    async def reply(self, text: str, done: dict[str, float], token: str) -> None:
        try:
            async with self.http.post(f"{self.base}/conversations/{self.conversation_id}/reply",
                                      data={"text": text},
                                      headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"}) as response:
                if response.status != 200:
                    raise RuntimeError(f"reply refused: {response.status} {await response.text()}")
        except aiohttp.ClientError:  # still waiting when the system stopped: counted as lost
            return
        done[token] = time.time()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


@contextlib.asynccontextmanager
async def system(url: str, api_base: str, sessions, bus, wake: bool,  # type: ignore[no-untyped-def]
                 published: dict[int, float]) -> AsyncIterator[str]:
    """The system under test: the bot channel (polling, dialogs, outbox sender) and the console. Yields its URL."""
    from bot.channel import ChannelOptions, TelegramChannel
    from bot.limits import SendLimiter
    from dialogs.notices import NOTICES
    from staff_console.app import create_app
    from storage.gate import WriteGate
    from storage.settings import load_settings
    from storage.unit_of_work import Workplace

    cheap_password_hashing()
    settings = load_settings(telegram_bot_token=TOKEN, telegram_api_base=api_base, database_url=url,
                             console_secret=base64.urlsafe_b64encode(b"b" * 32).decode(), handoff_tick_seconds=0,
                             trusted_proxies="127.0.0.1")  # the agents' own addresses (X-Forwarded-For)
    # One workplace for both, as `homedesk run` builds it: the console's units of work queue at the same write
    # gate as the bot's (on SQLite, staff actions go ahead of customers' updates there), and every commit wakes
    # the sender. With a workplace each, the two gates met only at SQLite's file lock.
    workplace = Workplace(WriteGate(sessions), bus, settings, NOTICES)
    channel = TelegramChannel(settings, sessions, bus, ChannelOptions(
        limiter=SendLimiter(global_rate=None, per_chat_seconds=0.0, group_per_minute=0), poll_timeout=5,
        set_commands=False), workplace=workplace)
    if not wake:
        workplace.on_committed.remove(channel.sender.wake)
    await channel.start()
    runner = web.AppRunner(create_app(settings=settings, sessions=sessions, bus=bus, workplace=workplace))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    tasks = [asyncio.create_task(watch_published(bus, published))]
    # As `homedesk run` does once started (homedesk.app): start-up objects out of the collector's reach.
    gc.collect()
    gc.freeze()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await asyncio.sleep(1.0)
        await channel.sender.drain()
        for task in tasks:
            task.cancel()
        await runner.cleanup()
        await channel.stop()


async def serve(args: argparse.Namespace) -> None:
    """Child process: run the system (or the baseline) until the parent closes stdin, then write the publish
    times."""
    if args.baseline:
        from bench.relay_baseline import bare_relay

        async with bare_relay(args.api_base, TOKEN) as base:
            print(f"READY {base}", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        return
    from storage.db import create_engine, session_factory
    from storage.events import create_event_bus

    engine = create_engine(args.database_url)
    bus = create_event_bus(args.redis_url)
    await bus.start()
    published: dict[int, float] = {}
    async with system(args.database_url, args.api_base, session_factory(engine), bus, args.wake, published) as base:
        print(f"READY {base}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await bus.close()
    await engine.dispose()
    await asyncio.to_thread(Path(args.published_file).write_text, json.dumps(published))


@contextlib.asynccontextmanager
async def system_in_child(args: argparse.Namespace, url: str, api_base: str,
                          published: dict[int, float], baseline: bool = False) -> AsyncIterator[str]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        published_file = handle.name
    system_options = ["--baseline"] if baseline else [
        "--database-url", url, *(["--redis-url", args.redis_url] if args.redis_url else []),
        *([] if args.wake else ["--no-wake"])]
    command = [sys.executable, "-m", "bench.relay", "--serve", "--api-base", api_base,
               "--published-file", published_file, *system_options]
    child = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                 stdout=asyncio.subprocess.PIPE)
    assert child.stdout is not None and child.stdin is not None
    line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode().strip()
    if not line.startswith("READY "):
        raise RuntimeError(f"the system under test did not start: {line!r}")
    try:
        yield line.split(" ", 1)[1]
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 60)
        with contextlib.suppress(OSError, ValueError):
            raw = await asyncio.to_thread(Path(published_file).read_text)
            published.update({int(k): v for k, v in json.loads(raw).items()})
        await asyncio.to_thread(Path(published_file).unlink, missing_ok=True)


async def run(args: argparse.Namespace) -> tuple[Samples, Samples | None]:
    """Homedesk's samples, and the baseline's (None with --skip-baseline), measured in this order."""
    from bench.relay_baseline import bare_relay
    from storage.events import EventBus, create_event_bus
    from tests.botapi import BotApiServer

    samples = Samples()
    baseline = None if args.skip_baseline else Samples()
    published: dict[int, float] = {}  # inbound message id -> when the bot published message.new
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(BotApiServer(token=TOKEN, limits=None))
        customers = [api.customer(first_name=f"Customer {i}") for i in range(args.conversations)]
        if baseline is not None:  # first, like bench/pipeline.py's echo; its tokens start with "b"
            bare = bare_relay(api.base_url, TOKEN) if args.single_process else \
                system_in_child(args, "", api.base_url, {}, baseline=True)
            async with bare as base:
                chats = [(c.chat_id, c.chat_id, "") for c in customers]
                await run_load(args, api, customers, chats, base, baseline, tag="b", login=False)
        url, sessions = await stack.enter_async_context(database(args.database_url))
        seeded = await seed(sessions, customers, args.conversations)
        if args.single_process:
            bus: EventBus = create_event_bus(args.redis_url)
            await bus.start()
            stack.push_async_callback(bus.close)
            base = await stack.enter_async_context(system(url, api.base_url, sessions, bus, args.wake, published))
        else:
            base = await stack.enter_async_context(system_in_child(args, url, api.base_url, published))
        await run_load(args, api, customers, seeded, base, samples, tag="h")
    samples.split_inbound(published)  # the publish times are known once the system has stopped
    return samples, baseline


async def run_load(args, api, customers, seeded, base: str, samples: Samples,  # type: ignore[no-untyped-def]
                   tag: str, login: bool = True) -> None:
    """Customers write, agents answer, for --duration; the latencies go into `samples`. `tag` starts every
    customer and agent token of this run, so that runs against the same Bot API server never mix."""
    agents = [Agent(base, email, conversation_id, login, index) for index, (conversation_id, _, email)
              in enumerate(seeded)]
    for batch in range(0, len(agents), 20):
        await asyncio.gather(*(a.sign_in() for a in agents[batch:batch + 20]))
    system = "Homedesk" if login else "baseline"
    print(f"{system}: {len(agents)} agents with live sockets; running {args.duration:.0f} s ...", file=sys.stderr)
    sent_at: dict[str, int] = {}  # customer token -> update_id
    received: dict[str, tuple[float, int]] = {}  # customer token -> (socket time, message id)
    reply_started: dict[str, float] = {}
    reply_done: dict[str, float] = {}
    pending: set[asyncio.Task[None]] = set()
    seq = itertools.count()
    stop_at = time.monotonic() + args.duration

    async def agent_loop(agent: Agent, index: int) -> None:
        assert agent.ws is not None
        incoming = 0
        async for msg in agent.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            body = json.loads(msg.data)
            if body.get("type") != "message" or body["message"]["direction"] != "in":
                continue
            received[body["message"]["text"].split()[0]] = (time.time(), body["message"]["id"])
            incoming += 1
            if time.monotonic() < stop_at and incoming % args.reply_every == 0:
                token = f"{tag}a{index}-{next(seq)}"
                reply_started[token] = time.time()
                task = asyncio.create_task(agent.reply(f"{token} thanks, checking", reply_done, token))
                pending.add(task)
                task.add_done_callback(pending.discard)

    async def customer_loop(customer, index: int) -> None:  # type: ignore[no-untyped-def]
        await asyncio.sleep(random.uniform(0, args.interval))  # noqa: S311 - spread the first messages
        k = 0
        while time.monotonic() < stop_at:
            token = f"{tag}c{index}-{k}"
            sent_at[token] = customer.send_text(f"{token} is the flat still available?")["update_id"]
            k += 1
            await asyncio.sleep(args.interval * random.uniform(0.8, 1.2))  # noqa: S311

    readers = [asyncio.create_task(agent_loop(a, i)) for i, a in enumerate(agents)]
    await asyncio.gather(*(customer_loop(c, i) for i, c in enumerate(customers[:len(agents)])))
    await asyncio.sleep(3.0)  # let the last messages and replies land
    if pending:
        await asyncio.wait(pending, timeout=10)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(a.close() for a in agents), return_exceptions=True)

    for token, update_id in sent_at.items():
        delivered = api.update_log.get(update_id, [None, None, None])[2]
        if token in received and delivered is not None:
            samples.inbound.append((received[token][0] - delivered) * 1000)
            samples.inbound_marks.append((delivered, received[token][1], received[token][0]))
        else:
            samples.lost_inbound += 1
    arrivals: dict[str, float] = {}
    for call in api.calls:
        if call.method.lower() == "sendmessage":
            arrivals.setdefault(str(call.params.get("text", "")).split(" ", 1)[0], call.at)
    for token, started in reply_started.items():
        if token not in arrivals:
            samples.lost_outbound += 1
            continue
        samples.outbound.append((arrivals[token] - started) * 1000)
        if token in reply_done:
            samples.reply_request.append((reply_done[token] - started) * 1000)
            samples.sender_side.append((arrivals[token] - reply_done[token]) * 1000)


async def watch_published(bus, published: dict[int, float]) -> None:  # type: ignore[no-untyped-def]
    async with bus.subscribe() as events:
        while True:
            event = await events.get()
            if event.kind == "message.new" and event.data.get("direction") == "in":
                published[int(event.data["message_id"])] = time.time()


def ratios(samples: Samples, baseline: Samples) -> dict[str, tuple[float, float]]:
    """Homedesk / baseline for each latency: (p50 ratio, p99 ratio); nan where either side has no sample."""
    def ratio(ours: list[float], bare: list[float], q: float) -> float:
        denominator = percentile(bare, q)
        return percentile(ours, q) / denominator if denominator > 0 else float("nan")

    return {name: (ratio(ours, bare, 50), ratio(ours, bare, 99))
            for name, ours, bare in (("inbound", samples.inbound, baseline.inbound),
                                     ("outbound", samples.outbound, baseline.outbound))}


def report(samples: Samples, baseline: Samples | None, args: argparse.Namespace) -> None:
    def line(name: str, values: list[float], lost: int) -> str:
        return (f"{name:<9} n={len(values):<6} p50={percentile(values, 50):7.1f} ms  "
                f"p99={percentile(values, 99):7.1f} ms  max={max(values, default=float('nan')):7.1f} ms  "
                f"mean={statistics.fmean(values) if values else float('nan'):7.1f} ms  lost={lost}")

    backend = (args.database_url or "sqlite").split(":", 1)[0]
    print(f"relay: {args.conversations} conversations, a customer message every ~{args.interval:g} s each, "
          f"{args.duration:g} s, {backend}, bus={'redis' if args.redis_url else 'in-process'}, "
          f"sender wake={'on' if args.wake else 'off (polling)'}, "
          f"{'one process' if args.single_process else 'system under test in its own process'}")
    print(line("inbound", samples.inbound, samples.lost_inbound))
    print(line("outbound", samples.outbound, samples.lost_outbound))
    print("breakdown (p50 / p99 ms):")
    for name, values in (("  inbound: Bot API -> bot published the event", samples.bot_side),
                         ("  inbound: event -> agent WebSocket", samples.console_side),
                         ("  outbound: reply request (console, committed)", samples.reply_request),
                         ("  outbound: committed -> sendMessage at server", samples.sender_side)):
        print(f"{name:<50} {percentile(values, 50):7.1f} / {percentile(values, 99):7.1f}")
    if baseline is None:
        return
    print("baseline, same run, same load and Bot API server: bare aiogram bot -> bare aiohttp WebSocket "
          "(dict chat -> socket); bare aiohttp POST route -> bot.send_message")
    print(line("inbound", baseline.inbound, baseline.lost_inbound))
    print(line("outbound", baseline.outbound, baseline.lost_outbound))
    print("ratio Homedesk / baseline (p50, p99): " + "; ".join(
        f"{name} {p50:.1f}x, {p99:.1f}x" for name, (p50, p99) in ratios(samples, baseline).items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between one customer's messages")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--reply-every", type=int, default=1, help="agents answer every Nth customer message")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default=None, help="use the Redis event bus")
    parser.add_argument("--no-wake", dest="wake", action="store_false")
    parser.add_argument("--single-process", action="store_true",
                        help="run the bot and console in this process too (default: a child process)")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="leave out the bare aiogram + aiohttp baseline measured in the same run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)  # with --serve: the bare relay
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    parser.add_argument("--published-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        asyncio.run(serve(args))
        return 0
    samples, baseline = asyncio.run(run(args))
    report(samples, baseline, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
