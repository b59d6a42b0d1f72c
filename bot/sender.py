"""The outbox sender: delivers queued replies within Telegram's limits, never losing or reordering them.

- Rows are claimed atomically (storage.outbox_rows.claim), one head row per chat, so several senders (threads,
  processes, machines) never send a row twice and a chat's messages keep their order.
- Priorities: claims take agent replies, then bot replies, then reminders, then notices to owners (broadcasts),
  and the sender holds at most `max_in_flight_broadcast` broadcast rows at a time (refilled in halves), so a reply
  queued during a notice to thousands waits behind a few of them, and cancelling a notice leaves only those few
  to go out. Before it claims, the sender reads whether anything is due: an idle wake-up writes nothing.
- Limits are kept on our side (bot.limits.SendLimiter); a 429 pauses the chat (and everything, when several
  chats are refused at once: a flood wait) for retry_after and the row is retried without counting a failure.
- Outages: a 5xx, a network error, a timeout or a request left unanswered for `stall_seconds` opens a circuit
  (bot.limits.Circuit). While it is open requests wait and one at a time goes as a probe, at most
  `probe_interval` apart (after no answer at all, a side-effect-free getMe checks connectivity first); the
  first answer closes it and every row backing off is due at once, so delivery resumes within about one
  probe interval of Telegram's recovery, paced by the limiter (no 429 storm). A row that fails on its own
  still backs off exponentially (capped). Failures are retried forever: an outage delays messages, never
  drops them. 400 fails the row for good; 403 marks the customer unreachable and fails every pending row of
  that chat.
- Crash recovery and the at-least-once window: a claimed row stays 'sending' under a short lease that this
  sender renews while it holds the row; if the process dies, the row is pending again within one lease. The
  outcome of every request is committed as soon as it is known (outcomes that arrive while a commit runs go
  in the next one, started at once), and a request only starts while fewer than `max_unconfirmed` requests
  are out or answered-but-not-yet-committed. So a kill makes at most `max_unconfirmed` requests' messages go
  out twice (those Telegram may have accepted just before it; an album counts its photos); rows merely
  claimed, and rows whose outcome was committed, are sent exactly once. Telegram offers no idempotency key,
  so this window cannot be closed (bench/kill.py measures it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetMe
from aiogram.methods.base import TelegramMethod
from aiogram.types import Message as TgMessage
from sqlalchemy.ext.asyncio import AsyncSession

from bot.limits import Circuit, SendLimiter
from bot.render import Call, render
from dialogs.replies import reply_from_payload
from storage import clock, outbox_rows
from storage.events import Event, message_status
from storage.models import PRIORITY_BROADCAST
from storage.outbox_rows import RATE_LIMITED, ClaimedRow
from storage.repositories.customers import mark_unreachable
from storage.unit_of_work import Workplace

log = logging.getLogger(__name__)


def raise_if_cancelled() -> None:
    """Python 3.11's wait_for (and timeouts in libraries) can turn a cancellation that races a timeout into a
    TimeoutError; a loop that catches it would then run forever. The task still knows it was cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


PROGRESS_KEY = "_sent_calls"  # how many calls of a multi-call reply already went out
EDIT_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid",
             # The message is there but of another kind: a card (photo) cannot become text, nor text a card.
             "there is no text in the message to edit", "there is no media in the message to edit",
             "there is no caption in the message to edit")
NOT_MODIFIED = "message is not modified"
# Telegram answered, but cannot serve: the circuit opens, as for no answer at all.
ANSWERED_BUT_FAILING = (TelegramServerError, TelegramUnauthorizedError, TelegramConflictError, ClientDecodeError)


class PermanentFailure(Exception):
    """Telegram refused the content itself; retrying cannot help."""


