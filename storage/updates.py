"""The inbound_updates table: store before handling, de-duplicate by update_id, claim, finish, recover.

A channel stores every update it receives here before handling it (see bot.pipeline), so nothing Telegram
considers delivered is lost in a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import dialect_insert, rows_changed
from storage.models import InboundUpdate

# Update fields that carry a chat, in the order Telegram documents them.
_MESSAGE_FIELDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message",
                   "edited_business_message")
_USER_FIELDS = ("inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query", "poll_answer",
                "my_chat_member", "chat_member", "chat_join_request")


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    chat_key: int  # updates with the same key are handled strictly in order
    payload: dict[str, Any]


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


async def claim(session: AsyncSession, update_id: int) -> bool:
    """Mark a received update done inside the handling transaction; False if it was already handled.

    Being the first statement of the transaction it also serialises two workers racing for one update.
    """
    return await rows_changed(
        session, update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.status == "received")
        .values(status="done", processed_at=clock.now())
        .execution_options(synchronize_session=False)
    ) > 0


async def mark_failed(session: AsyncSession, update_id: int, error: str) -> None:
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.status == "received")
        .values(status="failed", error=error[:2000], processed_at=clock.now())
        .execution_options(synchronize_session=False)
    )


async def unfinished(session: AsyncSession, limit: int = 10_000) -> list[StoredUpdate]:
    """Stored but never handled (the process died between storing and handling), oldest first."""
    rows = await session.execute(
        select(InboundUpdate.update_id, InboundUpdate.payload)
        .where(InboundUpdate.status == "received")
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    return [StoredUpdate(update_id, chat_key(payload), payload) for update_id, payload in rows]
