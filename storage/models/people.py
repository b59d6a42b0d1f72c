"""Customers (a Telegram user or a web chat visitor) and staff (console users)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, JSONType, Timestamps


class Customer(Timestamps, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Where the customer talks to us (storage.vocabulary.Channel); each channel has its own identity column.
    channel: Mapped[str] = mapped_column(String(8), default="telegram")
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # Telegram's chat; None on the web
    web_visitor_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the signed visitor identity
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    # True once the customer chose a language explicitly; Telegram's language no longer overrides it.
    language_chosen: Mapped[bool] = mapped_column(default=False)
    # True once the language was taken from what the customer writes (storage.text.written_language): their
    # app's language no longer overrides it, an explicit choice still does.
    language_from_text: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A reply keyboard (share my phone number / cancel) is showing in the chat; the dialog engine removes it
    # with the next message that can carry the removal.
    reply_keyboard: Mapped[bool] = mapped_column(default=False, server_default=false())
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    # Entered by staff (storage.services.customer_records): female | male, or None when not known.
    gender: Mapped[str | None] = mapped_column(String(8))
    # How staff met a customer they entered themselves (storage.vocabulary.CUSTOMER_SOURCES: phone | walk_in);
    # None for customers who came through a chat channel.
    source: Mapped[str | None] = mapped_column(String(12))
    phone_verified_at: Mapped[datetime | None]
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    notify_new_listings: Mapped[bool] = mapped_column(default=True)
    unreachable_at: Mapped[datetime | None]  # set when Telegram answers 403 (blocked the bot)
    last_seen_at: Mapped[datetime | None]
    # Linked to a signed deal (storage.services.deals.link_customer): the bot's menu offers "My home purchase".
    has_deal: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def display_name(self) -> str:
        fallback = f"Web visitor #{self.id}" if self.channel == "web" else f"#{self.id}"
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.username or fallback)


class Staff(Timestamps, Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # admin | agent | service
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_team_lead: Mapped[bool] = mapped_column(default=False)
    team: Mapped[str | None] = mapped_column(String(64))  # e.g. sales, repair, complaints, property
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)  # repair categories, languages
    service_areas: Mapped[list[str]] = mapped_column(JSONType, default=list)  # project or district names
    level: Mapped[int] = mapped_column(default=1)
    max_concurrent: Mapped[int] = mapped_column(default=5)  # concurrent human conversations
    # {"mon": [["09:00", "18:00"]], ...} in the staff member's (or the company's) time zone.
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    travel_buffer_minutes: Mapped[int] = mapped_column(default=30)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_link_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_link_expires_at: Mapped[datetime | None]
    online_until: Mapped[datetime | None]  # console heartbeat; offline agents are skipped by auto-assignment
    # The agent's own Available / Away switch: an open console tab alone does not make an agent assignable.
    available: Mapped[bool] = mapped_column(default=True, server_default=true())
    last_login_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]


class StaffTimeOff(Base):
    __tablename__ = "staff_time_off"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(String(200))


class StaffSession(Base):
    """One signed-in browser. The console's cookie carries a random token; this row holds its SHA-256, so ending
    the row ends every copy of that cookie at once (sign-out, password change, deactivation, sign out everywhere).
    Rows end `SESSION_LIFETIME` after sign-in (storage.services.staff_accounts) and are swept at each sign-in."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of the cookie's token
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginAddress(Base):
    """Failed sign-in attempts from one browser address in its current window (the per-address throttle).

    Counted with one atomic upsert per attempt, so concurrent attempts and several console processes all count."""

    __tablename__ = "login_addresses"

    ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    failures: Mapped[int] = mapped_column(default=0)
