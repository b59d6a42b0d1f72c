"""Districts, listings and what customers want (needs), saved and rejected."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import clock
from storage.models.base import Base, BigId, JSONType, Timestamps


class District(Timestamps, Base):
    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("city", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))  # canonical English name
    name_zh: Mapped[str | None] = mapped_column(String(64))
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    neighbours: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Listing(Timestamps, Base):
    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_search", "status", "deal_type", "property_type", "price"),
        Index("ix_listings_district_price", "district_id", "price"),
        Index("ix_listings_bedrooms", "bedrooms"),
        Index("ix_listings_area", "area_m2"),
        # The matcher's in-memory snapshot asks "what changed since?" of other processes' writes.
        Index("ix_listings_updated", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref_code: Mapped[str] = mapped_column(String(32), unique=True)
    deal_type: Mapped[str] = mapped_column(String(8))
    property_type: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(64))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    district_name: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(256), default="")
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # per month for rent, total for sale
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    bedrooms: Mapped[int] = mapped_column(default=0)  # 0 = studio
    bathrooms: Mapped[int] = mapped_column(default=1)
    area_m2: Mapped[float] = mapped_column(default=0.0)
    floor: Mapped[int | None]
    floors_total: Mapped[int | None]
    available_from: Mapped[date | None]
    furnished: Mapped[bool | None]
    partly_furnished: Mapped[bool | None]  # with furnished true: only partly (CSV furnished=partial)
    decoration: Mapped[str | None] = mapped_column(String(8))  # one of vocabulary.DECORATIONS
    pets_allowed: Mapped[bool | None]
    features: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(12), default="active")
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    previous_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # set when the price drops
    # Listings kept true (storage.services.verification): who confirmed it last, and when; a listing never
    # verified counts from when it was added.
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    verify_reminded_at: Mapped[datetime | None]  # its agent was reminded of this staleness (once per period)
    # Kept out of recommendations until verified: "stale" (not verified past the grace period) or "reports"
    # (customers reported it repeatedly). matching.query reads a withheld listing as not active.
    withheld_at: Mapped[datetime | None]
    withheld_reason: Mapped[str | None] = mapped_column(String(12))

    photos: Mapped[list[ListingPhoto]] = relationship(
        back_populates="listing", order_by="ListingPhoto.position", cascade="all, delete-orphan", lazy="selectin"
    )


class ListingPhoto(Base):
    __tablename__ = "listing_photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    url: Mapped[str] = mapped_column(String(512))  # a URL, a local path under the media dir, or a Telegram file_id
    telegram_file_id: Mapped[str | None] = mapped_column(String(256))  # cached after the first upload

    listing: Mapped[Listing] = relationship(back_populates="photos")


class Need(Timestamps, Base):
    """What a customer wants; one per customer and deal type."""

    __tablename__ = "needs"
    __table_args__ = (UniqueConstraint("customer_id", "deal_type"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    deal_type: Mapped[str] = mapped_column(String(8))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # matching.Criteria.to_json()
    source_text: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    # When the customer last saved it: new-listing alerts are about homes that came after (dialogs.alerts).
    saved_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class ListingFeedback(Base):
    """'Not for me' with a reason; lowers similar listings for that customer."""

    __tablename__ = "listing_feedback"
    __table_args__ = (UniqueConstraint("customer_id", "listing_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))  # too_far | too_expensive | too_small | layout | other
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class SavedListing(Base):
    __tablename__ = "saved_listings"
    __table_args__ = (UniqueConstraint("customer_id", "listing_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class Recommendation(Base):
    """A listing shown to a customer (for the lead card and 'told at most once per listing')."""

    __tablename__ = "recommendations"
    __table_args__ = (UniqueConstraint("customer_id", "listing_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(String(16), default="search")  # search | alert
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), index=True)


class ListingReport(Base):
    """A customer's report from a listing card ("already rented", "price is different"...): a task for the
    listing's agent, open until the listing is verified."""

    __tablename__ = "listing_reports"
    __table_args__ = (Index("ix_listing_reports_open", "listing_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(16))  # storage.vocabulary.LISTING_REPORT_REASONS
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class OwnerLead(Timestamps, Base):
    """A seller or landlord who described their home in the chat and asked for a call or a listing, with the
    valuation they were shown (matching.valuation)."""

    __tablename__ = "owner_leads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    intent: Mapped[str] = mapped_column(String(8))  # sell | let
    request: Mapped[str] = mapped_column(String(8))  # call | list
    status: Mapped[str] = mapped_column(String(12), default="new", index=True)  # OWNER_LEAD_STATUSES
    phone: Mapped[str | None] = mapped_column(String(32))
    intake: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # what the owner told us
    valuation: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # matching.valuation.Valuation JSON
    source_text: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))  # the draft
