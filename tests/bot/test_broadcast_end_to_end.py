"""A notice to a project of 1,500 owners through the real sender and the offline Bot API server with Telegram's flood
limits on: every reachable owner gets it once in their language, blocked owners (before the notice, or on it) are
marked, no 429; an agent's reply overtakes the notice; cancelling halfway stops the rest.

Time: the server's clock and the sender's limiter share one clock running FACTOR times faster than the wall clock
(the limiter sleeps FACTOR times shorter), so Telegram's 30 messages per second are 30 per *virtual* second and the
test takes seconds, not a minute. The limiter's guarantees do not depend on the speed of the clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select, update

from bench.broadcast import schedule_notice, seed_owners
from bot.channel import create_bot
from bot.limits import SendLimiter
from bot.sender import OutboxSender
from dialogs.replies import Say
from storage import clock
from storage.models import PRIORITY_AGENT, Broadcast, Customer, OutboxMessage
from storage.outbox import enqueue
from storage.repositories import broadcasts as broadcast_rows
from storage.services import broadcasts
from storage.unit_of_work import Actor
from tests.bot.conftest import TOKEN, eventually
from tests.botapi import BotApiServer
from tests.botapi.limits import RateLimits
from tests.workplace import workplace_for

FACTOR = 5.0
OWNERS = 1500
FIRST_CHAT = 31_000_001


class FastClock:
    """One clock for the server and the limiter, FACTOR times faster than the wall clock."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()

    def monotonic(self) -> float:
        return (self.loop.time() - self.start) * FACTOR

    def epoch(self) -> float:
        return 1_700_000_000 + self.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / FACTOR)


@asynccontextmanager
async def telegram(fast: FastClock) -> AsyncIterator[BotApiServer]:
    async with BotApiServer(token=TOKEN, limits=RateLimits(), clock=fast.epoch) as server:
        yield server


@asynccontextmanager
async def running_sender(server: BotApiServer, sessions, fast: FastClock) -> AsyncIterator[OutboxSender]:
    bot = create_bot(TOKEN, server.base_url)
    # The production limits (29/s overall, 1 s per chat), on the fast clock; a request only counts as slow after
    # a virtual minute (the wall-clock latency of a loaded machine, multiplied, is not a hung request).
    limiter = SendLimiter(monotonic=fast.monotonic, sleep=fast.sleep, slow_request_seconds=60.0)
    sender = OutboxSender(bot, workplace_for(sessions), limiter, poll_interval=0.02)
    task = asyncio.create_task(sender.run())
    try:
        yield sender
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()


async def unfinished(sessions, notice: int) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.broadcast_id == notice, OutboxMessage.status.in_(("pending", "sending")))) or 0)


