"""The outbox (every outgoing message, for Telegram or the web chat), reminders and in-console notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage import clock
from storage.models.base import Base, BigId, JSONType

# Lower goes first: people waiting on an agent matter more than reminders, reminders more than broadcasts.
PRIORITY_AGENT = 0
PRIORITY_BOT = 1
PRIORITY_REMINDER = 2
PRIORITY_BROADCAST = 3


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at", "id"),
        Index("ix_outbox_chat", "chat_id", "status", "id"),
        Index("ix_outbox_customer", "customer_id", "id"),  # a web visitor's mailbox (what they missed)
        Index("ix_outbox_broadcast", "broadcast_id", "status"),  # a notice's recipients by status
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Which channel delivers the row: the Telegram sender claims only 'telegram' rows, the web chat only 'web'.
    channel: Mapped[str] = mapped_column(String(8), default="telegram")
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # Telegram's chat; None for web rows (by customer_id)
    method: Mapped[str] = mapped_column(String(32))  # sendMessage, sendPhoto, editMessageText, ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    priority: Mapped[int] = mapped_column(default=PRIORITY_BOT)
    # pending | sending | sent | failed | cancelled (a cancelled notice's rows that had not gone out)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # The notice to owners this row delivers (one row per recipient; storage/services/broadcasts.py).
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    # Optional key a caller sets so the same logical message is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    sent_at: Mapped[datetime | None]


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # viewing_24h, viewing_1h, sla_80, sla_breach, waiting, revisit...
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | claimed | sent | cancelled
    recipient_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    recipient_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject_type: Mapped[str | None] = mapped_column(String(16))  # viewing | ticket | conversation | revisit
    subject_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class StaffNotification(Base):
    """What staff see in the console's notification list (reminders are mirrored here)."""

    __tablename__ = "staff_notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    read_at: Mapped[datetime | None]
