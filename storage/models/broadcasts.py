"""Notices to owners (broadcasts): written once in both languages, sent to an audience through the outbox.

Each recipient is one outbox row carrying the broadcast's id (`OutboxMessage.broadcast_id`), so the row's own
status is the recipient's status: queued (pending/sending), sent, failed, blocked (failed with a 'forbidden'
error: the customer blocked the bot, before the notice or on it) or cancelled. Rules: storage/services/broadcasts.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JSONType, Timestamps


class Broadcast(Timestamps, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_due", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    text_en: Mapped[str] = mapped_column(Text)
    text_zh: Mapped[str] = mapped_column(Text)
    # {filter key: [values]} (storage/services/audiences.py); every filter given narrows the owners.
    audience: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)  # goes out during quiet hours too (a water cut today)
    # scheduled -> queueing -> sending -> done; cancelled from any of the first three (storage.vocabulary)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    scheduled_at: Mapped[datetime]
    held_until: Mapped[datetime | None]  # quiet hours: waits for the morning (not urgent)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    estimated: Mapped[int] = mapped_column(default=0)  # the audience's size when it was scheduled
    recipients: Mapped[int] = mapped_column(default=0)  # outbox rows queued so far
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)  # the last customer id queued (resume point)
    started_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
