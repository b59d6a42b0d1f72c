"""Recovery after Telegram fails: one probe at a time while it fails, delivery resumes within about one probe
interval of the recovery (every delayed row released at once, still paced: no 429 storm), after 5xx errors and
after a hang; the poller's backoff is capped the same way."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe

from bot.limits import Circuit, SendLimiter
from bot.polling import Poller
from dialogs.replies import Say
from tests.bot.conftest import TOKEN
from tests.bot.test_sender import queue, running_sender, settle
from tests.botapi import BotApiServer
from tests.botapi.limits import RateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the circuit, on an injected clock ----------------------------------------------------------------


def test_the_circuit_probes_once_at_a_time_with_a_capped_backoff_and_closes_on_an_answer():
    clock = Clock()
    circuit = Circuit(2.0, first_probe=0.25, monotonic=clock, jitter=lambda: 1.0)
    assert not circuit.open and not circuit.due()
    circuit.failed(silent=False)
    assert circuit.open and circuit.next_probe_at == 100.25
    assert not circuit.wants_row_probe()
    delays = []
    for _ in range(8):
        clock.now = circuit.next_probe_at
        assert circuit.wants_row_probe()
        circuit.probe = 1  # as admit does
        circuit.probe_started()
        assert not circuit.wants_row_probe(), "one probe at a time"
        delays.append(circuit.next_probe_at - clock.now)
        circuit.failed(silent=False, probe=1)
    assert delays == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]  # doubling, capped at the probe interval
    assert circuit.answered() is True, "it failed while open: an outage ended, release the waiting rows"
    assert not circuit.open and circuit.answered() is False


def test_one_failed_request_among_answered_ones_is_no_outage():
    circuit = Circuit(2.0, monotonic=Clock(), jitter=lambda: 1.0)
    circuit.failed(silent=False)
    assert circuit.answered() is False  # nothing else failed: rows backing off keep their backoff


def test_after_no_answer_rows_wait_for_a_connectivity_check():
    clock = Clock()
    circuit = Circuit(2.0, monotonic=clock, jitter=lambda: 1.0)
    circuit.failed(silent=True)
    clock.now += 10
    assert circuit.wants_connectivity() and not circuit.wants_row_probe()
    circuit.probe_started()
    circuit.unreachable()
    assert circuit.open and circuit.outage
    circuit.reachable()
    assert not circuit.silent and circuit.wants_row_probe()


async def test_admit_lets_one_request_through_as_the_probe_and_the_rest_when_closed():
    clock = Clock()
    circuit = Circuit(2.0, first_probe=0.0, monotonic=clock, jitter=lambda: 1.0)
    circuit.failed(silent=False)
    waiters = [asyncio.create_task(circuit.admit()) for _ in range(3)]
    await asyncio.sleep(0.01)
    probes = [task.result() for task in waiters if task.done()]
    assert len(probes) == 1 and probes[0] > 0
    assert circuit.waiting == 2
    assert circuit.answered() is False
    assert sorted(await asyncio.gather(*[task for task in waiters if not task.done()])) == [0, 0]


# -- the sender against the offline Bot API server ------------------------------------------------------


def first_sends_after(server: BotApiServer, moment: float) -> dict[int, float]:
    """When each chat's first message after `moment` was accepted (server clock)."""
    first: dict[int, float] = {}
    for call in server.calls:
        if call.method == "sendMessage" and call.status == 200 and call.at >= moment:
            first.setdefault(int(call.params["chat_id"]), call.at)
    return first


