"""The inbound_updates table: store before handling, de-duplicate by update_id, claim, finish, recover; and
the dead letters of intake (updates that could not be stored or handled after a few tries).

A channel stores every update it receives here before handling it (see bot.pipeline), so nothing Telegram
considers delivered is lost in a crash.
"""

from __future__ import annotations

import json
import re
import reprlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.dml import UpdateBase

from storage import clock
from storage.db import dialect_insert, run_core
from storage.models import DeadLetter, InboundUpdate

# Update fields that carry a chat, in the order Telegram documents them.
_MESSAGE_FIELDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message",
                   "edited_business_message")
_USER_FIELDS = ("inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query", "poll_answer",
                "my_chat_member", "chat_member", "chat_join_request")


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ERROR_LIMIT = 2000
# What no text column takes everywhere: PostgreSQL refuses U+0000 in text and JSONB, and a lone surrogate
# (valid in JSON's \u escapes, not in UTF-8) cannot even be encoded for the driver.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    chat_key: int  # updates with the same key are handled strictly in order
    payload: dict[str, Any]
    attempts: int = 0  # failed handling attempts so far


def fits_int64(value: Any) -> bool:
    return isinstance(value, int) and INT64_MIN <= value <= INT64_MAX


def beyond_64_bits(value: Any, where: str = "update") -> str | None:
    """Where the first integer no 64-bit column takes sits in a JSON value (`update.message.from.id`), or None.

    Telegram's numbers all fit (its ids have at most 52 significant bits), so such an update was not sent by
    Telegram; and any of them (a sender's id, a message id) may end up in an integer column.
    """
    if isinstance(value, int):
        return None if fits_int64(value) else where
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = beyond_64_bits(item, f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]")
        if found is not None:
            return found
    return None


def scrub(value: Any) -> Any:
    """The value with U+0000 and lone surrogates replaced by U+FFFD in every string (keys too).

    One UTF-16 unit for one, so Telegram's entity offsets still point at the same characters; the update stays
    handleable and storable on every database. Returns the same object when nothing needed replacing.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        items = [(scrub(key), scrub(item)) for key, item in value.items()]
        if all(new_key is key and new_item is item
               for (new_key, new_item), (key, item) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list):
        scrubbed = [scrub(item) for item in value]
        return value if all(a is b for a, b in zip(scrubbed, value, strict=True)) else scrubbed
    return value


def raw_text(raw: Any) -> str:
    """An update as JSON text that every database stores (JSON escapes NUL; lone surrogates as well). Never
    fails: what JSON cannot write (nesting too deep, say) is kept as a bounded repr."""
    try:
        text = json.dumps(raw, ensure_ascii=False, default=repr)
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    except Exception:  # RecursionError, ValueError...
        return scrub(reprlib.repr(raw))
    try:
        return json.dumps(raw, ensure_ascii=True, default=repr)
    except Exception:
        return scrub(reprlib.repr(raw))


def storable_text(text: str, limit: int = ERROR_LIMIT) -> str:
    return scrub(text[:limit])


def chat_key(raw: dict[str, Any]) -> int:
    """The chat an update belongs to (or its user, or 0): the unit of ordering."""
    for name in _MESSAGE_FIELDS:
        chat = _dig(raw, name, "chat", "id")
        if isinstance(chat, int):
            return chat
    query = raw.get("callback_query")
    if isinstance(query, dict):
        chat = _dig(query, "message", "chat", "id")
        if isinstance(chat, int):
            return chat
        user = _dig(query, "from", "id")
        if isinstance(user, int):
            return user
    for name in _USER_FIELDS:
        value = raw.get(name)
        if isinstance(value, dict):
            for path in (("chat", "id"), ("from", "id"), ("user", "id")):
                found = _dig(value, *path)
                if isinstance(found, int):
                    return found
    return 0


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


async def store(session: AsyncSession, rows: list[dict[str, Any]]) -> set[int]:
    """Insert updates (keys: update_id, chat_id, payload, status, error); returns the ids that were new.

    An update_id already stored is a duplicate (Telegram redelivered it, or a webhook retried): ignored.
    """
    if not rows:
        return set()
    now = clock.now()
    values = [{"received_at": now, "error": None, **row} for row in rows]
    for value in values:
        if value.get("status") == "failed":
            value["processed_at"] = now
        else:
            value.setdefault("processed_at", None)
    statement = dialect_insert(session)(InboundUpdate).on_conflict_do_nothing(index_elements=["update_id"]).returning(
        InboundUpdate.update_id
    )
    result = await session.execute(statement, values)
    return set(result.scalars().all())


class EarlierPending(Exception):  # noqa: N818 - a signal, not an error
    """The update's chat has an earlier stored update still waiting: that one goes first (chat order holds
    across instances too). `update_id` is the one that could not be claimed."""

    def __init__(self, update_id: int, chat_id: int | None) -> None:
        super().__init__(f"update {update_id}: an earlier update of chat {chat_id} is still waiting")
        self.update_id = update_id
        self.chat_id = chat_id


def _claim_statement() -> UpdateBase:
    earlier = aliased(InboundUpdate)
    waiting_before = (
        select(earlier.update_id)
        .where(earlier.chat_id == InboundUpdate.chat_id, earlier.status == "received",
               earlier.update_id < InboundUpdate.update_id)
        .correlate(InboundUpdate)
        .exists()
    )
    return (
        update(InboundUpdate)
        .where(InboundUpdate.update_id == bindparam("claim_update_id"), InboundUpdate.status == "received",
               ~waiting_before)
        .values(status="done", processed_at=bindparam("claim_at"))
        .execution_options(synchronize_session=False)
    )


# Built once: building it per update (an alias and a correlated EXISTS) cost more than running it (issue 17).
_CLAIM = _claim_statement()


async def claim(session: AsyncSession, update_id: int) -> bool:
    """Mark a received update done inside the handling transaction; False if it was already handled.

    Being the first statement of the transaction it also serialises two workers racing for one update. An
    update is claimed only while no earlier update of its chat is still 'received': with several instances
    (webhook behind a load balancer, recovery by another instance) a chat's updates may sit in different
    processes, and this is what keeps them in order. While an earlier one is being handled elsewhere its row
    still reads 'received' to us until that transaction commits, so two updates of one chat never run side by
    side. Raises EarlierPending when that is why the update could not be claimed (see bot.pipeline).
    """
    if (await run_core(session, _CLAIM, {"claim_update_id": update_id, "claim_at": clock.now()})).rowcount > 0:
        return True
    row = (await session.execute(select(InboundUpdate.status, InboundUpdate.chat_id)
                                 .where(InboundUpdate.update_id == update_id))).first()
    if row is not None and row.status == "received":
        raise EarlierPending(update_id, row.chat_id)
    return False


async def waiting_before(session: AsyncSession, update_id: int, chat_id: int | None,
                         limit: int = 100) -> list[StoredUpdate]:
    """The chat's stored updates still waiting that came before this one, oldest first."""
    if chat_id is None:
        return []
    rows = await session.execute(
        select(InboundUpdate.update_id, InboundUpdate.payload, InboundUpdate.attempts)
        .where(InboundUpdate.chat_id == chat_id, InboundUpdate.status == "received",
               InboundUpdate.update_id < update_id)
        .order_by(InboundUpdate.update_id).limit(limit))
    return [StoredUpdate(found, chat_key(payload), payload, attempts or 0) for found, payload, attempts in rows]


