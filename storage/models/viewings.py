"""Viewings and the slot claims that make double booking impossible at the database level."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, Timestamps


class Viewing(Timestamps, Base):
    __tablename__ = "viewings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="booked")
    outcome: Mapped[str | None] = mapped_column(String(16))
    customer_interested: Mapped[bool | None]
    note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(16))  # customer | agent | staff
    # The staff member who booked it for the customer (console); None when the customer booked it (the bot).
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class ViewingSlot(Base):
    """One row per agent time block a booking occupies (viewing plus travel buffer).

    The primary key (agent_id, slot_start) is the double-booking guard: two customers pressing the
    same slot at the same moment both insert, the database lets exactly one commit.
    """

    __tablename__ = "viewing_slots"

    agent_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    viewing_id: Mapped[int] = mapped_column(ForeignKey("viewings.id", ondelete="CASCADE"), index=True)
