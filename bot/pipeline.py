"""Inbound pipeline shared by polling and webhook: store every update, then handle it once, in chat order.

accept(raw updates) -> stored in inbound_updates (duplicates dropped by primary key) -> submitted to the
per-chat serializer -> Dispatcher.feed_update inside one transaction (bot.unit_of_work). Callers advance the
polling offset (or answer the webhook) only after accept() returned, so an update Telegram considers
delivered is always in the database first.

One bad update never stops intake:
- U+0000 and lone surrogates (which PostgreSQL or the driver refuse) become U+FFFD before anything is stored,
  so such an update is stored and handled like any other;
- an update that is malformed, carries any number beyond 64 bits (ids: Telegram's never are), or that the
  database refuses after a few tries
  goes to the dead letters (raw JSON as text, the error) and accept() returns: the offset moves past it;
- an update whose handling keeps failing is tried `max_attempts` times (the count is stored), then
  dead-lettered, and its chat goes on.

The database being away is not the update's fault: a failure is an outage when its kind says so or the
database does not answer a probe (bot.db_health). Then the worker waits until the database answers and
tries again without counting an attempt and without giving up its place in the chat's order (later updates
of the chat wait behind it, other chats go on once the database is back); accept() raises, and the poller
retries the batch when the database answers (a webhook answers 500 and Telegram retries).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db_health import DatabaseHealth
from bot.ordering import ChatSerializer, Outcome
from bot.sender import raise_if_cancelled
from storage import clock, updates
from storage.gate import WriteGate
from storage.updates import StoredUpdate, fits_int64

log = logging.getLogger(__name__)
RECOVERY_PAGE = 1000
T = TypeVar("T")


@dataclass
class Inbound:
    """An update on its way through a chat's queue."""

    update_id: int
    chat_key: int
    payload: dict[str, Any]
    attempts: int = 0  # failed handling attempts (stored), outages not counted
    outages: int = 0  # consecutive waits for the database
    blocked: int = 0  # consecutive tries refused because an earlier update of the chat was still waiting
    error: str = ""
    update: Update | None = None  # validated at intake, handed to the first try (validating twice cost ~1 ms)


@dataclass
class _Entry:
    """One raw update of a batch, prepared for storing: a row to store and/or a dead letter to write."""

    raw: Any
    update_id: int | None = None
    chat_id: int | None = None
    row: dict[str, Any] | None = None
    item: Inbound | None = None
    dead: tuple[str, str] | None = None  # (stage, error)


@dataclass
class IntakeStats:
    handled: int = 0
    dead_letters: int = 0
    failed_attempts: int = 0
    outage_waits: int = 0
    blocked: int = 0  # tries that found an earlier update of the chat still waiting (several instances)
    first_handled_after_outage: list[float] = field(default_factory=list)  # loop time, for measurements


def describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {str(exc)[:1500]}"


