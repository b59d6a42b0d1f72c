"""Web chat benchmark: 200 concurrent visitors over WebSockets, each sending a message every few seconds.

The system under test is what `homedesk run` serves (the console and the web chat on one aiohttp server, SQLite by
default), in its own process; the visitors and agents are clients in this process. Measured in the same run:

  echo     a bare aiohttp WebSocket echo server (its own process), the same number of clients at the same rate:
           message sent -> echo received (the floor: what the transport, the event loops and this machine cost)
  bot      a visitor's message sent -> the bot's reply arriving on that visitor's socket (the dialog engine, one
           unit of work, live delivery)
  agent    an agent's reply (the console's HTTP reply route) started -> the message arriving on the visitor's
           socket (the console's unit of work, the web chat's delivery loop, the event bus, the socket)

Most visitors talk to the bot; `--agents` of them asked for a person, and their agents (signed in to the
console) answer every few seconds.

Usage: python -m bench.webchat [--visitors 200] [--agents 20] [--interval 3] [--duration 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import logging
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
ROOT = str(Path(__file__).resolve().parents[1])
sys.path[0] = ROOT

PASSWORD = "bench-password-1"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
SECRET = base64.urlsafe_b64encode(b"w" * 32).decode()
MESSAGES = ("/help", "2-bedroom to rent in Wangjing under 10k", "hello", "/menu", "what can you do?")


@dataclass
class Samples:
    echo: list[float] = field(default_factory=list)
    bot: list[float] = field(default_factory=list)
    agent: list[float] = field(default_factory=list)
    lost_echo: int = 0
    lost_bot: int = 0
    lost_agent: int = 0
    rate_echo: float = 0.0
    rate_bot: float = 0.0
    rate_agent: float = 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# -- the systems under test (child processes) ------------------------------------------------------------------

async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ws", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def settings_for(url: str, media: str) -> object:
    from storage.settings import load_settings

    return load_settings(database_url=url, console_secret=SECRET, handoff_tick_seconds=0, media_dir=media,
                         telegram_bot_token="", webchat_visitor_per_minute=10_000, webchat_ip_per_minute=1_000_000,
                         business_hours="00:00-23:59", business_days="mon,tue,wed,thu,fri,sat,sun",
                         # the agents sign in "through a proxy" from addresses of their own: the sign-in throttle
                         # counts per address, and 20 agents on 127.0.0.1 would be one very busy address
                         trusted_proxies="127.0.0.1")


@contextlib.asynccontextmanager
async def chat_server(url: str, media: str) -> AsyncIterator[str]:
    """The console and the web chat on one web server, one workplace, as `homedesk run` wires them."""
    from bot.webchat import WebChatChannel
    from dialogs.notices import NOTICES
    from staff_console.app import create_app
    from storage.db import create_engine, session_factory
    from storage.events import EventBus
    from storage.gate import WriteGate
    from storage.unit_of_work import Workplace

    cheap_password_hashing()
    settings = settings_for(url, media)
    engine = create_engine(url)
    sessions = session_factory(engine)
    bus = EventBus()
    workplace = Workplace(WriteGate(sessions), bus, settings, NOTICES)  # type: ignore[arg-type]
    app = create_app(settings=settings, sessions=sessions, bus=bus, workplace=workplace)  # type: ignore[arg-type]
    chat = WebChatChannel(settings, workplace)  # type: ignore[arg-type]
    chat.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await chat.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await chat.stop()
        await runner.cleanup()
        await engine.dispose()


async def serve(args: argparse.Namespace) -> None:
    """Child process: run one system until the parent closes stdin."""
    import gc

    server = echo_server() if args.serve == "echo" else chat_server(args.database_url, args.media_dir)
    async with server as base:
        gc.collect()
        gc.freeze()  # as `homedesk run` does after start-up
        print(f"READY {base}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


@contextlib.asynccontextmanager
async def in_child(*options: str) -> AsyncIterator[str]:
    command = [sys.executable, "-m", "bench.webchat", *options]
    child = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                 stdout=asyncio.subprocess.PIPE,
                                                 cwd=ROOT)
    assert child.stdout is not None and child.stdin is not None
    line = (await asyncio.wait_for(child.stdout.readline(), 120)).decode().strip()
    if not line.startswith("READY "):
        raise RuntimeError(f"the system under test did not start: {line!r}")
    try:
        yield line.split(" ", 1)[1]
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 60)


# -- setup --------------------------------------------------------------------------------------------------------

def cheap_password_hashing() -> None:
    """Bench only: agents sign in during setup, which is not what is measured."""
    from argon2 import PasswordHasher

    from storage.services import staff_accounts

    staff_accounts._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[tuple[str, object, str]]:
    from storage.db import create_engine, session_factory
    from storage.models import Base

    with tempfile.TemporaryDirectory() as directory:
        url = url or f"sqlite+aiosqlite:///{Path(directory) / 'webchat.db'}"
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        try:
            yield url, session_factory(engine), str(Path(directory) / "media")
        finally:
            await engine.dispose()


async def seed_agents(sessions, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    from storage.db import transaction
    from storage.models import Staff

    password_hash = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    async with transaction(sessions) as session:
        session.add_all([Staff(email=f"agent{i}@bench.local", name=f"Agent {i}", role="agent",
                               password_hash=password_hash, max_concurrent=5) for i in range(count)])
    return [f"agent{i}@bench.local" for i in range(count)]


async def conversation_of(sessions, visitor_id: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from storage.models import Conversation, Customer

    async with sessions() as session:
        return int(await session.scalar(
            select(Conversation.id).join(Customer, Customer.id == Conversation.customer_id)
            .where(Customer.web_visitor_id == visitor_id, Conversation.status == "open")))


class Visitor:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.visitor_id = ""
        self.frames: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.menu: dict = {}

    async def connect(self) -> None:
        self.ws = await self.http.ws_connect(self.base.replace("http", "ws", 1) + "/chat/ws",
                                             headers={"Origin": self.base})
        await self.ws.send_json({"type": "hello", "token": None, "last_seen": 0, "lang": "en"})
        welcome = await self.ws.receive_json(timeout=30)
        self.visitor_id = welcome["visitor"]
        self._reader = asyncio.create_task(self._read())
        await self.ws.send_json({"type": "start"})
        self.menu = await self.next_message(timeout=60)

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.frames.put_nowait((time.perf_counter(), json.loads(message.data)))

    async def next_message(self, timeout: float = 30.0, contains: str | None = None) -> dict:  # noqa: ASYNC109
        deadline = time.perf_counter() + timeout
        while True:
            _, frame = await asyncio.wait_for(self.frames.get(), max(0.001, deadline - time.perf_counter()))
            if frame.get("type") == "message" and (contains is None or contains in json.dumps(frame)):
                return frame

    async def message_after(self, timeout: float) -> float | None:  # noqa: ASYNC109
        """Arrival time of the next message frame; None after `timeout`."""
        deadline = time.perf_counter() + timeout
        while True:
            try:
                at, frame = await asyncio.wait_for(self.frames.get(), max(0.001, deadline - time.perf_counter()))
            except TimeoutError:
                return None
            if frame.get("type") == "message":
                return at

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


class Agent:
    def __init__(self, base: str, email: str, index: int) -> None:
        self.base, self.email = base, email
        address = f"10.11.{index // 250}.{index % 250 + 1}"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          headers={"X-Forwarded-For": address})
        self.csrf = ""

    async def sign_in(self) -> None:
        for _ in range(20):
            async with self.http.get(f"{self.base}/login") as response:
                token = CSRF_RE.search(await response.text()).group(1)  # type: ignore[union-attr]
            form = {"email": self.email, "password": PASSWORD, "csrf_token": token, "next": "/profile"}
            async with self.http.post(f"{self.base}/login", data=form) as response:
                if response.status == 429:  # paced: the console's sign-in throttle
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                found = CSRF_RE.search(await response.text())
                if found is None or response.status != 200:
                    raise RuntimeError(f"{self.email} could not sign in: {response.status}")
                self.csrf = found.group(1)
                return
        raise RuntimeError(f"{self.email} could not sign in")

    async def post(self, path: str, **data: str) -> None:
        async with self.http.post(f"{self.base}{path}", data=data,
                                  headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"}) as response:
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status} {await response.text()}")

    async def close(self) -> None:
        await self.http.close()


# -- the load -----------------------------------------------------------------------------------------------------

async def echo_load(base: str, args: argparse.Namespace, samples: Samples) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = [await http.ws_connect(base.replace("http", "ws", 1) + "/ws") for _ in range(args.visitors)]
        stop_at = time.monotonic() + args.duration
        sent = 0

        async def client(ws: aiohttp.ClientWebSocketResponse, index: int) -> None:
            nonlocal sent
            await asyncio.sleep(random.uniform(0, args.interval))  # noqa: S311 - spread the first messages
            for k in itertools.count():
                if time.monotonic() >= stop_at:
                    return
                started = time.perf_counter()
                await ws.send_str(json.dumps({"type": "text", "text": f"{index}-{k} {MESSAGES[k % len(MESSAGES)]}"}))
                sent += 1
                try:
                    await ws.receive(timeout=30)
                    samples.echo.append((time.perf_counter() - started) * 1000)
                except TimeoutError:
                    samples.lost_echo += 1
                await asyncio.sleep(max(0.0, args.interval * random.uniform(0.8, 1.2)  # noqa: S311
                                        - (time.perf_counter() - started)))

        await asyncio.gather(*(client(ws, i) for i, ws in enumerate(sockets)))
        samples.rate_echo = sent / args.duration
        await asyncio.gather(*(ws.close() for ws in sockets))


async def chat_load(base: str, sessions, emails: list[str], args: argparse.Namespace,  # type: ignore[no-untyped-def]
                    samples: Samples) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        visitors = [Visitor(http, base) for _ in range(args.visitors)]
        for start in range(0, len(visitors), 20):  # setup, not measured: each visitor gets the greeting
            await asyncio.gather(*(v.connect() for v in visitors[start:start + 20]))
        agents = [Agent(base, email, index) for index, email in enumerate(emails)]
        await asyncio.gather(*(a.sign_in() for a in agents))
        with_person = visitors[:len(agents)]
        for visitor, agent in zip(with_person, agents, strict=True):  # ask for a person; the agent takes it
            await visitor.ws.send_json({"type": "press", "token": "handoff:start",  # type: ignore[union-attr]
                                        "message": visitor.menu["id"]})
            await visitor.next_message()
            conversation_id = await conversation_of(sessions, visitor.visitor_id)
            await agent.post(f"/conversations/{conversation_id}/take")
            await visitor.next_message(contains=agent.email.split("@")[0].replace("agent", "Agent "))
            agent.conversation_id = conversation_id  # type: ignore[attr-defined]
        print(f"{len(visitors)} visitors connected ({len(agents)} with an agent); running {args.duration:.0f} s ...",
              file=sys.stderr)
        stop_at = time.monotonic() + args.duration
        counts = {"bot": 0, "agent": 0}

        async def talk_to_bot(visitor: Visitor, index: int) -> None:
            await asyncio.sleep(random.uniform(0, args.interval))  # noqa: S311
            for k in itertools.count():
                if time.monotonic() >= stop_at:
                    return
                started = time.perf_counter()
                await visitor.ws.send_json({"type": "text",  # type: ignore[union-attr]
                                            "text": MESSAGES[(index + k) % len(MESSAGES)]})
                counts["bot"] += 1
                arrived = await visitor.message_after(30)
                if arrived is None:
                    samples.lost_bot += 1
                else:
                    samples.bot.append((arrived - started) * 1000)
                while not visitor.frames.empty():  # the rest of a multi-message reply
                    visitor.frames.get_nowait()
                await asyncio.sleep(max(0.0, args.interval * random.uniform(0.8, 1.2)  # noqa: S311
                                        - (time.perf_counter() - started)))

        async def answer(agent: Agent, visitor: Visitor) -> None:
            await asyncio.sleep(random.uniform(0, args.interval))  # noqa: S311
            for k in itertools.count():
                if time.monotonic() >= stop_at:
                    return
                marker = f"{agent.email}-{k}"
                started = time.perf_counter()
                await agent.post(f"/conversations/{agent.conversation_id}/reply",  # type: ignore[attr-defined]
                                 text=f"{marker} let me check that for you")
                counts["agent"] += 1
                try:
                    await visitor.next_message(timeout=30, contains=marker)
                    samples.agent.append((time.perf_counter() - started) * 1000)
                except TimeoutError:
                    samples.lost_agent += 1
                await asyncio.sleep(max(0.0, args.interval * random.uniform(0.8, 1.2)  # noqa: S311
                                        - (time.perf_counter() - started)))

        await asyncio.gather(*(talk_to_bot(v, i) for i, v in enumerate(visitors[len(agents):])),
                             *(answer(a, v) for a, v in zip(agents, with_person, strict=True)))
        samples.rate_bot = counts["bot"] / args.duration
        samples.rate_agent = counts["agent"] / args.duration
        await asyncio.gather(*(v.close() for v in visitors), *(a.close() for a in agents), return_exceptions=True)


async def run(args: argparse.Namespace) -> Samples:
    samples = Samples()
    async with contextlib.AsyncExitStack() as stack:
        if args.single_process:
            base = await stack.enter_async_context(echo_server())
        else:
            base = await stack.enter_async_context(in_child("--serve", "echo"))
        await echo_load(base, args, samples)
    async with contextlib.AsyncExitStack() as stack:
        url, sessions, media = await stack.enter_async_context(database(args.database_url))
        emails = await seed_agents(sessions, args.agents)
        if args.single_process:
            cheap_password_hashing()
            base = await stack.enter_async_context(chat_server(url, media))
        else:
            base = await stack.enter_async_context(
                in_child("--serve", "chat", "--database-url", url, "--media-dir", media))
        await chat_load(base, sessions, emails, args, samples)
    return samples


def report(samples: Samples, args: argparse.Namespace) -> None:
    def line(name: str, values: list[float], lost: int, rate: float) -> str:
        return (f"{name:<6} n={len(values):<6} {rate:6.1f} msg/s  p50={percentile(values, 50):7.1f} ms  "
                f"p99={percentile(values, 99):7.1f} ms  max={max(values, default=float('nan')):7.1f} ms  "
                f"mean={statistics.fmean(values) if values else float('nan'):7.1f} ms  lost={lost}")

    backend = (args.database_url or "sqlite").split(":", 1)[0]
    print(f"webchat: {args.visitors} visitors ({args.agents} with an agent), a message every ~{args.interval:g} s "
          f"each, {args.duration:g} s, {backend}, "
          f"{'one process' if args.single_process else 'systems under test in their own processes'}")
    print(line("echo", samples.echo, samples.lost_echo, samples.rate_echo))
    print(line("bot", samples.bot, samples.lost_bot, samples.rate_bot))
    print(line("agent", samples.agent, samples.lost_agent, samples.rate_agent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20, help="visitors who asked for a person (one agent each)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between one client's messages")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--single-process", action="store_true",
                        help="run the systems under test in this process too (default: child processes)")
    parser.add_argument("--serve", choices=("echo", "chat"), help=argparse.SUPPRESS)
    parser.add_argument("--media-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.serve:
        asyncio.run(serve(args))
        return 0
    samples = asyncio.run(run(args))
    report(samples, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
