"""The web chat on a test web server: the console app with the channel mounted (as `homedesk run` does), visitors
as WebSocket clients speaking the JSON protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.webchat import WebChatChannel
from staff_console.app import create_app
from storage.events import EventBus
from storage.settings import Settings
from storage.unit_of_work import Workplace
from tests.staff_console.conftest import console_settings
from tests.workplace import workplace_for

ALLOWED = "http://allowed.example"


def chat_settings(tmp_path: Any, **overrides: object) -> Settings:
    values: dict[str, object] = {"media_dir": str(tmp_path / "media"), "webchat_origins": ALLOWED, **overrides}
    return console_settings(**values)


@dataclass
class ChatServer:
    client: TestClient
    channel: WebChatChannel
    workplace: Workplace
    settings: Settings

    @property
    def origin(self) -> str:
        return str(self.client.make_url("")).rstrip("/")

    def visitor(self, **kwargs: Any) -> Visitor:
        return Visitor(self, **kwargs)


@dataclass
class Visitor:
    server: ChatServer
    origin: str | None = None
    token: str | None = None
    last_seen: int = 0
    lang: str = "en"
    ws: aiohttp.ClientWebSocketResponse | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)  # everything received, in order
    welcome: dict[str, Any] | None = None
    _refs: int = 0

    async def connect(self, *, last_seen: int | None = None, token: str | None | bool = True) -> dict[str, Any]:
        """Open the socket and say hello; returns the welcome frame. token=False: as a new browser."""
        headers = {"Origin": self.origin or self.server.origin}
        self.ws = await self.server.client.ws_connect("/chat/ws", headers=headers)
        hello_token = self.token if token is True else (None if token is False else token)
        await self.send({"type": "hello", "token": hello_token,
                         "last_seen": self.last_seen if last_seen is None else last_seen, "lang": self.lang})
        self.welcome = await self.next("welcome")
        self.token = self.welcome["token"]
        for item in self.welcome["items"]:
            if item["type"] == "message":
                self.last_seen = max(self.last_seen, item["id"])
        return self.welcome

    async def send(self, frame: dict[str, Any]) -> str:
        self._refs += 1
        frame.setdefault("ref", f"t{self._refs}")
        assert self.ws is not None
        await self.ws.send_str(json.dumps(frame))
        return frame["ref"]

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        assert self.ws is not None
        message = await self.ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket gave {message.type} {message.data!r}")
        frame = json.loads(message.data)
        self.frames.append(frame)
        if frame.get("type") == "message":
            self.last_seen = max(self.last_seen, frame["id"])
        return frame

    async def next(self, kind: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
                   timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.receive(max(0.01, deadline - loop.time()))
            if frame.get("type") == kind and (predicate is None or predicate(frame)):
                return frame

    async def say(self, text: str) -> list[dict[str, Any]]:
        """Send a text and collect the bot's messages up to the ack."""
        ref = await self.send({"type": "text", "text": text})
        return await self.until_ack(ref)

    async def until_ack(self, ref: str, timeout: float = 15.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        got: list[dict[str, Any]] = []
        while True:
            frame = await self.receive(max(0.01, deadline - loop.time()))
            if frame.get("type") == "message":
                got.append(frame)
            if frame.get("ref") == ref and frame.get("type") in ("ack", "error"):
                return got

    async def press(self, message_id: int, token: str) -> list[dict[str, Any]]:
        ref = await self.send({"type": "press", "token": token, "message": message_id})
        return await self.until_ack(ref)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def buttons(frame: dict[str, Any]) -> dict[str, str]:
    """label -> token of a message frame's buttons."""
    return {b["label"]: b["token"] for line in frame["reply"].get("choices", []) for b in line}


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def make_chat(sessions: async_sessionmaker[AsyncSession], bus: EventBus, tmp_path) -> AsyncIterator:
    started: list[tuple[WebChatChannel, TestClient]] = []

    async def factory(**overrides: object) -> ChatServer:
        settings = chat_settings(tmp_path, **overrides)
        workplace = workplace_for(sessions, bus, settings)
        app = create_app(settings=settings, sessions=sessions, bus=bus, workplace=workplace)
        channel = WebChatChannel(settings, workplace, poll_interval=0.2)
        channel.mount(app)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        await channel.start()
        started.append((channel, client))
        return ChatServer(client, channel, workplace, settings)

    yield factory
    for channel, client in started:
        await channel.stop()
        await client.close()


@pytest.fixture
async def chat(make_chat) -> ChatServer:
    return await make_chat()