async def test_after_a_run_of_500s_every_chat_resumes_within_a_probe_interval_without_a_429(any_sessions):
    """Per-row backoff as in production (1 s doubling to 60 s) would leave rows waiting for seconds after the
    recovery; the circuit releases them all when its probe gets through, and the limiter paces them."""
    sessions = any_sessions
    probe = 0.5
    chats = [7101 + n for n in range(6)]
    async with BotApiServer(token=TOKEN, limits=RateLimits()) as server:
        for chat in chats:
            await queue(sessions, chat, *[Say(f"{chat}-{n}") for n in range(3)])
        start = server.clock()
        server.fail_for(4.0, 500, methods=["sendMessage"])
        end = start + 4.0
        async with running_sender(server, sessions, limiter=SendLimiter(), poll_interval=0.05, backoff_base=0.5,
                                  backoff_cap=60.0, probe_interval=probe) as sender:
            rows = await settle(sessions, timeout=60)
        assert {row.status for row in rows} == {"sent"}
        resumed = first_sends_after(server, end)
        assert set(resumed) == set(chats)
        late = {chat: round(at - end, 2) for chat, at in resumed.items() if at - end > 3 * probe}
        assert not late, f"chats that resumed later than 3 probe intervals after the recovery: {late}"
        refused = [call.at for call in server.calls if call.status == 500]
        # At first every chat's head row is out at once; after that, one probe at a time, at most one
        # probe interval apart, never fewer than half of one (jitter): no retry storm.
        assert len(refused) <= len(chats) + 4.0 / (probe / 2) + 6
        assert server.too_many_requests == 0
        assert sender.stats["resumed"] >= 1
        for chat in chats:
            assert [m["text"] for m in server.sent(chat)] == [f"{chat}-{n}" for n in range(3)]


async def test_after_a_hang_new_messages_go_within_a_probe_interval(sessions):
    """Requests sent into a hang are lost (the server never answers them); the sender notices the silence,
    stops sending into it, checks connectivity with getMe, and delivers what was queued meanwhile as soon as
    Telegram answers again. The requests lost in the hang are retried after their timeout."""
    probe = 0.4
    stuck = [7201 + n for n in range(3)]
    queued_later = [7301 + n for n in range(3)]
    async with BotApiServer(token=TOKEN, limits=None) as server:
        for chat in stuck:
            await queue(sessions, chat, Say(f"{chat} before"))
        start = server.clock()
        server.hang_for(3.0)
        end = start + 3.0
        async with running_sender(server, sessions, probe_interval=probe, probe_timeout=1.0, stall_seconds=0.3,
                                  request_timeout=4) as sender:
            await asyncio.sleep(1.5)  # the hang is on; replies keep being queued
            for chat in queued_later:
                await queue(sessions, chat, Say(f"{chat} during"))
            sender.wake()
            rows = await settle(sessions, timeout=60)
        assert {row.status for row in rows} == {"sent"}
        resumed = first_sends_after(server, end)
        late = {chat: round(resumed[chat] - end, 2) for chat in queued_later if resumed[chat] - end > 3 * probe}
        assert not late, f"messages queued during the hang went out later than 3 probe intervals after it: {late}"
        assert any(call.method == "getMe" for call in server.calls), "connectivity is checked with getMe"
        hung_sends = [call for call in server.calls if call.method == "sendMessage" and call.hung]
        assert len(hung_sends) == len(stuck), "nothing more is sent into the hang once it is noticed"
        received = Counter(m["text"] for m in server.all_sent())
        assert set(received.values()) == {1} and len(received) == len(stuck) + len(queued_later)


# -- the poller ---------------------------------------------------------------------------------------


class FailingBot:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, method, request_timeout=None):
        self.calls += 1
        if self.calls <= self.failures:
            raise TelegramNetworkError(method=GetMe(), message="Request timeout error")
        await asyncio.Event().wait()  # a long poll that has nothing to say


class RoomyPipeline:
    async def wait_for_room(self) -> None:
        return None


async def test_the_poller_retries_getupdates_at_most_a_couple_of_seconds_apart(monkeypatch: pytest.MonkeyPatch):
    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded_sleep(seconds: float) -> None:
        delays.append(seconds)
        await real_sleep(0)

    bot = FailingBot(failures=12)
    poller = Poller(bot, RoomyPipeline())  # type: ignore[arg-type]
    monkeypatch.setattr("bot.polling.asyncio.sleep", recorded_sleep)
    task = asyncio.create_task(poller.run())
    try:
        for _ in range(1000):
            if bot.calls > 12:
                break
            await real_sleep(0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(delays) == 12
    assert max(delays) <= 2.0, f"getUpdates backoff grew to {max(delays):.1f}s"
