"""Listings as customers see them: look-ups, saved listings, 'not for me' feedback, what was shown to whom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Listing, ListingFeedback, Recommendation, SavedListing, Viewing

FEEDBACK_REASONS = ("too_far", "too_expensive", "too_small", "layout", "other")


async def get(session: AsyncSession, listing_id: int) -> Listing | None:
    return await session.get(Listing, listing_id)


async def by_ref(session: AsyncSession, ref_code: str) -> Listing | None:
    return await session.scalar(select(Listing).where(func.upper(Listing.ref_code) == ref_code.strip().upper()))


async def many(session: AsyncSession, ids: Sequence[int]) -> dict[int, Listing]:
    if not ids:
        return {}
    rows = await session.scalars(select(Listing).where(Listing.id.in_(list(ids))))
    return {listing.id: listing for listing in rows}


async def is_saved(session: AsyncSession, customer_id: int, listing_id: int) -> bool:
    found = await session.scalar(
        select(SavedListing.id).where(SavedListing.customer_id == customer_id, SavedListing.listing_id == listing_id)
    )
    return found is not None


async def toggle_saved(session: AsyncSession, customer_id: int, listing_id: int) -> bool:
    """Save the listing, or un-save it when it was saved; returns whether it is saved now."""
    row = await session.scalar(
        select(SavedListing).where(SavedListing.customer_id == customer_id, SavedListing.listing_id == listing_id)
    )
    if row is not None:
        await session.delete(row)
        await session.flush()
        return False
    try:
        async with session.begin_nested():
            session.add(SavedListing(customer_id=customer_id, listing_id=listing_id))
    except IntegrityError:  # saved by a concurrent press
        pass
    return True


async def saved(session: AsyncSession, customer_id: int) -> Sequence[Listing]:
    return (
        await session.scalars(
            select(Listing)
            .join(SavedListing, SavedListing.listing_id == Listing.id)
            .where(SavedListing.customer_id == customer_id)
            .order_by(SavedListing.created_at.desc())
        )
    ).all()


async def reject(session: AsyncSession, customer_id: int, listing_id: int, reason: str) -> None:
    """'Not for me' with a reason (one per customer and listing; a second answer replaces the first)."""
    reason = reason if reason in FEEDBACK_REASONS else "other"
    row = await session.scalar(
        select(ListingFeedback).where(
            ListingFeedback.customer_id == customer_id, ListingFeedback.listing_id == listing_id
        )
    )
    if row is None:
        session.add(ListingFeedback(customer_id=customer_id, listing_id=listing_id, reason=reason))
    else:
        row.reason = reason
        row.created_at = clock.now()
    await session.flush()


async def rejected_ids(session: AsyncSession, customer_id: int) -> set[int]:
    rows = await session.scalars(select(ListingFeedback.listing_id).where(ListingFeedback.customer_id == customer_id))
    return set(rows.all())


async def record_shown(
    session: AsyncSession, customer_id: int, listing_id: int, score: int, channel: str = "search"
) -> bool:
    """Remember that a listing was shown (once per customer, listing and channel); True when it is new."""
    exists = await session.scalar(
        select(Recommendation.id).where(
            Recommendation.customer_id == customer_id,
            Recommendation.listing_id == listing_id,
            Recommendation.channel == channel,
        )
    )
    if exists is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(Recommendation(customer_id=customer_id, listing_id=listing_id, score=int(score),
                                       channel=channel))
    except IntegrityError:  # a concurrent scan recorded it first
        return False
    return True


async def shown_ids(session: AsyncSession, customer_id: int, channel: str) -> set[int]:
    rows = await session.scalars(
        select(Recommendation.listing_id).where(Recommendation.customer_id == customer_id,
                                                Recommendation.channel == channel)
    )
    return set(rows.all())


async def seen_ids(session: AsyncSession, customer_id: int) -> set[int]:
    """Every listing the customer has seen: shown as a card or an alert, saved, turned down or booked to view."""
    shown = select(Recommendation.listing_id).where(Recommendation.customer_id == customer_id)
    saved_ = select(SavedListing.listing_id).where(SavedListing.customer_id == customer_id)
    rejected = select(ListingFeedback.listing_id).where(ListingFeedback.customer_id == customer_id)
    viewed = select(Viewing.listing_id).where(Viewing.customer_id == customer_id)
    rows = await session.scalars(union(shown, saved_, rejected, viewed))
    return set(rows.all())


async def count_shown_since(session: AsyncSession, customer_id: int, channel: str, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count(Recommendation.id)).where(
                Recommendation.customer_id == customer_id,
                Recommendation.channel == channel,
                Recommendation.created_at >= since,
            )
        )
        or 0
    )


async def changed_since(session: AsyncSession, since: datetime) -> Sequence[Listing]:
    """Active listings added, or whose price dropped, since `since` (for alerts)."""
    return (
        await session.scalars(
            select(Listing)
            .where(Listing.status == "active", Listing.updated_at >= since)
            .order_by(Listing.id)
        )
    ).all()
