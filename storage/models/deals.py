"""Deals (signed sales and leases) and their milestone tracks: loan, move-in, area settlement, property certificate.

A track is a small state machine whose steps are a table (`storage.services.milestones.TRACKS`, with per-step
overrides in `milestone_steps`); each change is a `MilestoneEvent`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage import clock
from storage.models.base import Base, BigId, JSONType, Timestamps


class Deal(Timestamps, Base):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_no: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="sale")  # sale | lease
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | cancelled
    # The chat customer, once they proved the phone on the contract (storage.services.deals.link_customer).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    customer_name: Mapped[str] = mapped_column(String(128), default="")
    customer_phone: Mapped[str] = mapped_column(String(32), index=True)  # normalised digits
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    viewing_id: Mapped[int | None] = mapped_column(ForeignKey("viewings.id", ondelete="SET NULL"))
    signed_on: Mapped[date]
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payment_method: Mapped[str] = mapped_column(String(16))  # full | mortgage | provident_fund | combined
    handover_date: Mapped[date | None]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    contract_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # m², as signed
    measured_area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # m², as surveyed
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # price per m² in the contract
    loan_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    bank: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)


class Milestone(Base):
    """One track of one deal: where it stands, since when, when the current step is due, who is responsible."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("deal_id", "track"), Index("ix_milestones_due", "finished_at", "due_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    track: Mapped[str] = mapped_column(String(16))  # loan | move_in | settlement | certificate
    status: Mapped[str] = mapped_column(String(24), default="pending")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    entered_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())  # the current step since
    due_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Track data: the loan's document checklist, the move-in fees, slot, inspection and handover, the settlement.
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class MilestoneEvent(Base):
    __tablename__ = "milestone_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    kind: Mapped[str] = mapped_column(String(16), default="status")  # status | document | assigned | note
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class MilestoneStep(Base):
    """An admin's override of one default step (storage.services.milestones.TRACKS): its expected duration and
    whether entering it tells the customer."""

    __tablename__ = "milestone_steps"

    track: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    days: Mapped[int | None]
    notify: Mapped[bool] = mapped_column(default=True)


class DealAttachment(Base):
    """A document or photo on a deal: sent by the customer in the chat, or uploaded by staff (inspection)."""

    __tablename__ = "deal_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="SET NULL"))
    document: Mapped[str | None] = mapped_column(String(48))  # a checklist code (id_card, income_proof...)
    telegram_file_id: Mapped[str | None] = mapped_column(String(256))
    path: Mapped[str | None] = mapped_column(String(512))
    uploaded_by_customer: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class ProjectFee(Base):
    """A fee due at move-in, per project (property fee, maintenance fund...): fixed, or per m² of the home."""

    __tablename__ = "project_fees"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(64), default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    per_m2: Mapped[bool] = mapped_column(default=False)


class InspectionSlot(Base):
    """A handover-inspection appointment owners book in the chat; `booked` counts up to `capacity` atomically."""

    __tablename__ = "inspection_slots"
    __table_args__ = (Index("ix_inspection_slots_project", "project_id", "starts_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    capacity: Mapped[int] = mapped_column(default=1)
    booked: Mapped[int] = mapped_column(default=0)
