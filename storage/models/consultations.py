"""Consultations staff log from the customer card: a phone call, a walk-in, a WeChat or an e-mail exchange.

`Consultation` keeps the shape reports by topic and channel read (storage.vocabulary.CONSULTATION_TOPICS and
CONSULTATION_CHANNELS): who (customer_id), which staff member entered it (staff_id), how they came (channel),
what about (topic), what was said (summary), and the next step with its due time; done_at once the next step
is done. The reminder for the next step is a Reminder row (kind "consultation_due", subject "consultation").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage import clock
from storage.models.base import Base, BigId


class Consultation(Base):
    __tablename__ = "consultations"
    __table_args__ = (Index("ix_consultations_customer", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)  # who entered it
    channel: Mapped[str] = mapped_column(String(16), index=True)  # phone | walk_in | wechat | email
    topic: Mapped[str] = mapped_column(String(16), index=True)  # buying | renting | after_sales | complaint | other
    summary: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_due_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), index=True)
    done_at: Mapped[datetime | None]