@dataclass
class _Outcome:
    """What became of one row (or the release of waiting rows after an outage), to be committed."""

    sent: tuple[ClaimedRow, int | None] | None = None  # the common case, recorded in bulk
    write: Callable[[AsyncSession], Awaitable[list[Event]]] | None = None
    committed: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _Ticket:
    """One of `max_unconfirmed` places: held from the start of a request until its outcome is committed."""

    def __init__(self, places: asyncio.Semaphore) -> None:
        self._places = places
        self._held = False

    async def take(self) -> None:
        if not self._held:
            await self._places.acquire()
            self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._places.release()


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        workplace: Workplace,
        limiter: SendLimiter | None = None,
        *,
        lease_seconds: float = 10.0,
        poll_interval: float = 0.5,
        max_in_flight: int = 64,
        max_in_flight_broadcast: int = 16,
        max_unconfirmed: int = 4,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        probe_interval: float = 2.0,
        probe_timeout: float = 10.0,
        stall_seconds: float = 5.0,
        request_timeout: int = 30,
        monotonic: Callable[[], float] = time.monotonic,
        media_dir: Path | None = None,
    ) -> None:
        self.bot = bot
        # The sender's own bookkeeping must not wake the sender (it would spin): its units of work come from a
        # copy of the workplace without the after-commit callbacks. Their status events are published as usual.
        self.workplace = replace(workplace, on_committed=[])
        # The only folder photos are uploaded from: the installation's (Settings.media_path) unless given.
        self.media_dir = media_dir or workplace.settings.media_path
        self.limiter = limiter or SendLimiter()
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.max_in_flight = max_in_flight
        # Notices to owners come thousands at a time: holding only a few keeps an agent's reply (claimed first
        # anyway) from queueing behind many of them in the limiter, and bounds what still goes out after a
        # notice is cancelled. Enough to keep the limiter busy at 30/s.
        self.max_in_flight_broadcast = max(1, min(max_in_flight_broadcast, max_in_flight))
        self.max_unconfirmed = max_unconfirmed
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.probe_timeout = probe_timeout
        self.stall_seconds = stall_seconds
        self.request_timeout = request_timeout
        self.recover_every = max(1.0, min(10.0, lease_seconds / 2))
        self.renew_every = lease_seconds / 3
        self.circuit = Circuit(probe_interval, monotonic=monotonic)
        self._monotonic = monotonic
        self._wakeup = asyncio.Event()
        self._record_wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._connectivity: set[asyncio.Task[None]] = set()
        self._max_connectivity = math.ceil(probe_timeout / max(probe_interval, 0.001)) + 1
        self._held: dict[int, ClaimedRow] = {}  # rows this sender holds ('sending' under its lease)
        self._pending: list[_Outcome] = []  # decided, not committed yet
        self._recording = False
        self._unconfirmed = asyncio.Semaphore(max_unconfirmed)
        self._requests: dict[int, float] = {}  # requests out now: id -> started (monotonic)
        self._request_ids = itertools.count()
        self._last_answer_at = -math.inf
        self._recent_429: deque[tuple[float, int]] = deque()
        self.stats = {"sent": 0, "failed": 0, "retried": 0, "rate_limited": 0, "probes": 0, "resumed": 0}

    def wake(self) -> None:
        """New rows were queued in this process: look now instead of at the next poll."""
        self._wakeup.set()

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: base * 2^attempts, capped, then scaled by 50-100%."""
        return min(self.backoff_cap, self.backoff_base * 2 ** min(attempts, 30)) * random.uniform(0.5, 1.0)  # noqa: S311

    @property
    def unconfirmed(self) -> int:
        """Requests out or answered whose outcome is not committed yet: what a kill now could send twice."""
        return self.max_unconfirmed - self._unconfirmed._value  # noqa: SLF001

    async def run(self) -> None:
        await self.recover()
        recorder = asyncio.create_task(self._recorder(), name="outbox-recorder")
        last_recovery = last_renewal = self._monotonic()
        try:
            while True:
                self._wakeup.clear()
                self._check_stalled()
                self._probe_connectivity()
                limit = self._claimable()
                claimed = 0
                if limit:
                    try:
                        claimed = await self._claim(limit, waiting_too=self.circuit.open)
                    except Exception:
                        raise_if_cancelled()
                        log.exception("outbox claim failed; retrying shortly")
                        await asyncio.sleep(self.poll_interval)
                now = self._monotonic()
                if now - last_renewal >= self.renew_every:
                    last_renewal = now
                    await self._renew()
                if now - last_recovery >= self.recover_every:
                    last_recovery = now
                    await self.recover()
                    self.limiter.forget_idle()
                if claimed and (claimed == limit or claimed < 0) and not self.circuit.open:
                    continue  # there may be more ready rows right now
                try:
                    await asyncio.wait_for(self._wakeup.wait(),
                                           min(self.poll_interval, self.circuit.seconds_to_probe()))
                except TimeoutError:
                    raise_if_cancelled()
        finally:
            for task in self._connectivity:
                task.cancel()
            await self._cancel_in_flight()
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
            with contextlib.suppress(Exception):  # record what finished, so it is not sent again
                if self._pending:
                    await self._record()

    def _claimable(self) -> int:
        free = self.max_in_flight - len(self._tasks)
        if free <= 0:
            return 0
        if not self.circuit.open:
            return free
        return 1 if self.circuit.wants_row_probe() else 0  # a row to probe with

    async def recover(self) -> int:
        try:
            async with self.workplace.open() as work:
                count = await outbox_rows.recover_expired(work.session, clock.now(), keep=list(self._held))
        except Exception:
            log.exception("outbox lease recovery failed")
            return 0
        if count:
            log.warning("returned %d outbox row(s) with an expired lease to pending", count)
        return count

    async def _renew(self) -> None:
        if not self._held:
            return
        try:
            async with self.workplace.open(ahead=True) as work:
                await outbox_rows.renew(work.session, list(self._held), until=clock.now() + self.lease)
        except Exception:
            log.exception("could not renew the leases of %d outbox row(s)", len(self._held))

    async def drain(self) -> None:
        """Wait until every claimed row is delivered and its outcome recorded (tests, shutdown)."""
        while self._tasks or self._pending or self._recording:
            self._wakeup.set()
            await asyncio.sleep(0.01)

    async def _cancel_in_flight(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _claim(self, limit: int, *, waiting_too: bool) -> int:
        """Claim up to `limit` rows; returns how many, or -1 when it asked for fewer than `limit` (room for
        broadcasts) and got all it asked for (there may be more ready rows right now)."""
        room = self._broadcast_room()
        if room < max(1, self.max_in_flight_broadcast // 2):
            room = 0  # refill in halves: one claim per several broadcasts, not one per message
        # With room for broadcasts, one claim in priority order, no more rows than that room (so no more
        # broadcasts either); without, one claim that leaves broadcasts alone. One statement either way.
        asked = min(limit, room) if room > 0 else limit
        below = None if room > 0 else PRIORITY_BROADCAST
        async with self.workplace.gate.sessions() as session:  # a read first: most wake-ups find nothing new
            if not await outbox_rows.due_exists(session, now=clock.now(), waiting_too=waiting_too,
                                                priority_below=below):
                return 0
        async with self.workplace.open(ahead=True) as work:
            rows = await outbox_rows.claim(work.session, now=clock.now(), lease=self.lease, limit=asked,
                                           waiting_too=waiting_too, priority_below=below)
        for row in rows:
            self._held[row.id] = row
            task = asyncio.create_task(self._deliver_safely(row), name=f"outbox-{row.id}")
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._finished, broadcast=row.priority >= PRIORITY_BROADCAST))
        if rows and len(rows) == asked < limit and any(row.priority < PRIORITY_BROADCAST for row in rows):
            return -1
        return len(rows)

    def _finished(self, task: asyncio.Task[None], *, broadcast: bool = False) -> None:
        self._tasks.discard(task)
        if not broadcast or self._broadcast_room() >= max(1, self.max_in_flight_broadcast // 2):
            self._wakeup.set()  # the chat's next row is claimable now, or it is time to refill notices
        # A notice's row leaves no next row behind in its chat: looking for one after each would cost a read per
        # message at 29/s. Replies queued meanwhile wake the sender themselves (or the next poll finds them).

    def _broadcast_room(self) -> int:
        return self.max_in_flight_broadcast - sum(1 for row in self._held.values()
                                                  if row.priority >= PRIORITY_BROADCAST)

    # -- recording outcomes: committed as soon as they are known ----------------------------------------

    async def _recorder(self) -> None:
        failures = 0
        while True:
            if not self._pending:
                self._record_wakeup.clear()
                await self._record_wakeup.wait()
                continue
            try:
                await self._record()
                failures = 0
            except Exception:
                raise_if_cancelled()
                failures += 1
                delay = min(2.0, 0.05 * 2**failures)
                log.exception("could not record %d outbox outcome(s); retrying in %.2fs", len(self._pending), delay)
                await asyncio.sleep(delay)

    async def _record(self) -> None:
        """One transaction for every outcome decided so far (the sent ones in bulk)."""
        batch, self._pending = self._pending, []
        self._recording = True
        try:
            async with self.workplace.open(ahead=True) as work:
                session = work.session
                sent = [outcome.sent for outcome in batch if outcome.sent is not None]
                for row, conversation_id, telegram_id in await outbox_rows.mark_many_sent(session, sent,
                                                                                           clock.now()):
                    work.publish(_status_event(row, row.message_id, conversation_id, "sent", telegram_id))
                for outcome in batch:
                    if outcome.write is not None:
                        work.publish(*await outcome.write(session))
        except BaseException:
            self._pending[:0] = batch  # keep them for the next round: never forget a delivery
            raise
        finally:
            self._recording = False
        for outcome in batch:
            if not outcome.committed.done():
                outcome.committed.set_result(None)

    def _commit(self, outcome: _Outcome) -> asyncio.Future[None]:
        self._pending.append(outcome)
        self._record_wakeup.set()
        return outcome.committed

    # -- one row ----------------------------------------------------------------------------------

    async def _deliver_safely(self, row: ClaimedRow) -> None:
        ticket = _Ticket(self._unconfirmed)
        try:
            outcome = await self._deliver(row, ticket)
            await self._commit(outcome)
        except asyncio.CancelledError:
            raise  # shutting down: the lease brings the row back
        except Exception:  # a bug in the bookkeeping: the lease returns the row
            log.exception("could not handle the outcome of outbox row %s", row.id)
        finally:
            ticket.give_back()
            self._held.pop(row.id, None)

    async def _deliver(self, row: ClaimedRow, ticket: _Ticket) -> _Outcome:
        try:
            message_id = await self._send(row, ticket)
        except TelegramRetryAfter as exc:
            return self._on_rate_limited(row, exc.retry_after)
        except TelegramForbiddenError as exc:
            return self._on_blocked(row, exc.message)
        except (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge, TelegramMigrateToChat,
                PermanentFailure, ValueError, TypeError, KeyError) as exc:
            return self._on_failed(row, f"{exc.__class__.__name__}: {exc}")
        except asyncio.CancelledError:
            raise  # shutting down: the lease brings the row back
        except Exception as exc:  # network, timeout, 5xx, 401/409 during a token change
            raise_if_cancelled()
            return self._on_transient(row, f"{exc.__class__.__name__}: {exc}")
        return self._on_sent(row, message_id)

    async def _send(self, row: ClaimedRow, ticket: _Ticket) -> int | None:
        payload = dict(row.payload)
        done = int(payload.pop(PROGRESS_KEY, 0) or 0)
        calls = render(reply_from_payload(payload), row.chat_id, self.media_dir)
        first_message_id: int | None = None
        last_message_id: int | None = None
        for index in range(done, len(calls)):
            call = calls[index]
            probe = await self.circuit.admit()  # waits while Telegram is failing, unless this is the probe
            try:
                # The chat's turn first (a wait of up to a second, holding nothing), then the place among the
                # unconfirmed, then Telegram's: a request that waits for a commit does not hold one of
                # Telegram's places meanwhile (each is held until a second after the answer).
                await self.limiter.chat_turn(row.chat_id)
                async with self.limiter.place(call.weight, ready=ticket.take):
                    message_id = await self._perform(call, probe)
            finally:
                if probe:
                    self.circuit.release(probe)
            first_message_id = message_id if first_message_id is None else first_message_id
            last_message_id = message_id
            if len(calls) > 1 and index < len(calls) - 1:
                # Remember progress so a retry does not repeat the parts already delivered.
                async with self.workplace.open(ahead=True) as work:
                    await outbox_rows.save_progress(work.session, row.id, {**payload, PROGRESS_KEY: index + 1})
                ticket.give_back()
        # The last call carries the buttons, so it is the one later edits must target.
        return last_message_id if calls[done:] else first_message_id

    async def _perform(self, call: Call, probe: int) -> int | None:
        try:
            result = await self._request(call.method, probe)
        except TelegramBadRequest as exc:
            text = exc.message.lower()
            if NOT_MODIFIED in text:
                return getattr(call.method, "message_id", None)
            if call.fallback is not None and any(marker in text for marker in EDIT_GONE):
                log.info("message to edit is gone or of another kind; sending it as a new message")
                result = await self._request(call.fallback, 0)
            else:
                raise
        return _message_id(result, call)

    async def _request(self, method: TelegramMethod[Any], probe: int) -> Any:
        """One Bot API request; what came back (or did not) is reported to the circuit."""
        request = next(self._request_ids)
        self._requests[request] = self._monotonic()
        if probe:
            self.stats["probes"] += 1
        try:
            result = await self.bot(method, request_timeout=self.request_timeout)
        except asyncio.CancelledError:
            raise
        except TelegramEntityTooLarge:  # a 413 answer (aiogram files it under network errors)
            self._telegram_answered()
            raise
        except ANSWERED_BUT_FAILING:
            self._last_answer_at = self._monotonic()
            self.circuit.failed(silent=False, probe=probe)
            raise
        except TelegramNetworkError:
            raise_if_cancelled()
            self.circuit.failed(silent=True, probe=probe)
            raise
        except TelegramAPIError:  # 4xx, 429: Telegram works, it refused this one request
            self._telegram_answered()
            raise
        except Exception:  # no answer at all: connection, timeout
            raise_if_cancelled()
            self.circuit.failed(silent=True, probe=probe)
            raise
        finally:
            del self._requests[request]
        self._telegram_answered()
        return result

    def _telegram_answered(self) -> None:
        self._last_answer_at = self._monotonic()
        if self.circuit.answered():
            self.stats["resumed"] += 1
            log.warning("Telegram answers again; every delayed message is due now")
            self._commit(_Outcome(write=_release_waiting))
            self._wakeup.set()

    # -- outages ----------------------------------------------------------------------------------

    def _check_stalled(self) -> None:
        """A request unanswered for stall_seconds while nothing at all was answered since it started: Telegram
        (or the way to it) hangs. Hold the other deliveries and probe instead of sending more into the void."""
        if not self._requests or (self.circuit.open and self.circuit.silent):
            return
        oldest = min(self._requests.values())
        waited = self._monotonic() - oldest
        if waited >= self.stall_seconds and self._last_answer_at < oldest:
            log.warning("Telegram has not answered for %.1fs; holding deliveries and probing", waited)
            self.circuit.stalled()

    def _probe_connectivity(self) -> None:
        """After no answer at all: getMe (no side effects) every probe interval, several may be out at once so
        one hung connection does not hide the recovery; rows probe once Telegram answers."""
        if not self.circuit.wants_connectivity() or len(self._connectivity) >= self._max_connectivity:
            return
        self.circuit.probe_started()
        self.stats["probes"] += 1
        task = asyncio.create_task(self._check_connectivity(), name="outbox-probe")
        self._connectivity.add(task)
        task.add_done_callback(self._connectivity.discard)

    async def _check_connectivity(self) -> None:
        try:
            await self.bot(GetMe(), request_timeout=self.probe_timeout)  # type: ignore[arg-type]  # aiohttp takes float
        except asyncio.CancelledError:
            raise
        except TelegramEntityTooLarge:
            pass  # an answer
        except TelegramNetworkError:
            self.circuit.unreachable()
            return
        except (TelegramAPIError, ClientDecodeError):
            pass  # an answer, even an error, means Telegram is reachable again; a row will tell the rest
        except Exception:
            self.circuit.unreachable()
            return
        self._last_answer_at = self._monotonic()
        self.circuit.reachable()
        self._wakeup.set()

    # -- outcomes: decided now, committed at once ---------------------------------------------------

    def _on_sent(self, row: ClaimedRow, telegram_message_id: int | None) -> _Outcome:
        self.stats["sent"] += 1
        return _Outcome(sent=(row, telegram_message_id))

    def _on_failed(self, row: ClaimedRow, error: str) -> _Outcome:
        log.error("outbox row %s to chat %s failed permanently: %s", row.id, row.chat_id, error)
        self.stats["failed"] += 1

        async def record(session: AsyncSession) -> list[Event]:
            conversation_id = await outbox_rows.mark_failed(session, row, error=error)
            return [_status_event(row, row.message_id, conversation_id, "failed", None, error)]

        return _Outcome(write=record)

    def _on_blocked(self, row: ClaimedRow, description: str) -> _Outcome:
        log.warning("chat %s blocked the bot (%s); its pending messages are failed", row.chat_id, description)
        error = f"forbidden: {description}"
        self.stats["failed"] += 1

        async def record(session: AsyncSession) -> list[Event]:
            await mark_unreachable(session, row.chat_id)
            conversation_id = await outbox_rows.mark_failed(session, row, error=error)
            others = await outbox_rows.fail_chat(session, row.chat_id, error=error)
            self.stats["failed"] += len(others)
            return [_status_event(row, row.message_id, conversation_id, "failed", None, error)] + [
                _status_event(row, message_id, conversation, "failed", None, error)
                for message_id, conversation in others
            ]

        return _Outcome(write=record)

    def _on_rate_limited(self, row: ClaimedRow, retry_after: float) -> _Outcome:
        now = self._monotonic()
        self.stats["rate_limited"] += 1
        self.limiter.pause_chat(row.chat_id, retry_after)
        self._recent_429.append((now, row.chat_id))
        while self._recent_429 and self._recent_429[0][0] < now - 1.0:
            self._recent_429.popleft()
        if len({chat for _, chat in self._recent_429}) >= 2:  # several chats refused at once: a flood wait
            self.limiter.pause_all(retry_after)
        log.warning("429 for chat %s: waiting %ss", row.chat_id, retry_after)
        at = clock.now() + timedelta(seconds=retry_after)

        async def record(session: AsyncSession) -> list[Event]:
            await outbox_rows.release(session, row.id, at=at, error=f"{RATE_LIMITED} retry after {retry_after}",
                                      count_attempt=False)
            return []

        return _Outcome(write=record)

    def _on_transient(self, row: ClaimedRow, error: str) -> _Outcome:
        delay = self.backoff(row.attempts)
        self.stats["retried"] += 1
        log.warning("outbox row %s to chat %s: %s; retry %d in %.2fs", row.id, row.chat_id, error[:300],
                    row.attempts + 1, delay)
        at = clock.now() + timedelta(seconds=delay)

        async def record(session: AsyncSession) -> list[Event]:
            await outbox_rows.release(session, row.id, at=at, error=error, count_attempt=True)
            return []

        return _Outcome(write=record)


async def _release_waiting(session: AsyncSession) -> list[Event]:
    count = await outbox_rows.release_waiting(session, clock.now())
    if count:
        log.info("%d delayed outbox row(s) are due now", count)
    return []


def _status_event(row: ClaimedRow, message_id: int | None, conversation_id: int | None, status: str,
                  telegram_message_id: int | None, error: str | None = None) -> Event:
    return message_status(outbox_id=row.id, message_id=message_id, conversation_id=conversation_id,
                          customer_id=row.customer_id, chat_id=row.chat_id, status=status,
                          telegram_message_id=telegram_message_id, error=error)


def _message_id(result: Any, call: Call) -> int | None:
    if isinstance(result, TgMessage):
        return result.message_id
    if isinstance(result, list) and result and isinstance(result[0], TgMessage):
        return result[0].message_id
    return getattr(call.method, "message_id", None)  # an edit answered True
