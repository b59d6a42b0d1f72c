"""Projects, units and owners; repair and complaint tickets with their history, SLAs and warranties."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage import clock
from storage.models.base import Base, BigId, JSONType, Timestamps


class Project(Timestamps, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    city: Mapped[str | None] = mapped_column(String(64))
    district_name: Mapped[str | None] = mapped_column(String(64))


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))


class Unit(Timestamps, Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "unit_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    unit_no: Mapped[str] = mapped_column(String(32))
    owner_name: Mapped[str] = mapped_column(String(128), default="")
    owner_phone: Mapped[str] = mapped_column(String(32), index=True)  # normalised digits, see services.phones
    handover_date: Mapped[date | None]


class CustomerUnit(Base):
    __tablename__ = "customer_units"
    __table_args__ = (UniqueConstraint("customer_id", "unit_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    verified_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class WarrantyPeriod(Base):
    """Editable by admins; defaults from the PRC Construction Quality Regulations, art. 40."""

    __tablename__ = "warranty_periods"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    months: Mapped[int | None]  # None = design life of the building (always in warranty)
    note: Mapped[str | None] = mapped_column(String(256))


class SlaPolicy(Base):
    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("kind", "category", "priority"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))  # None = any
    priority: Mapped[str | None] = mapped_column(String(16))  # None = any
    first_response_minutes: Mapped[int]
    resolve_minutes: Mapped[int]
    business_hours: Mapped[bool] = mapped_column(default=True)  # False: counted around the clock (emergencies)


class Holiday(Base):
    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    # Some Chinese weekends are working days (调休); those are stored with is_workday=True.
    is_workday: Mapped[bool] = mapped_column(default=False)


class TicketCounter(Base):
    """Per kind and year sequence for readable numbers (R-2026-000123, C-2026-000045)."""

    __tablename__ = "ticket_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Ticket(Timestamps, Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, default="")
    access_window: Mapped[str | None] = mapped_column(String(256))  # when someone may enter
    warranty_status: Mapped[str] = mapped_column(String(12), default="unknown")  # in | out | unknown
    quote_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    quote_accepted_at: Mapped[datetime | None]
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    team: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    needs_verification: Mapped[bool] = mapped_column(default=False)
    first_response_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    sla_paused_at: Mapped[datetime | None]
    first_response_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    # The staff member who filed it on the customer's behalf (console); None when the customer did (the bot).
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Complaint handling (storage.services.tickets: verify, set_responsibility): was it substantiated, by whom,
    # who is responsible (storage.vocabulary.RESPONSIBLE_PARTIES), the root cause (ROOT_CAUSES) and what changes.
    verification: Mapped[str | None] = mapped_column(String(16))  # verified | unsubstantiated
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    verified_at: Mapped[datetime | None]
    responsible_party: Mapped[str | None] = mapped_column(String(32))
    root_cause: Mapped[str | None] = mapped_column(String(32))
    improvement_action: Mapped[str | None] = mapped_column(Text)


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    kind: Mapped[str] = mapped_column(String(24))  # created | status | assigned | note | quote | attachment | info
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    telegram_file_id: Mapped[str | None] = mapped_column(String(256))
    path: Mapped[str | None] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16), default="photo")
    uploaded_by_customer: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
