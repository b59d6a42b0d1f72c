"""Telegram's sending limits, kept on our side so the server never has to refuse us.

- overall: one send slot every 1/global_rate seconds (evenly spaced: a leaky bucket with a burst would
  overshoot Telegram's sliding window), at most global_rate - concurrent sends starting in any second, and
  at most `concurrent` requests in flight. Requests started in order can reach the server out of order
  only among those in flight together, so any second at the server then holds at most
  global_rate + concurrent - 1 sends: 30 with the defaults, which Telegram still accepts, however
  late a busy event loop or network delivers them. (A request slower than `slow_request_seconds` gives its
  place up, so one hung upload cannot stall every chat.)
- a private chat (positive id): at least per_chat_seconds between two sends;
- a group (negative id): at least 60/group_per_minute seconds between two sends;
- pauses: a 429 pauses the chat (and, for a flood wait, everything) for retry_after.
Clock and sleep are injectable so tests never wait on wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable


class SendLimiter:
    def __init__(
        self,
        global_rate: float | None = 29.0,
        per_chat_seconds: float = 1.0,
        group_per_minute: float = 20.0,
        *,
        concurrent: int = 2,
        slow_request_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.global_interval = 1.0 / global_rate if global_rate else 0.0
        self.private_interval = per_chat_seconds
        self.group_interval = 60.0 / group_per_minute if group_per_minute else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        self.window_limit = max(1, int(global_rate) - max(1, concurrent)) if global_rate else 0
        self._recent: deque[float] = deque()
        self._in_flight = asyncio.Semaphore(concurrent) if global_rate and concurrent else None
        self.slow_request_seconds = slow_request_seconds

    def interval_for(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.private_interval

    @contextlib.asynccontextmanager
    async def sending(self, chat_id: int, weight: int = 1) -> AsyncIterator[None]:
        """Hold a send slot while the request runs: `async with limiter.sending(chat): await bot(...)`."""
        await self._chat_slot(chat_id)
        if self._in_flight is None:
            for _ in range(weight):
                await self._global_slot()
            yield
            return
        await self._in_flight.acquire()
        semaphore = self._in_flight
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                semaphore.release()

        timer = asyncio.get_running_loop().call_later(self.slow_request_seconds, release)
        try:
            for _ in range(weight):
                await self._global_slot()
            yield
        finally:
            timer.cancel()
            release()

    async def acquire(self, chat_id: int) -> None:
        """Wait for this chat's next slot, then for a global one (no in-flight bound: see `sending`)."""
        await self._chat_slot(chat_id)
        await self._global_slot()

    async def _chat_slot(self, chat_id: int) -> None:
        now = self._monotonic()
        chat_at = max(now, self._next_chat.get(chat_id, 0.0))
        self._next_chat[chat_id] = chat_at + self.interval_for(chat_id)
        if chat_at > now:
            await self._sleep(chat_at - now)

    async def _global_slot(self) -> None:
        while True:
            now = self._monotonic()
            at = max(now, self._next_global, self._paused_until)
            self._next_global = at + self.global_interval
            if at > now:
                await self._sleep(at - now)
            if self._monotonic() >= self._paused_until:  # a flood wait may have begun while we slept
                break
        await self._sliding_window()

    async def _sliding_window(self) -> None:
        if not self.window_limit:
            return
        while True:
            now = self._monotonic()
            while self._recent and self._recent[0] <= now - 1.0 + 1e-9:  # float rounding of sleeps
                self._recent.popleft()
            if len(self._recent) < self.window_limit:
                self._recent.append(now)
                return
            await self._sleep(self._recent[0] + 1.0 - now)

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
