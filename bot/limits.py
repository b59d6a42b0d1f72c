"""Telegram's sending limits, kept on our side so the server never has to refuse us.

- overall: at most N = int(global_rate) requests reach Telegram in any sliding second, counted as Telegram
  counts them (when each arrives), whatever the latency; starts spaced 1/(global_rate + 1) apart (one that
  woke late is caught up by the next few), first come first served. Each request holds a place from the
  moment it may start until one second after its answer came back (while it is out it may arrive at any
  moment; once answered it arrived at the latest then), and starts only with a place free. An album takes
  one place per photo, though Telegram counts it once.
- a private chat (positive id): at least per_chat_seconds between two sends;
- a group (negative id): at least 60/group_per_minute seconds between two sends;
- pauses: a 429 pauses the chat (and, for a flood wait, everything) for retry_after.
Clock and sleep are injectable so tests never wait on wall time.

Why no second at Telegram ever counts more than N (the zero-429 argument; Telegram allows 30). Request q takes
its place at s_q, before it leaves, arrives at a_q, and its answer comes back at d_q, after the server counted
it: s_q <= a_q <= d_q. Only the order of these events and lengths of time are used, so our clock and the
server's need not agree. Take any second (x - 1, x] at the server, the requests R it counts, and r the one of
them that took its place last. Every other q in R took its place before r, and d_q >= a_q > x - 1 >= a_r - 1
>= s_r - 1 (or its answer had not come yet), so q still held its place when r took one. r took one only with
at most N - 1 held: |R| <= N. The argument needs no bound on the requests out at once and holds however late
a busy loop or network delivers them. The one exception is deliberate: a request unanswered for
`slow_request_seconds` counts as answered then, so a hung upload (or a hung Telegram) does not hold its place
until its request times out; should it arrive late after all, the default N = 29 leaves one place to spare
under Telegram's 30.

Throughput: a place serves one request per 1 s + latency L + however late the start after it freed, so the
ceiling is N / (1 + L): 28.7/s at N = 29 and L = 10 ms. The spacing (30/s at 29) is faster than that on purpose,
so it only smooths starts after an idle spell and never binds once the places are busy; a start that woke
late lets the next few (at most CATCH_UP intervals' worth) catch up instead of pushing every later one back.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

CATCH_UP = 4  # starts late by up to this many intervals are caught up (see SendLimiter._start)


class SendLimiter:
    def __init__(
        self,
        global_rate: float | None = 29.0,
        per_chat_seconds: float = 1.0,
        group_per_minute: float = 20.0,
        *,
        slow_request_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # Starts spaced 1/(global_rate + 1) apart: smooth, yet not what binds once the places are busy (they let
        # int(global_rate) start per 1 s + latency), so the spacing does not add to the places' own waits.
        self.global_interval = 1.0 / (global_rate + 1.0) if global_rate else 0.0
        self.private_interval = per_chat_seconds
        self.group_interval = 60.0 / group_per_minute if group_per_minute else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_start = -math.inf  # when the next start is due (spacing)
        self._turn = asyncio.Lock()  # one request at a time picks its moment, in the order they asked
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        # Places: at most window_limit held; a request holds its place from its start until 1 s after its answer.
        self.window_limit = max(1, int(global_rate)) if global_rate else 0
        self.slow_request_seconds = slow_request_seconds
        self._answered: list[float] = []  # heap: when each answered request's place is free again, minus 1 s
        self._out: dict[int, tuple[float, int]] = {}  # requests out now: id -> (started, places)
        self._out_places = 0
        self._ids = itertools.count(1)
        self._answer = asyncio.Event()  # set on every answer: wakes a start waiting on a window of requests out

    def interval_for(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.private_interval

    @contextlib.asynccontextmanager
    async def sending(self, chat_id: int, weight: int = 1) -> AsyncIterator[None]:
        """Hold a send slot while the request runs: `async with limiter.sending(chat): await bot(...)`."""
        await self.chat_turn(chat_id)
        async with self.place(weight):
            yield

    async def chat_turn(self, chat_id: int) -> None:
        """Wait for this chat's next slot (then take a `place` for the request itself)."""
        await self._chat_slot(chat_id)

    @contextlib.asynccontextmanager
    async def place(self, weight: int = 1, ready: Callable[[], Awaitable[None]] | None = None,
                    ) -> AsyncIterator[None]:
        """Wait for the moment the request may start and hold `weight` places while it runs: leave the block as
        soon as its answer (or failure) is known; its places are free again one second later. `ready`: what
        else the request must wait for (the sender's place among the unconfirmed), awaited when it is this
        request's turn and it could go, so that it holds neither while waiting for the other."""
        request = await self._start(weight, ready)
        try:
            yield
        finally:
            self._answered_now(request)

    async def acquire(self, chat_id: int) -> None:
        """Wait for this chat's next slot, then for a global one, for a request answered at once (tests)."""
        await self._chat_slot(chat_id)
        self._answered_now(await self._start(1))

    async def _chat_slot(self, chat_id: int) -> None:
        now = self._monotonic()
        chat_at = max(now, self._next_chat.get(chat_id, 0.0))
        self._next_chat[chat_id] = chat_at + self.interval_for(chat_id)
        if chat_at > now:
            await self._sleep(chat_at - now)

    async def _start(self, weight: int, ready: Callable[[], Awaitable[None]] | None = None) -> int:
        """Wait, first come first served, until no flood wait holds everyone, the next start is due and a place
        is free, then for `ready`; take the places. Returns the request's id (0: no window)."""
        could = self._monotonic()  # the earliest this request could start: when it asked, due, a place free
        async with self._turn:
            while True:
                now = self._monotonic()
                due = max(self._paused_until, self._next_start)
                if due > now:
                    await self._sleep(due - now)
                    continue  # a flood wait may have begun meanwhile
                could = max(could, due)
                if ready is not None and self._room(now, weight):
                    await ready()
                    ready = None
                    continue  # that may have taken time: look again
                request = self._take_places(now, weight)
                if request >= 0:
                    # Spacing: the next start is due an interval after this one could have started, so a sleep
                    # that woke late (a busy machine) does not push every later start back: the next few catch
                    # up (at most CATCH_UP intervals). After an idle spell that is an interval after now.
                    self._next_start = max(could, now - CATCH_UP * self.global_interval) + self.global_interval
                    return request
                free_at = await self._window_frees(now)
                could = max(could, self._monotonic() if free_at is None else free_at)

    def _room(self, now: float, weight: int) -> bool:
        return not self.window_limit or self._held(now) + min(max(1, weight), self.window_limit) <= self.window_limit

    def _take_places(self, now: float, weight: int) -> int:
        """The id of a request holding `weight` places from now on (0 without a window), or -1: no room."""
        if not self.window_limit:
            return 0
        if not self._room(now, weight):
            return -1
        weight = min(max(1, weight), self.window_limit)  # an album larger than the window waits for all of it
        request = next(self._ids)
        self._out[request] = (now, weight)
        self._out_places += weight
        return request

    async def _window_frees(self, now: float) -> float | None:
        """Wait until a place may be free; returns when it was free (None: unknown)."""
        if self._answered:  # the earliest answered place frees first (one answered now frees 1 s later)
            free_at = self._answered[0] + 1.0
            await self._sleep(free_at - now)
            return free_at
        # Every place is held by a request still out: wait for an answer, or for the oldest to count as slow.
        slow_at = min(started for started, _ in self._out.values()) + self.slow_request_seconds
        answer = asyncio.ensure_future(self._answer.wait())
        slow = asyncio.ensure_future(self._sleep(max(0.0, slow_at - now)))
        try:
            await asyncio.wait((answer, slow), return_when=asyncio.FIRST_COMPLETED)
        finally:
            answer.cancel()
            slow.cancel()
        return None

    def places_held(self) -> int:
        """Places held now (requests out, and answered less than a second ago)."""
        return self._held(self._monotonic()) if self.window_limit else 0

    def _held(self, now: float) -> int:
        """Places held now: requests out, and requests answered less than 1 s ago."""
        for request, (started, _) in list(self._out.items()):
            if started + self.slow_request_seconds <= now:  # slow: counts as answered when it became slow
                self._answered_now(request, at=started + self.slow_request_seconds)
        answered = self._answered
        while answered and answered[0] + 1.0 <= now:  # the very sum _window_frees sleeps until
            heapq.heappop(answered)
        return len(answered) + self._out_places

    def _answered_now(self, request: int, at: float | None = None) -> None:
        out = self._out.pop(request, None)
        if out is None:  # already counted as answered (it was slow)
            return
        self._out_places -= out[1]
        done = self._monotonic() if at is None else at
        for _ in range(out[1]):
            heapq.heappush(self._answered, done)
        self._answer.set()
        self._answer = asyncio.Event()

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        until = self._monotonic() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)

    def pause_all(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def forget_idle(self) -> None:
        """Drop chats whose slot is in the past, so memory follows active chats, not all chats ever."""
        now = self._monotonic()
        for chat_id in [c for c, at in self._next_chat.items() if at < now]:
            del self._next_chat[chat_id]


class Circuit:
    """Telegram's health as one sender sees it, so an outage costs one request at a time, not one per message,
    and delivery resumes as soon as Telegram answers again.

    closed: requests go as the limits allow. A failure (5xx, network error, timeout, or a request left
    unanswered for too long) opens it. open: requests wait in `admit`; one of them at a time goes as the
    probe, the first soon after the failure and the next ones after a backoff that doubles up to
    `probe_interval` (with jitter). When the failure got no answer at all (`silent`: connection refused,
    timeout, hang), rows do not probe: the sender checks connectivity with getMe first (`wants_connectivity`),
    a side-effect-free request, and rows probe once Telegram answers that. Any answer to a row (sent, 4xx,
    429) closes the circuit; `answered` then says whether it ended a real outage (something failed while it
    was open), the sender's cue to make every row that is backing off due at once.
    Clock and jitter are injectable so tests never wait on wall time.
    """

    def __init__(self, probe_interval: float = 2.0, *, first_probe: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] | None = None) -> None:
        self.probe_interval = probe_interval
        self.first_probe = first_probe if first_probe is not None else probe_interval / 8
        self._monotonic = monotonic
        self._jitter = jitter or (lambda: random.uniform(0.5, 1.0))  # noqa: S311
        self.open = False
        self.silent = False  # the last failure had no answer: check connectivity before rows probe
        self.outage = False  # something failed while open: more than one unlucky request
        self.probe = 0  # the row probe out now (0: none)
        self.probes = 0  # probes sent since the circuit opened
        self.next_probe_at = 0.0
        self.waiting = 0  # rows waiting in admit
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    # -- what the sender reports --------------------------------------------------------------------------

    def failed(self, *, silent: bool, probe: int = 0) -> None:
        """A request failed without a usable answer (5xx) or without any answer (silent). `probe`: the id
        `admit` gave it, when it was the probe."""
        if not self.open:
            self.open, self.outage, self.probes = True, False, 0
            self.next_probe_at = self._monotonic() + self._delay()
        else:
            self.outage = True
        self.silent = silent
        self.release(probe)

    def answered(self) -> bool:
        """Telegram answered a row (2xx, 4xx or 429): close. True when this ended an outage."""
        if not self.open:
            return False
        ended_outage = self.outage
        self.open = self.silent = self.outage = False
        self.probe = 0
        self._notify()
        return ended_outage

    def unreachable(self) -> None:
        """The connectivity check got no answer either: a real outage (it does not reopen a closed circuit)."""
        if self.open:
            self.outage = True

    def reachable(self) -> None:
        """Telegram answered the connectivity check: rows may probe now."""
        if self.open and self.silent:
            self.silent = False
            self.next_probe_at = self._monotonic()
            self._notify()

    def stalled(self) -> None:
        """A request has gone unanswered for too long and nothing else was answered meanwhile: a silent
        failure; a row probe hanging like that no longer holds the probe."""
        self.failed(silent=True, probe=self.probe)

    def release(self, probe: int) -> None:
        """The probe with this id is over without telling anything (or was reported): another may go."""
        if probe and probe == self.probe:
            self.probe = 0
        self._notify()

    # -- what the sender asks ---------------------------------------------------------------------------

    def due(self) -> bool:
        return self.open and self._monotonic() >= self.next_probe_at

    def wants_row_probe(self) -> bool:
        """Open, not silent, no probe out, probe due, and no row waiting to be the probe: claim one."""
        return self.open and not self.silent and not self.probe and self.waiting == 0 and self.due()

    def wants_connectivity(self) -> bool:
        return self.open and self.silent and self.due()

    def probe_started(self) -> None:
        """A probe (row or getMe) is out: the next one waits a backoff, doubling up to probe_interval."""
        self.probes += 1
        self.next_probe_at = self._monotonic() + self._delay()

    def seconds_to_probe(self) -> float:
        return max(0.0, self.next_probe_at - self._monotonic()) if self.open else float("inf")

    async def admit(self) -> int:
        """Wait until a request may go: 0 while closed, else the id of the probe it goes as (report its
        outcome with that id, or `release` it)."""
        self.waiting += 1
        try:
            while self.open:
                if not self.silent and not self.probe and self.due():
                    self.probe = next(self._ids)
                    self.probe_started()
                    return self.probe
                changed = self._changed
                timeout = None if self.silent or self.probe else self.seconds_to_probe()
                try:
                    await asyncio.wait_for(changed.wait(), timeout)
                except TimeoutError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():  # a cancellation that raced the timeout
                        raise asyncio.CancelledError from None
            return 0
        finally:
            self.waiting -= 1

    def _delay(self) -> float:
        return min(self.probe_interval, self.first_probe * 2 ** min(self.probes, 30)) * self._jitter()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
