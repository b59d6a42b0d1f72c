"""bot.limits.SendLimiter on a discrete-event clock: many requests at once, each taking its time, and the one thing
that matters checked for every second the server could count: no more than int(global_rate) requests.

The server counts a request when it arrives, somewhere between the moment the request took its place and the
moment its answer came back; a second (x - 1, x] can therefore count every request whose span [start, answered]
meets it. `worst_second` is the largest such count over all seconds: the most any server could have counted,
whatever the arrival times within the spans were."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable

import pytest

from bot.limits import CATCH_UP, SendLimiter


class EventClock:
    """Virtual time that moves only when every task is waiting: to the earliest sleeper's deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.late_once: dict[int, float] = {}  # sleep number -> how much later than asked it wakes (a busy loop)
        self._sleeps = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        late = self.late_once.pop(next(self._sleeps), 0.0)
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds) + late, next(self._order), wake))
        await wake

    async def run(self, main: Awaitable[object]) -> None:
        task = asyncio.ensure_future(main)
        while not task.done():
            for _ in range(40):  # let every task run until it waits
                await asyncio.sleep(0)
            if task.done():
                break
            while self._sleepers and self._sleepers[0][2].cancelled():
                heapq.heappop(self._sleepers)
            assert self._sleepers, "every task waits for something other than time: a deadlock"
            when, _, wake = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            wake.set_result(None)
        task.result()


def limiter(clock: EventClock, **kwargs) -> SendLimiter:
    return SendLimiter(monotonic=clock.monotonic, sleep=clock.sleep, **kwargs)


def worst_second(spans: list[tuple[float, float, int]]) -> int:
    """The most places (an album: one per photo) whose span [start, answered] meets one second (x - 1, x]. The count
    only rises at a start, so the seconds ending at each start are the ones to look at."""
    return max(sum(weight for start, answered, weight in spans if start <= x and answered + 1.0 > x)
               for x, _, _ in spans)


async def send_all(pacing: SendLimiter, clock: EventClock, latencies: list[float], *, workers: int,
                   weights: list[int] | None = None) -> list[tuple[float, float, int]]:
    """`workers` tasks send one request after another, each taking its latency; the spans they held."""
    spans: list[tuple[float, float, int]] = []
    queue = list(enumerate(latencies))

    async def worker() -> None:
        while queue:
            n, latency = queue.pop(0)
            weight = weights[n] if weights else 1
            async with pacing.place(weight):
                start = clock.now
                await clock.sleep(latency)
            spans.append((start, clock.now, weight))

    await asyncio.gather(*(worker() for _ in range(workers)))
    return sorted(spans)


async def test_with_random_latencies_no_second_can_hold_more_than_the_window():
    clock = EventClock()
    pacing = limiter(clock, global_rate=29)
    rng = random.Random(13)
    # Mostly a few milliseconds, some slow answers, a few very slow ones (still under slow_request_seconds).
    latencies = [rng.choice([rng.uniform(0.001, 0.02)] * 8 + [rng.uniform(0.1, 0.6), rng.uniform(0.8, 1.9)])
                 for _ in range(600)]
    spans: list[tuple[float, float, int]] = []

    async def main() -> None:
        spans.extend(await send_all(pacing, clock, latencies, workers=12))

    await clock.run(main())
    assert len(spans) == 600
    assert worst_second(spans) <= 29
    assert pacing.window_limit == 29


async def test_albums_take_a_place_per_photo():
    clock = EventClock()
    pacing = limiter(clock, global_rate=29)
    rng = random.Random(7)
    weights = [rng.choice([1, 1, 1, 3, 10]) for _ in range(200)]
    spans: list[tuple[float, float, int]] = []

    async def main() -> None:
        spans.extend(await send_all(pacing, clock, [0.05] * 200, workers=8, weights=weights))

    await clock.run(main())
    assert worst_second(spans) <= 29
    assert max(weight for _, _, weight in spans) == 10


async def test_the_rate_is_the_window_over_one_second_plus_the_latency():
    """Each request holds its place for 1 s + its latency: 29 places at 10 ms give 29 / 1.01 = 28.7/s."""
    clock = EventClock()
    pacing = limiter(clock, global_rate=29)
    spans: list[tuple[float, float, int]] = []

    async def main() -> None:
        spans.extend(await send_all(pacing, clock, [0.01] * 900, workers=4))

    await clock.run(main())
    starts = [start for start, _, _ in spans]
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert 28.5 <= rate <= 29 / 1.01 + 0.01
    assert worst_second(spans) <= 29
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / 30 - 1e-9, "evenly spaced: nothing closer than 1/(rate + 1) on a punctual clock"