class InboundPipeline:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        gate: WriteGate,
        *,
        concurrency: int = 16,
        max_pending: int = 2000,
        max_attempts: int = 3,
        store_attempts: int = 2,
        retry_base: float = 0.5,
        retry_cap: float = 5.0,
        probe_backoff_base: float = 0.05,
        probe_backoff_cap: float = 1.0,
    ) -> None:
        """`max_attempts`: handling attempts of one update before it is dead-lettered; `store_attempts`: the
        same for storing it; `retry_*`: backoff between those attempts; `probe_backoff_*`: how often the
        database is probed while it is away (the cap bounds how long intake takes to notice it is back)."""
        self.bot = bot
        self.dispatcher = dispatcher
        self.gate = gate
        self.max_attempts = max(1, max_attempts)
        self.store_attempts = max(1, store_attempts)
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.health = DatabaseHealth(self._probe, backoff_base=probe_backoff_base, backoff_cap=probe_backoff_cap)
        self.serializer: ChatSerializer[Inbound] = ChatSerializer(
            self._attempt, concurrency=concurrency, max_pending=max_pending
        )
        self.stats = IntakeStats()
        self._queued: set[int] = set()  # update_ids in a chat queue of this process
        self._background: set[asyncio.Task[None]] = set()
        self._outage_seen = False

    # -- start-up ---------------------------------------------------------------------------------------

    async def recover(self) -> int:
        """Queue updates stored before a crash (or an outage) but never handled, oldest first, so every chat
        resumes in order; call before fetching new ones. Waits for the database if it is away."""
        total = 0
        after: int | None = None
        while True:
            page = await self.with_database(partial(updates.unfinished, after=after, limit=RECOVERY_PAGE))
            for stored in page:
                self._submit(self._inbound(stored))
            total += len(page)
            if len(page) < RECOVERY_PAGE:
                break
            after = page[-1].update_id
        if total:
            log.info("recovering %d stored but unhandled updates", total)
        return total

    async def sweep(self, older_than: timedelta) -> int:
        """Queue stored updates still waiting after `older_than` that no queue of this process holds: those of
        an instance that died. Run by one instance at a time (the channel's recovery leader); handling them
        twice is impossible anyway (the claim), and the claim's chat-order rule keeps their chats in order."""
        found = await self.with_database(partial(updates.unfinished, limit=RECOVERY_PAGE,
                                                 received_before=clock.now() - older_than))
        queued = sum(1 for stored in found if self._submit(self._inbound(stored)))
        if queued:
            log.info("recovering %d stored update(s) left unhandled (an instance stopped?)", queued)
        return queued

    async def with_database(self, read: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a read, waiting through database outages."""
        outages = 0
        while True:
            try:
                async with self.gate.sessions() as session:
                    return await read(session)
            except Exception as exc:
                raise_if_cancelled()
                if not await self.health.is_outage(exc):
                    raise
                outages += 1
                await self.after_outage(outages)

    # -- intake -----------------------------------------------------------------------------------------

    async def accept(self, raw_updates: list[Any]) -> list[int]:
        """Store a batch durably and queue the new ones for handling; returns the ids queued now.

        Whatever cannot be stored is dead-lettered, so this returns unless the database is away: then it
        raises, and the caller tries the same batch again (duplicates are recognised).
        """
        entries = self._prepare(raw_updates)
        if not entries:
            return []
        try:
            async with self.gate.transaction() as session:
                queue = await self._store(session, entries)
        except Exception as exc:
            raise_if_cancelled()
            if await self.health.is_outage(exc):
                raise
            log.warning("a batch of %d update(s) could not be stored (%s); storing them one by one",
                        len(entries), describe(exc))
            return await self._accept_one_by_one(entries)
        return self._submit_entries(entries, queue)

    def _prepare(self, raw_updates: list[Any]) -> list[_Entry]:
        entries: list[_Entry] = []
        seen: set[int] = set()
        for raw in raw_updates:
            try:
                entry = self._prepare_one(raw)
            except Exception as exc:  # a pathological payload (say, nesting deep enough to recurse out)
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                entry = _Entry(raw, update_id if isinstance(update_id, int) else None,
                               dead=("invalid", f"cannot read the update: {describe(exc)}"))
            if entry.update_id is not None:
                if entry.update_id in seen:
                    continue
                seen.add(entry.update_id)
            entries.append(entry)
        return entries

    def _prepare_one(self, raw: Any) -> _Entry:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("an update without a usable update_id goes to the dead letters: %.200r", raw)
            return _Entry(raw, dead=("invalid", "no usable update_id"))
        if not fits_int64(update_id):
            log.warning("update %s: its id is beyond 64 bits; it goes to the dead letters", update_id)
            return _Entry(raw, update_id, dead=("store", "update_id beyond 64 bits"))
        clean = updates.scrub(raw)
        key = updates.chat_key(clean)
        if not fits_int64(key):
            log.warning("update %s: its chat id is beyond 64 bits; it goes to the dead letters", update_id)
            return _Entry(raw, update_id, dead=("store", f"chat or user id beyond 64 bits: {key}"))
        where = updates.beyond_64_bits(clean)
        if where is not None:  # a sender's or a message's id, say: it would only overflow a column later
            log.warning("update %s: %.200s is beyond 64 bits; it goes to the dead letters", update_id, where)
            return _Entry(raw, update_id, key or None, dead=("store", f"a number beyond 64 bits at {where[:200]}"))
        update, error = self._validated(clean)
        if error:
            log.warning("malformed update %s stored as failed: %s", update_id, error)
            return _Entry(raw, update_id, key or None, dead=("invalid", error), row={
                "update_id": update_id, "chat_id": key or None, "payload": clean, "status": "failed",
                "error": error})
        row = {"update_id": update_id, "chat_id": key or None, "payload": clean, "status": "received"}
        return _Entry(raw, update_id, key or None, row=row, item=Inbound(update_id, key, clean, update=update))

    def _validated(self, raw: dict[str, Any]) -> tuple[Update | None, str | None]:
        try:
            return Update.model_validate(raw, context={"bot": self.bot}), None
        except ValidationError as exc:
            first = exc.errors()[0]
            return None, f"invalid update: {first.get('loc')} {first.get('msg')}"

    async def _store(self, session: AsyncSession, entries: list[_Entry]) -> set[int]:
        """Store rows and dead letters in the session's transaction; returns the update_ids to queue: new
        ones, and redelivered ones still waiting that no queue of this process holds."""
        rows = [entry.row for entry in entries if entry.row is not None]
        queue = await updates.store(session, rows)
        for entry in entries:
            if entry.dead is not None:
                stage, error = entry.dead
                await updates.dead_letter(session, raw=entry.raw, error=error, stage=stage,
                                          update_id=entry.update_id, chat_id=entry.chat_id)
        redelivered = [entry.item.update_id for entry in entries
                       if entry.item is not None and entry.item.update_id not in queue]
        if redelivered:
            queue |= await updates.still_received(session, redelivered)
        return queue

    def _submit_entries(self, entries: list[_Entry], queue: set[int]) -> list[int]:
        submitted: list[int] = []
        for entry in entries:  # Telegram's order within the batch
            if entry.dead is not None:
                self.stats.dead_letters += 1
                self._answer_abandoned_press(entry.raw)
            if entry.item is not None and entry.item.update_id in queue and self._submit(entry.item):
                submitted.append(entry.item.update_id)
        skipped = sum(1 for entry in entries if entry.item is not None) - len(submitted)
        if skipped:
            log.info("ignored %d duplicate update(s)", skipped)
        return sorted(submitted)

    async def _accept_one_by_one(self, entries: list[_Entry]) -> list[int]:
        """A batch the database refused: store each update alone; one that still fails after a few tries goes
        to the dead letters. An outage midway raises (the caller retries; stored ones are duplicates then)."""
        submitted: list[int] = []
        for entry in entries:
            error = ""
            for attempt in range(1, self.store_attempts + 1):
                try:
                    async with self.gate.transaction() as session:
                        queue = await self._store(session, [entry])
                except Exception as exc:
                    raise_if_cancelled()
                    if await self.health.is_outage(exc):
                        raise
                    error = f"the database refused it: {describe(exc)}"
                    log.warning("update %s could not be stored (attempt %d of %d): %s", entry.update_id,
                                attempt, self.store_attempts, error)
                    if attempt < self.store_attempts:
                        await asyncio.sleep(self._retry_delay(attempt))
                    continue
                submitted += self._submit_entries([entry], queue)
                break
            else:
                await self._dead_letter_unstorable(entry, error)
        return sorted(submitted)

    async def _dead_letter_unstorable(self, entry: _Entry, error: str) -> None:
        try:
            async with self.gate.transaction() as session:
                await updates.dead_letter(session, raw=entry.raw, error=error, stage="store",
                                          attempts=self.store_attempts, update_id=entry.update_id,
                                          chat_id=entry.chat_id)
        except Exception as exc:
            raise_if_cancelled()
            if await self.health.is_outage(exc):
                raise
            # Never stop intake for one update: the log keeps it when even a dead letter cannot.
            log.error("update %s can be neither stored nor dead-lettered (%s); dropped: %.4000s",
                      entry.update_id, describe(exc), updates.raw_text(entry.raw))
            return
        self.stats.dead_letters += 1
        log.error("update %s could not be stored; it is in the dead letters: %s", entry.update_id, error)
        self._answer_abandoned_press(entry.raw)

    def _answer_abandoned_press(self, raw: Any) -> None:
        """A button press intake gave up on is still answered, so the customer's spinner stops."""
        query = raw.get("callback_query") if isinstance(raw, dict) else None
        query_id = query.get("id") if isinstance(query, dict) else None
        if not isinstance(query_id, str) or not query_id:
            return

        async def answer() -> None:
            try:
                await self.bot.answer_callback_query(updates.scrub(query_id)[:128], request_timeout=10)
            except Exception as exc:
                log.warning("answerCallbackQuery for a dead-lettered press failed: %s", exc)

        task = asyncio.create_task(answer(), name="answer-dead-letter")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _inbound(self, stored: StoredUpdate) -> Inbound:
        return Inbound(stored.update_id, stored.chat_key, stored.payload, stored.attempts)

    def _submit(self, item: Inbound) -> bool:
        if item.update_id in self._queued:
            return False
        self._queued.add(item.update_id)
        self.serializer.submit(item.chat_key, item)
        return True

    # -- handling ---------------------------------------------------------------------------------------

    async def _attempt(self, item: Inbound) -> Outcome:
        """One try at an update, in its chat's turn; returns what to wait for before the next try, if any."""
        try:
            retry = await self._try(item)
        except Exception:  # a bug here must not leave the update queued forever
            log.exception("update %s: unexpected error in the pipeline", item.update_id)
            retry = None
        if retry is None:
            self._queued.discard(item.update_id)
        return retry

    async def _try(self, item: Inbound) -> Outcome:
        if item.attempts >= self.max_attempts:
            return await self._give_up(item)
        try:
            update, item.update = item.update, None  # a retry validates the stored payload afresh
            if update is None:
                update = Update.model_validate(item.payload, context={"bot": self.bot})
            await self.dispatcher.feed_update(self.bot, update)
        except updates.EarlierPending as pending:
            return await self._earlier_first(item, pending.chat_id)
        except Exception as exc:
            raise_if_cancelled()
            if await self.health.is_outage(exc):
                return self._wait_for_database(item, exc)
            item.attempts += 1
            item.error = describe(exc)
            self.stats.failed_attempts += 1
            log.error("update %s failed (attempt %d of %d)", item.update_id, item.attempts, self.max_attempts,
                      exc_info=exc)
            if item.attempts >= self.max_attempts:
                return await self._give_up(item)
            try:
                async with self.gate.transaction() as session:
                    await updates.record_attempt(session, item.update_id, item.error)
            except Exception as record_exc:
                raise_if_cancelled()
                if await self.health.is_outage(record_exc):
                    return self._wait_for_database(item, record_exc)
                log.exception("could not record the failed attempt of update %s", item.update_id)
            return asyncio.sleep(self._retry_delay(item.attempts))
        item.blocked = 0
        self.stats.handled += 1
        if self._outage_seen:
            self._outage_seen = False
            self.stats.first_handled_after_outage.append(asyncio.get_running_loop().time())
        return None

    async def _earlier_first(self, item: Inbound, chat_id: int | None) -> Outcome:
        """An earlier update of the item's chat is still waiting (in another instance's queue, or left behind by
        one that died): handle the chat's earlier updates here, oldest first, then try the item again. If one of
        them has to wait (a retry's backoff, an outage), the item waits with it and keeps its place."""
        self.stats.blocked += 1
        item.blocked += 1
        try:
            async with self.gate.sessions() as session:
                earlier = await updates.waiting_before(session, item.update_id, chat_id)
        except Exception as exc:
            raise_if_cancelled()
            if await self.health.is_outage(exc):
                return self._wait_for_database(item, exc)
            raise
        for stored in earlier:
            outcome = await self._try(self._inbound(stored))
            if outcome is not None:
                return outcome
        # Another instance may be committing the earlier one right now: try again at once, then back off.
        return asyncio.sleep(0 if item.blocked == 1 else self._retry_delay(min(item.blocked - 1, 4)) / 10)

    async def _give_up(self, item: Inbound) -> Outcome:
        try:
            async with self.gate.transaction() as session:
                await updates.dead_letter(session, raw=item.payload, error=item.error or "gave up",
                                          stage="handle", attempts=item.attempts, update_id=item.update_id,
                                          chat_id=item.chat_key or None)
        except Exception as exc:
            raise_if_cancelled()
            if await self.health.is_outage(exc):
                return self._wait_for_database(item, exc)
            log.exception("could not dead-letter update %s; it is tried again after a restart", item.update_id)
            return None
        self.stats.dead_letters += 1
        log.error("update %s failed %d times; it is in the dead letters and chat %s goes on", item.update_id,
                  item.attempts, item.chat_key)
        return None

    def _wait_for_database(self, item: Inbound, exc: BaseException) -> Awaitable[None]:
        item.outages += 1
        self.stats.outage_waits += 1
        if item.outages == 1:  # the health watcher logs the outage itself once
            log.info("update %s waits for the database: %s", item.update_id, describe(exc)[:300])
        return self.after_outage(item.outages)

    async def after_outage(self, outages: int) -> None:
        """Wait until the database answers; after repeated outage errors on one piece of work (the database
        answers a probe, yet this keeps failing as if away, say a lock), back off a little more each time."""
        self._outage_seen = True
        await self.health.wait_until_up()
        if outages > 1:
            await asyncio.sleep(self._retry_delay(outages - 1))

    def _retry_delay(self, attempt: int) -> float:
        return min(self.retry_cap, self.retry_base * 2 ** min(attempt - 1, 30)) * random.uniform(0.5, 1.0)  # noqa: S311

    async def _probe(self) -> None:
        async with self.gate.sessions() as session:
            await session.execute(text("SELECT 1"))

    # -- lifecycle --------------------------------------------------------------------------------------

    async def wait_for_room(self) -> None:
        await self.serializer.wait_for_room()

    async def join(self) -> None:
        await self.serializer.join()

    async def close(self) -> None:
        await self.serializer.close()
        await self.health.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._queued.clear()
