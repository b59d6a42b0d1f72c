"""The visitor typing (a web chat "typing" frame): one live event per visitor per TYPING_EVERY seconds however many
frames a page sends, only while a person owns the conversation, never an answer frame; unknown frames are still
refused clearly. The throttle's clock is injected, so nothing here waits on wall time."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from bot.webchat import protocol
from bot.webchat.limits import Throttle
from storage.db import transaction
from storage.models import Conversation, Customer
from storage.services import handoff
from storage.unit_of_work import Actor
from tests import factories
from tests.bot.conftest import eventually
from tests.conftest import TIMEOUT_MS, requires_chromium


class Ticking:
    """A clock for the throttle that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _typing_events(queue: asyncio.Queue) -> list[dict]:
    events = []
    while not queue.empty():
        event = queue.get_nowait()
        if event.kind == "conversation.typing":
            events.append(event.data)
    return events


async def _settled(visitor) -> list[dict]:
    """Everything the socket answered up to a pong: frames on one socket are handled in order."""
    ref = await visitor.send({"type": "ping", "last_seen": visitor.last_seen})
    seen = []
    while True:
        frame = await visitor.receive()
        if frame.get("type") == "pong" and frame.get("ref") == ref:
            return seen
        seen.append(frame)


async def test_typing_reaches_staff_once_per_interval_and_only_while_a_person_owns_the_chat(chat, sessions, bus):
    ticking = Ticking()
    chat.channel.typing = Throttle(protocol.TYPING_EVERY, clock=ticking)
    async with transaction(sessions) as session:
        alan = await factories.staff(session, name="Alan Agent", role="agent", team=None)
    ann = chat.visitor()
    await ann.connect()
    async with bus.subscribe() as queue:
        await ann.send({"type": "typing"})  # no conversation yet: nobody to tell
        assert await _settled(ann) == []
        await ann.say("/agent")
        async with sessions() as session:
            customer = await session.scalar(select(Customer).where(Customer.web_visitor_id == ann.welcome["visitor"]))
            conversation = await session.scalar(select(Conversation).where(Conversation.customer_id == customer.id))
        assert conversation.mode == "waiting"
        _typing_events(queue)
        await ann.send({"type": "typing"})
        assert await _settled(ann) == []  # no answer frame, ever
        assert _typing_events(queue) == []  # waiting in the queue: nobody owns it yet

        async with chat.workplace.open(Actor.staff(alan.id)) as work:
            await handoff.take_over(work, conversation.id)
        ticking.now += protocol.TYPING_EVERY
        for _ in range(50):  # a flood
            await ann.send({"type": "typing"})
        answered = await _settled(ann)
        assert [f for f in answered if f.get("type") != "message"] == []  # no errors, no acks: the flood is dropped
        assert _typing_events(queue) == [{"conversation_id": conversation.id, "customer_id": customer.id,
                                          "assignee_id": alan.id}]
        ticking.now += protocol.TYPING_EVERY - 0.5
        await ann.send({"type": "typing"})
        await _settled(ann)
        assert _typing_events(queue) == []  # still within the interval
        ticking.now += 0.5
        await ann.send({"type": "typing"})
        await _settled(ann)
        assert len(_typing_events(queue)) == 1

        reply = await ann.say("still there?")  # typing never counted against the visitor's messages
        assert reply == []  # a person owns the chat: the bot stays silent, and the message was accepted
        async with chat.workplace.open(Actor.staff(alan.id)) as work:
            await handoff.close(work, conversation.id)
        ticking.now += protocol.TYPING_EVERY
        await ann.send({"type": "typing"})
        await _settled(ann)
        assert _typing_events(queue) == []  # closed: nobody is there


@pytest.mark.parametrize("raw", [json.dumps({"type": "typin"}), json.dumps({"type": "Typing"}), "typing"])
async def test_a_frame_that_is_almost_typing_is_refused_clearly(chat, raw) -> None:
    ann = chat.visitor()
    await ann.connect()
    await ann.ws.send_str(raw)
    error = await ann.next("error")
    assert error["code"] == "bad_frame" and error["text"]


def test_the_throttle_lets_one_through_per_interval_per_key_and_forgets_the_oldest() -> None:
    ticking = Ticking()
    throttle = Throttle(3.0, clock=ticking)
    assert [throttle.allow("a") for _ in range(5)] == [True, False, False, False, False]
    assert throttle.allow("b")  # each visitor their own
    ticking.now += 2.9
    assert not throttle.allow("a")
    ticking.now += 0.1
    assert throttle.allow("a")


@requires_chromium
async def test_the_chat_page_says_typing_at_most_every_few_seconds(browser, chat, sessions, bus) -> None:
    """chat.js in Chromium: typing a sentence sends one "typing" frame, the next one only TYPING_EVERY seconds
    later (the page's clock is Playwright's, fast-forwarded); each reaches the console's bus while Alan owns it."""
    ticking = Ticking()
    chat.channel.typing = Throttle(protocol.TYPING_EVERY, clock=ticking)
    async with transaction(sessions) as session:
        alan = await factories.staff(session, name="Alan Agent", role="agent", team=None)
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    await context.clock.install()
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sent: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
        await page.goto(f"{chat.origin}/chat")
        await page.wait_for_selector("#messages li.bot .choices button")
        await page.fill("#text", "/agent")
        await page.press("#text", "Enter")
        await page.wait_for_selector("#messages li.bot >> text=You are in line")
        async with sessions() as session:
            conversation = await session.scalar(select(Conversation).where(Conversation.mode == "waiting"))
        async with chat.workplace.open(Actor.staff(alan.id)) as work:
            await handoff.take_over(work, conversation.id)
        await page.wait_for_selector("#messages >> text=Alan Agent")
        sent.clear()
        ticking.now += protocol.TYPING_EVERY  # the "/agent" typed above used this visitor's last slot

        async with bus.subscribe() as queue:
            await page.type("#text", "Is the flat still free")
            first = await asyncio.wait_for(_next_typing(queue), 10)
            assert first["conversation_id"] == conversation.id
            # Playwright reports a sent frame asynchronously: the server may have it (and the bus its event) first.
            await eventually(lambda: _typing_frames(sent) >= 1, what="the typing frame reported")
            assert [frame for frame in sent if '"typing"' in frame] == ['{"type":"typing"}']
            await page.clock.fast_forward(int(protocol.TYPING_EVERY * 1000))
            ticking.now += protocol.TYPING_EVERY
            await page.type("#text", "?")
            await asyncio.wait_for(_next_typing(queue), 10)
            await eventually(lambda: _typing_frames(sent) >= 2, what="the second typing frame reported")
            assert _typing_frames(sent) == 2
    finally:
        await context.close()


def _typing_frames(sent: list[str]) -> int:
    return len([frame for frame in sent if '"typing"' in frame])


async def _next_typing(queue: asyncio.Queue) -> dict:
    while True:
        event = await queue.get()
        if event.kind == "conversation.typing":
            return event.data