async def test_a_request_still_out_holds_its_place_until_it_counts_as_slow():
    clock = EventClock()
    pacing = limiter(clock, global_rate=3, slow_request_seconds=2.0)
    started: list[float] = []
    release = asyncio.Event()

    async def hung() -> None:
        async with pacing.place():
            started.append(clock.now)
            await release.wait()  # no answer for a long time

    async def main() -> None:
        hangs = [asyncio.ensure_future(hung()) for _ in range(3)]
        await clock.sleep(0.6)  # all three are out
        async with pacing.place():
            started.append(clock.now)
        release.set()
        await asyncio.gather(*hangs)

    await clock.run(main())
    # Three places held by requests still out: the fourth waits until they count as answered (2 s after the
    # first started) and one second more, not for their answers.
    assert started[:3] == pytest.approx([0.0, 1 / 4, 2 / 4])
    assert started[3] == pytest.approx(3.0)


async def test_an_answer_frees_the_place_one_second_later():
    clock = EventClock()
    pacing = limiter(clock, global_rate=2)  # two places, starts 1/3 s apart
    started: list[float] = []

    async def one(latency: float) -> None:
        async with pacing.place():
            started.append(clock.now)
            await clock.sleep(latency)

    async def main() -> None:
        await asyncio.gather(one(0.9), one(0.1), one(0.0), one(0.0))

    await clock.run(main())
    # The third waits for the second's answer (1/3 + 0.1) and a second more; the fourth for the first's (0.9).
    assert started == pytest.approx([0.0, 1 / 3, 1 / 3 + 0.1 + 1.0, 0.9 + 1.0])


async def test_waiting_for_ready_holds_no_place_and_keeps_the_order():
    """The sender's place among the unconfirmed is awaited when a request could go: while it waits it holds none
    of Telegram's places, and requests behind it wait their turn (first come, first served)."""
    clock = EventClock()
    pacing = limiter(clock, global_rate=29)
    order: list[str] = []
    ticket = asyncio.Event()
    held_while_waiting: list[int] = []

    async def take_ticket() -> None:
        held_while_waiting.append(pacing.places_held())
        await ticket.wait()

    async def first() -> None:
        async with pacing.place(ready=take_ticket):
            order.append("first")

    async def second() -> None:
        async with pacing.place():
            order.append("second")

    async def main() -> None:
        one = asyncio.ensure_future(first())
        await asyncio.sleep(0)
        two = asyncio.ensure_future(second())
        await clock.sleep(0.5)
        assert order == [] and held_while_waiting == [0]
        ticket.set()
        await asyncio.gather(one, two)

    await clock.run(main())
    assert order == ["first", "second"]


async def test_a_flood_wait_that_begins_while_waiting_holds_the_start():
    clock = EventClock()
    pacing = limiter(clock, global_rate=29)
    started: list[float] = []

    async def send() -> None:
        async with pacing.place():
            started.append(clock.now)

    async def main() -> None:
        await send()  # at 0; the next is due 1/30 s later
        waiting = asyncio.ensure_future(send())
        await asyncio.sleep(0)
        pacing.pause_all(5.0)
        await waiting

    await clock.run(main())
    assert started == pytest.approx([0.0, 5.0])


async def test_a_late_wake_up_is_caught_up_and_an_idle_spell_gives_no_burst():
    clock = EventClock()
    pacing = limiter(clock, global_rate=29)
    interval = 1 / 30
    starts: list[float] = []

    async def send() -> None:
        async with pacing.place():
            starts.append(clock.now)

    async def main() -> None:
        clock.late_once[4] = 3 * interval  # the fifth sleep (the sixth start) wakes three intervals late
        await asyncio.gather(*(send() for _ in range(12)))
        await clock.sleep(10.0)  # idle
        await asyncio.gather(*(send() for _ in range(2)))

    await clock.run(main())
    busy, after_idle = starts[:12], starts[12:]
    # On schedule (n / 30) except around the late one, which the next starts catch up: by the tenth the
    # schedule holds again, instead of every later start being three intervals late.
    assert busy[5] == pytest.approx(8 * interval)
    assert busy[9:] == pytest.approx([n * interval for n in range(9, 12)])
    assert CATCH_UP >= 3
    assert after_idle[1] - after_idle[0] == pytest.approx(interval)


async def test_without_a_global_rate_only_pauses_hold_requests():
    clock = EventClock()
    pacing = limiter(clock, global_rate=None, per_chat_seconds=0)
    started: list[float] = []

    async def send(chat: int) -> None:
        await pacing.chat_turn(chat)
        async with pacing.place():
            started.append(clock.now)

    async def main() -> None:
        await asyncio.gather(*(send(chat) for chat in range(100)))
        pacing.pause_all(2.0)
        await send(1)

    await clock.run(main())
    assert started[:100] == [0.0] * 100
    assert started[100] == pytest.approx(2.0)

