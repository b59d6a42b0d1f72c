"""Surveys, follow-ups, revisits, FAQ, canned replies and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage import clock
from storage.models.base import Base, BigId, JSONType


class Survey(Base):
    """A 1-5 rating plus comment, once per ticket, viewing or human conversation."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # ticket | viewing | conversation
    subject_id: Mapped[int]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    category: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    answered_at: Mapped[datetime | None]


class FollowUpTask(Base):
    """Opened for a lead when a survey scores 1-2, or a revisit answer asks for help."""

    __tablename__ = "follow_up_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | done
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    done_at: Mapped[datetime | None]


class Revisit(Base):
    __tablename__ = "revisits"
    __table_args__ = (UniqueConstraint("customer_id", "reason", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(24))  # after_repair | after_move_in | periodic
    subject_id: Mapped[int | None]  # ticket id, unit id, or period number
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | sent | answered | cancelled
    answer: Mapped[str | None] = mapped_column(String(24))  # all_good | need_help
    answered_at: Mapped[datetime | None]


class FaqEntry(Base):
    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Retired entries stay for the record (and can come back) but the bot no longer answers with them.
    retired_at: Mapped[datetime | None]


class CannedReply(Base):
    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(48))  # login, login_failed, takeover, transfer, status, export, ...
    target_type: Mapped[str | None] = mapped_column(String(24))
    target_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
