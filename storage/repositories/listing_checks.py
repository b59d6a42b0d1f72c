"""Listings kept true, as queries: what is stale, what is withheld, the open customer reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Listing, ListingReport
from storage.settings import Settings

_LAST_CHECKED = func.coalesce(Listing.verified_at, Listing.created_at)


def _older_than(now: datetime, settings: Settings, extra_days: int = 0) -> ColumnElement[bool]:
    """Listings whose last verification (or, never verified, their creation) is older than their deal type's
    period plus `extra_days`."""
    return or_(*(and_(Listing.deal_type == deal, _LAST_CHECKED <= now - timedelta(days=settings.verify_days(deal)
                                                                                + extra_days))
                 for deal in ("rent", "sale")))


async def stale_to_remind(session: AsyncSession, now: datetime, settings: Settings) -> Sequence[Listing]:
    """Active listings past their verification period whose agent was not reminded of it yet."""
    return (await session.scalars(
        select(Listing).where(Listing.status == "active", Listing.verify_reminded_at.is_(None),
                              _older_than(now, settings)).order_by(Listing.id))).all()


async def stale_to_withhold(session: AsyncSession, now: datetime, settings: Settings) -> Sequence[Listing]:
    """Active listings still recommended although the grace period after their verification period is over."""
    return (await session.scalars(
        select(Listing).where(Listing.status == "active", Listing.withheld_at.is_(None),
                              _older_than(now, settings, settings.verify_grace_days)).order_by(Listing.id))).all()


async def needing_check(session: AsyncSession, now: datetime, settings: Settings,
                        agent_id: int | None = None, limit: int = 200) -> Sequence[Listing]:
    """Active listings that are stale, withheld or reported (an agent's own, or everyone's): the checks page."""
    reported = select(ListingReport.listing_id).where(ListingReport.resolved_at.is_(None))
    statement = select(Listing).where(Listing.status == "active",
                                      or_(_older_than(now, settings), Listing.withheld_at.is_not(None),
                                          Listing.id.in_(reported)))
    if agent_id is not None:
        statement = statement.where(Listing.agent_id == agent_id)
    return (await session.scalars(statement.order_by(_LAST_CHECKED, Listing.id).limit(limit))).all()


async def open_reports(session: AsyncSession, listing_ids: Sequence[int]) -> dict[int, list[ListingReport]]:
    if not listing_ids:
        return {}
    rows = await session.scalars(select(ListingReport).where(ListingReport.listing_id.in_(list(listing_ids)),
                                                             ListingReport.resolved_at.is_(None))
                                 .order_by(ListingReport.id))
    found: dict[int, list[ListingReport]] = {}
    for row in rows:
        found.setdefault(row.listing_id, []).append(row)
    return found


async def open_report_of(session: AsyncSession, listing_id: int, customer_id: int) -> ListingReport | None:
    return await session.scalar(select(ListingReport).where(
        ListingReport.listing_id == listing_id, ListingReport.customer_id == customer_id,
        ListingReport.resolved_at.is_(None)))


async def count_open_reports(session: AsyncSession, listing_id: int) -> int:
    return int(await session.scalar(select(func.count(ListingReport.id)).where(
        ListingReport.listing_id == listing_id, ListingReport.resolved_at.is_(None))) or 0)