async def settled(sessions, notice: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 300
    while await unfinished(sessions, notice):
        assert loop.time() < deadline, "the notice did not go out"
        await asyncio.sleep(0.1)


async def test_a_notice_to_1500_owners_reaches_each_reachable_owner_once(any_sessions):
    sessions = any_sessions
    chats = list(range(FIRST_CHAT, FIRST_CHAT + OWNERS))
    owners = await seed_owners(sessions, chats)
    elsewhere = await seed_owners(sessions, list(range(32_000_001, 32_000_021)), project="Lake View")
    blocked_before = chats[::50]  # 30 owners blocked the bot long ago: nothing is sent to them
    blocked_now = chats[7::75]  # 20 owners blocked it since: Telegram refuses (403)
    async with sessions() as session, session.begin():
        await session.execute(update(Customer).where(Customer.chat_id.in_(blocked_before))
                              .values(unreachable_at=clock.now()))
    notice = await schedule_notice(sessions)
    assert await broadcasts.tick(workplace_for(sessions)) == OWNERS
    fast = FastClock()
    async with telegram(fast) as server:
        for chat in blocked_now:
            server.block_chat(chat)
        async with running_sender(server, sessions, fast) as sender:
            await eventually(lambda: len(server.receipts) >= 300, timeout=120, what="300 owners told")
            agent_chat = 33_000_001
            async with sessions() as session, session.begin():
                await enqueue(session, chat_id=agent_chat, payload=Say("An agent answers you").to_payload(),
                              priority=PRIORITY_AGENT)
            sender.wake()
            await settled(sessions, notice)
            await sender.drain()
        languages = {chat: ("zh" if n % 2 == 0 else "en") for n, chat in enumerate(chats)}
        received = Counter(chat for chat, _, _ in server.receipts)
        order = [chat for chat, _, _ in server.receipts]

    assert server.too_many_requests == 0
    reachable = set(chats) - set(blocked_before) - set(blocked_now)
    assert {chat for chat in received if chat in owners} == reachable
    assert all(received[chat] == 1 for chat in reachable), "once each"
    for chat in list(reachable)[:200]:
        text = server.sent(chat)[0]["text"]
        expected = "今天10:00-14:00因管道维修停水。" if languages[chat] == "zh" else "Water supply is off today"
        assert expected in text
    assert not any(chat in received for chat in elsewhere), "another project's owners are not in the audience"
    # Broadcasts go after agent replies: the reply overtook the ~1,100 notice messages still waiting.
    assert len(order) - order.index(agent_chat) > 500
    assert sender.stats["rate_limited"] == 0

    await broadcasts.tick(workplace_for(sessions))
    async with sessions() as session:
        counts = (await broadcast_rows.status_counts(session, [notice]))[notice]
        stored = await session.get(Broadcast, notice)
        marked = set((await session.scalars(select(Customer.chat_id).where(
            Customer.unreachable_at.is_not(None)))).all())
    assert counts == {"queued": 0, "sent": OWNERS - 50, "failed": 0, "blocked": 50, "cancelled": 0}
    assert stored.status == "done"
    assert marked == set(blocked_before) | set(blocked_now)


async def test_cancelling_halfway_stops_the_rest(sessions):
    chats = list(range(FIRST_CHAT, FIRST_CHAT + OWNERS))
    await seed_owners(sessions, chats)
    notice = await schedule_notice(sessions)
    workplace = workplace_for(sessions)
    await broadcasts.tick(workplace)
    fast = FastClock()
    async with telegram(fast) as server, running_sender(server, sessions, fast) as sender:
        await eventually(lambda: len(server.receipts) >= OWNERS // 2, timeout=120, what="half the owners told")
        async with workplace.open(Actor.system()) as work:
            stopped = await broadcasts.cancel(work, notice)
        at_cancel = len(server.receipts)
        await settled(sessions, notice)
        await sender.drain()
        await asyncio.sleep(0.5)  # nothing else trickles out
        total = len(server.receipts)

    assert server.too_many_requests == 0
    assert OWNERS // 2 <= at_cancel < OWNERS and total < OWNERS
    # What still went out after the cancel is only what the sender already held.
    assert total - at_cancel <= sender.max_in_flight_broadcast
    async with sessions() as session:
        counts = (await broadcast_rows.status_counts(session, [notice]))[notice]
    assert counts["sent"] == total and counts["cancelled"] == OWNERS - total
    assert stopped == counts["cancelled"]
    assert counts["queued"] == counts["failed"] == counts["blocked"] == 0
    assert all(n == 1 for n in Counter(chat for chat, _, _ in server.receipts).values())


async def test_an_idle_sender_reads_and_writes_nothing(sessions):
    """Wake-ups with nothing due cost a read, not a write transaction (on SQLite every write takes its turn at
    the process's write gate, the sender's own outcome commits included)."""
    from contextlib import asynccontextmanager as wrap

    async with BotApiServer(token=TOKEN, limits=None) as server:
        bot = create_bot(TOKEN, server.base_url)
        sender = OutboxSender(bot, workplace_for(sessions), SendLimiter(), poll_interval=0.01)
        gate = sender.workplace.gate
        opened = []
        original = gate.transaction

        @wrap
        async def counted(**how):  # type: ignore[no-untyped-def]
            opened.append(1)
            async with original(**how) as session:
                yield session

        gate.transaction = counted  # type: ignore[method-assign]
        task = asyncio.create_task(sender.run())
        try:
            await asyncio.sleep(0.5)  # dozens of polls
            idle = len(opened)
            async with sessions() as session, session.begin():
                await enqueue(session, chat_id=900_001, payload=Say("hello").to_payload())
            sender.wake()
            await eventually(lambda: len(server.sent(900_001)) == 1, what="the row sent")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
    assert idle <= 2, f"{idle} write transactions while idle (start-up recovery only)"


async def test_a_notice_costs_a_claim_look_per_refill_not_per_message(sessions, monkeypatch):
    """At 29 messages a second a read per finished notice row would be 29 reads a second of the sender's own: a
    notice's row leaves no next row in its chat, so the sender looks again only when it is time to refill."""
    from storage import outbox_rows

    count = 160
    await seed_owners(sessions, list(range(34_000_001, 34_000_001 + count)))
    await schedule_notice(sessions)
    assert await broadcasts.tick(workplace_for(sessions)) == count
    looks = []
    original = outbox_rows.due_exists

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        looks.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(outbox_rows, "due_exists", counted)
    fast = FastClock()
    async with telegram(fast) as server, running_sender(server, sessions, fast) as sender:
        sender.poll_interval = 60.0  # polls too rare to matter: every look comes from the sender's own wake-ups
        await eventually(lambda: len(server.receipts) >= count, timeout=60, what="the notice sent")
        seen = len(looks)
    assert server.too_many_requests == 0
    # About one look per refill (every max_in_flight_broadcast // 2 = 8 rows, 20 here, plus the start and the
    # end of the queue), not one per row (160: what it was before).
    assert seen <= count // 4, f"{seen} looks for {count} notice rows"
