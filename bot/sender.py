"""The outbox sender: delivers queued replies within Telegram's limits, never losing or reordering them.

- Rows are claimed atomically (storage.outbox_rows.claim), one head row per chat, so several senders (threads,
  processes, machines) never send a row twice and a chat's messages keep their order.
- Limits are kept on our side (bot.limits.SendLimiter); a 429 pauses the chat (and everything, when several
  chats are refused at once: a flood wait) for retry_after and the row is retried without counting a failure.
- Network errors, timeouts and 5xx are retried with exponential backoff and jitter, capped, forever: an outage
  delays messages, never drops them. 400 fails the row for good; 403 marks the customer unreachable and
  fails every pending row of that chat.
- Crash recovery: a row stays 'sending' under a lease; when its sender dies the lease runs out and the row
  is pending again. At-least-once window: if the process dies after Telegram accepted a message but before
  the row was marked sent (a few milliseconds), that one message is sent again after the restart. Rows that
  were merely claimed, or whose request never reached Telegram, are sent exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import Message as TgMessage
from sqlalchemy.ext.asyncio import AsyncSession

from bot.limits import SendLimiter
from bot.render import Call, render
from dialogs.replies import reply_from_payload
from storage import clock, outbox_rows
from storage.events import Event, message_status
from storage.outbox_rows import ClaimedRow
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
EDIT_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")
NOT_MODIFIED = "message is not modified"


class PermanentFailure(Exception):
    """Telegram refused the content itself; retrying cannot help."""


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        workplace: Workplace,
        limiter: SendLimiter | None = None,
        *,
        lease_seconds: float = 60.0,
        poll_interval: float = 0.5,
        max_in_flight: int = 64,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
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
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.request_timeout = request_timeout
        self.recover_every = max(1.0, min(10.0, lease_seconds))
        self._monotonic = monotonic
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._recording = False
        self._outcomes: list[Callable[[AsyncSession], Awaitable[list[Event]]]] = []
        self._sent: list[tuple[ClaimedRow, int | None]] = []  # the common case, recorded in bulk
        self._recent_429: deque[tuple[float, int]] = deque()
        self.stats = {"sent": 0, "failed": 0, "retried": 0, "rate_limited": 0}

    def wake(self) -> None:
        """New rows were queued in this process: look now instead of at the next poll."""
        self._wakeup.set()

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: base * 2^attempts, capped, then scaled by 50-100%."""
        return min(self.backoff_cap, self.backoff_base * 2 ** min(attempts, 30)) * random.uniform(0.5, 1.0)  # noqa: S311

    async def run(self) -> None:
        await self.recover()
        last_recovery = self._monotonic()
        try:
            while True:
                self._wakeup.clear()
                free = self.max_in_flight - len(self._tasks)
                try:
                    claimed = await self._record_and_claim(free)
                except Exception:
                    raise_if_cancelled()
                    log.exception("outbox bookkeeping failed; retrying shortly")
                    claimed = 0
                    await asyncio.sleep(self.poll_interval)
                if self._monotonic() - last_recovery >= self.recover_every:
                    last_recovery = self._monotonic()
                    await self.recover()
                    self.limiter.forget_idle()
                if claimed and claimed == free and len(self._tasks) < self.max_in_flight:
                    continue  # there may be more ready rows right now
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)
                except TimeoutError:
                    raise_if_cancelled()
        finally:
            await self._cancel_in_flight()
            with contextlib.suppress(Exception):  # record what finished, so it is not sent again
                await self._record_and_claim(0)

    async def recover(self) -> int:
        try:
            async with self.workplace.open() as work:
                count = await outbox_rows.recover_expired(work.session, clock.now())
        except Exception:
            log.exception("outbox lease recovery failed")
            return 0
        if count:
            log.warning("returned %d outbox row(s) with an expired lease to pending", count)
        return count

    async def drain(self) -> None:
        """Wait until every claimed row is delivered and its outcome recorded (tests, shutdown)."""
        while self._tasks or self._outcomes or self._sent or self._recording:
            self._wakeup.set()
            await asyncio.sleep(0.01)

    async def _cancel_in_flight(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _record_and_claim(self, limit: int) -> int:
        """One transaction per round: record every finished delivery, then claim new rows.

        Batching the bookkeeping keeps SQLite's single write lock free for the dialogs most of the time.
        """
        outcomes, self._outcomes = self._outcomes, []
        sent, self._sent = self._sent, []
        rows: list[ClaimedRow] = []
        self._recording = True
        try:
            async with self.workplace.open() as work:
                session = work.session
                for row, conversation_id, telegram_id in await outbox_rows.mark_many_sent(session, sent,
                                                                                           clock.now()):
                    work.publish(_status_event(row, row.message_id, conversation_id, "sent", telegram_id))
                for outcome in outcomes:
                    work.publish(*await outcome(session))
                if limit > 0:
                    rows = await outbox_rows.claim(session, now=clock.now(), lease=self.lease, limit=limit)
        except Exception:
            self._outcomes[:0] = outcomes  # keep them for the next round: never forget a delivery
            self._sent[:0] = sent
            raise
        finally:
            self._recording = False
        for row in rows:
            task = asyncio.create_task(self._deliver_safely(row), name=f"outbox-{row.id}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return len(rows)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wakeup.set()  # record the outcome; the chat's next row is claimable now

    # -- one row ----------------------------------------------------------------------------------

    async def _deliver(self, row: ClaimedRow) -> None:
        try:
            message_id = await self._send(row)
        except TelegramRetryAfter as exc:
            self._on_rate_limited(row, exc.retry_after)
        except TelegramForbiddenError as exc:
            self._on_blocked(row, exc.message)
        except (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge, TelegramMigrateToChat,
                PermanentFailure, ValueError, TypeError, KeyError) as exc:
            self._on_failed(row, f"{exc.__class__.__name__}: {exc}")
        except asyncio.CancelledError:
            raise  # shutting down: the lease brings the row back
        except Exception as exc:  # network, timeout, 5xx, 401/409 during a token change
            self._on_transient(row, f"{exc.__class__.__name__}: {exc}")
        else:
            self._on_sent(row, message_id)

    async def _deliver_safely(self, row: ClaimedRow) -> None:
        try:
            await self._deliver(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in the bookkeeping: the lease returns the row
            log.exception("could not handle the outcome of outbox row %s", row.id)

    async def _send(self, row: ClaimedRow) -> int | None:
        payload = dict(row.payload)
        done = int(payload.pop(PROGRESS_KEY, 0) or 0)
        calls = render(reply_from_payload(payload), row.chat_id, self.media_dir)
        first_message_id: int | None = None
        last_message_id: int | None = None
        for index in range(done, len(calls)):
            call = calls[index]
            async with self.limiter.sending(row.chat_id, call.weight):
                message_id = await self._perform(call)
            first_message_id = message_id if first_message_id is None else first_message_id
            last_message_id = message_id
            if len(calls) > 1 and index < len(calls) - 1:
                # Remember progress so a retry does not repeat the parts already delivered.
                async with self.workplace.open() as work:
                    await outbox_rows.save_progress(work.session, row.id, {**payload, PROGRESS_KEY: index + 1})
        # The last call carries the buttons, so it is the one later edits must target.
        return last_message_id if calls[done:] else first_message_id

    async def _perform(self, call: Call) -> int | None:
        try:
            result = await self.bot(call.method, request_timeout=self.request_timeout)
        except TelegramBadRequest as exc:
            text = exc.message.lower()
            if NOT_MODIFIED in text:
                return getattr(call.method, "message_id", None)
            if call.fallback is not None and any(marker in text for marker in EDIT_GONE):
                log.info("message to edit is gone; sending it as a new message")
                result = await self.bot(call.fallback, request_timeout=self.request_timeout)
            else:
                raise
        return _message_id(result, call)

    # -- outcomes: decided now, written in the next bookkeeping round -------------------------------

    def _on_sent(self, row: ClaimedRow, telegram_message_id: int | None) -> None:
        self.stats["sent"] += 1
        self._sent.append((row, telegram_message_id))

    def _on_failed(self, row: ClaimedRow, error: str) -> None:
        log.error("outbox row %s to chat %s failed permanently: %s", row.id, row.chat_id, error)
        self.stats["failed"] += 1

        async def record(session: AsyncSession) -> list[Event]:
            conversation_id = await outbox_rows.mark_failed(session, row, error=error)
            return [_status_event(row, row.message_id, conversation_id, "failed", None, error)]

        self._outcomes.append(record)

    def _on_blocked(self, row: ClaimedRow, description: str) -> None:
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

        self._outcomes.append(record)

    def _on_rate_limited(self, row: ClaimedRow, retry_after: float) -> None:
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
            await outbox_rows.release(session, row.id, at=at, error=f"429: retry after {retry_after}",
                                      count_attempt=False)
            return []

        self._outcomes.append(record)

    def _on_transient(self, row: ClaimedRow, error: str) -> None:
        delay = self.backoff(row.attempts)
        self.stats["retried"] += 1
        log.warning("outbox row %s to chat %s: %s; retry %d in %.2fs", row.id, row.chat_id, error[:300],
                    row.attempts + 1, delay)
        at = clock.now() + timedelta(seconds=delay)

        async def record(session: AsyncSession) -> list[Event]:
            await outbox_rows.release(session, row.id, at=at, error=error, count_attempt=True)
            return []

        self._outcomes.append(record)


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