async def still_received(session: AsyncSession, update_ids: list[int]) -> set[int]:
    """Which of these stored updates are still waiting to be handled."""
    if not update_ids:
        return set()
    rows = await session.scalars(select(InboundUpdate.update_id).where(
        InboundUpdate.update_id.in_(update_ids), InboundUpdate.status == "received"))
    return set(rows)


async def record_attempt(session: AsyncSession, update_id: int, error: str) -> None:
    """One more failed handling attempt of a received update (its own transaction: handling rolled back)."""
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.status == "received")
        .values(attempts=InboundUpdate.attempts + 1, error=storable_text(error))
        .execution_options(synchronize_session=False)
    )


async def mark_failed(session: AsyncSession, update_id: int, error: str) -> None:
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.status == "received")
        .values(status="failed", error=storable_text(error), processed_at=clock.now())
        .execution_options(synchronize_session=False)
    )


async def dead_letter(session: AsyncSession, *, raw: Any, error: str, stage: str, attempts: int = 1,
                      update_id: int | None = None, chat_id: int | None = None) -> None:
    """Keep an update intake gave up on, for staff to see; a stored one is marked failed as well.

    Ids beyond 64 bits are left out of the integer columns (they stay in `raw`). One dead letter per
    update_id: a redelivered poison update does not add another.
    """
    update_id = update_id if fits_int64(update_id) else None
    error = storable_text(error)
    if update_id is not None:
        await mark_failed(session, update_id, error)
    await session.execute(
        dialect_insert(session)(DeadLetter).on_conflict_do_nothing(index_elements=["update_id"]),
        [{"update_id": update_id, "chat_id": chat_id if fits_int64(chat_id) else None, "stage": stage,
          "raw": raw if isinstance(raw, str) else raw_text(raw), "error": error, "attempts": attempts,
          "created_at": clock.now()}],
    )


async def dead_letters(session: AsyncSession, *, limit: int = 100, before: int | None = None) -> list[DeadLetter]:
    """Newest first; `before` pages on by id."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if before is not None:
        query = query.where(DeadLetter.id < before)
    return list(await session.scalars(query))


async def count_dead_letters(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


async def unfinished(session: AsyncSession, *, after: int | None = None, limit: int = 1000,
                     received_before: datetime | None = None) -> list[StoredUpdate]:
    """Stored but never handled (the process died, or the database went away, before handling), oldest first;
    page on with `after` = the last update_id of the previous page. `received_before`: only those stored before
    then (a periodic sweep leaves fresh ones to the instance that is handling them)."""
    query = (
        select(InboundUpdate.update_id, InboundUpdate.payload, InboundUpdate.attempts)
        .where(InboundUpdate.status == "received")
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(InboundUpdate.update_id > after)
    if received_before is not None:
        query = query.where(InboundUpdate.received_at < received_before)
    rows = await session.execute(query)
    return [StoredUpdate(update_id, chat_key(payload), payload, attempts or 0)
            for update_id, payload, attempts in rows]
