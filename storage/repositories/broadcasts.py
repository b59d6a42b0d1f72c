"""Reading notices to owners: the list, one notice's recipients and their statuses (from their outbox rows)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, Building, Customer, OutboxMessage, Project, Staff
from storage.vocabulary import RECIPIENT_STATUSES

# A recipient's status is their outbox row's: a failed row whose error starts 'forbidden' is a customer who
# blocked the bot (before the notice, storage.services.broadcasts.BLOCKED_ERROR, or on it, bot/sender.py).
RECIPIENT_STATUS: ColumnElement[str] = case(
    (OutboxMessage.status.in_(("pending", "sending")), "queued"),
    (OutboxMessage.status == "sent", "sent"),
    (OutboxMessage.status == "cancelled", "cancelled"),
    (OutboxMessage.error.startswith("forbidden"), "blocked"),
    else_="failed",
)


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def status_counts(session: AsyncSession, broadcast_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per notice: recipients per status (every status present, zero when none)."""
    ids = list(broadcast_ids)
    counts: dict[int, dict[str, int]] = {i: dict.fromkeys(RECIPIENT_STATUSES, 0) for i in ids}
    if not ids:
        return counts
    status = RECIPIENT_STATUS.label("status")
    rows = await session.execute(
        select(OutboxMessage.broadcast_id, status, func.count())
        .where(OutboxMessage.broadcast_id.in_(ids)).group_by(OutboxMessage.broadcast_id, status))
    for broadcast_id, name, number in rows.all():
        counts[int(broadcast_id)][str(name)] = int(number)
    return counts


@dataclass(frozen=True)
class Listed:
    broadcast: Broadcast
    author: str | None
    counts: dict[str, int]


async def latest(session: AsyncSession, *, status: str | None = None, limit: int = 100) -> list[Listed]:
    """The newest notices first (optionally of one status), with their authors and recipients' statuses."""
    query = (select(Broadcast, Staff.name).outerjoin(Staff, Staff.id == Broadcast.created_by)
             .order_by(Broadcast.id.desc()).limit(limit))
    if status:
        query = query.where(Broadcast.status == status)
    found = (await session.execute(query)).all()
    counts = await status_counts(session, [row[0].id for row in found])
    return [Listed(broadcast, author, counts[broadcast.id]) for broadcast, author in found]


@dataclass(frozen=True)
class Recipient:
    customer_id: int | None
    name: str
    language: str
    channel: str
    status: str
    error: str | None
    sent_at: datetime | None


async def recipients(session: AsyncSession, broadcast_id: int, *, status: str | None = None, offset: int = 0,
                     limit: int = 100) -> list[Recipient]:
    """One notice's recipients (by customer id), optionally of one status."""
    query = (select(OutboxMessage.customer_id, Customer.first_name, Customer.last_name, Customer.username,
                    Customer.language, OutboxMessage.channel, RECIPIENT_STATUS.label("status"),
                    OutboxMessage.error, OutboxMessage.sent_at)
             .outerjoin(Customer, Customer.id == OutboxMessage.customer_id)
             .where(OutboxMessage.broadcast_id == broadcast_id)
             .order_by(OutboxMessage.customer_id).offset(offset).limit(limit))
    if status in RECIPIENT_STATUSES:
        query = query.where(RECIPIENT_STATUS == status)
    found = []
    for row in (await session.execute(query)).all():
        name = " ".join(part for part in (row.first_name, row.last_name) if part) or row.username or \
            f"#{row.customer_id}"
        found.append(Recipient(row.customer_id, name, row.language or "en", row.channel, row.status, row.error,
                               row.sent_at))
    return found


async def audience_names(session: AsyncSession, audiences: Sequence[Mapping[str, Sequence[Any]]]
                         ) -> dict[str, dict[Any, str]]:
    """Names for the ids stored in audiences: {"project": {id: name}, "building": {id: "Project Building"}}."""
    project_ids = {value for audience in audiences for value in audience.get("project", [])}
    building_ids = {value for audience in audiences for value in audience.get("building", [])}
    names: dict[str, dict[Any, str]] = {"project": {}, "building": {}}
    if project_ids:
        rows = await session.execute(select(Project.id, Project.name).where(Project.id.in_(project_ids)))
        names["project"] = {row.id: row.name for row in rows.all()}
    if building_ids:
        rows = await session.execute(select(Building.id, Project.name, Building.name)
                                     .join(Project, Project.id == Building.project_id)
                                     .where(Building.id.in_(building_ids)))
        names["building"] = {row[0]: f"{row[1]} {row[2]}" for row in rows.all()}
    return names
