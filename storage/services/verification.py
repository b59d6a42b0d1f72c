"""Listings kept true: last verified (when and by whom), stale listings flagged and their agents reminded, withheld
from recommendations after a grace period, and customers' reports that pause a listing until it is verified.

The rules, in one place:
- a listing is fresh for `verify_rent_days` / `verify_sale_days` (settings) after it was verified, or, never
  verified, after it was added; then it is stale: flagged in the console and its agent reminded once;
- `verify_grace_days` later it is withheld (reason "stale"): matching reads it as not active, so neither the
  cards nor the alerts recommend it;
- a customer's report ("already rented/sold", "price is different", "photos don't match") is a task for the
  listing's agent (everyone on the chat team when it has none); `listing_reports_to_pause` open reports withhold
  it (reason "reports");
- verifying it (one click, console) makes it fresh again, resolves its open reports and lifts the withholding.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Listing, ListingReport, Staff
from storage.repositories import listing_checks
from storage.services.notices import notify_staff, notify_team
from storage.settings import Settings
from storage.unit_of_work import Work
from storage.vocabulary import LISTING_REPORT_REASONS

CHECKS_LINK = "/listings/checks"


class VerificationError(ValueError):
    """A verification the rules refuse (the message is for staff)."""


async def may_verify(session: AsyncSession, listing: Listing, staff_id: int) -> bool:
    """The listing's agent, or an admin (from Telegram: the staff member whose linked chat pressed)."""
    person = await session.get(Staff, staff_id)
    return person is not None and person.is_active and (person.role == "admin" or listing.agent_id == staff_id)


def last_checked(listing: Listing) -> datetime:
    return listing.verified_at or listing.created_at


def stale_since(listing: Listing, settings: Settings) -> datetime:
    return last_checked(listing) + timedelta(days=settings.verify_days(listing.deal_type))


def is_stale(listing: Listing, now: datetime, settings: Settings) -> bool:
    return listing.status == "active" and now >= stale_since(listing, settings)


def days_since_verified(listing: Listing, now: datetime) -> int | None:
    """Whole days since it was last verified (None when it never was), for the cards."""
    if listing.verified_at is None:
        return None
    return max(0, (now - listing.verified_at).days)


async def verify(work: Work, listing: Listing, staff_id: int) -> int:
    """Mark the listing verified now by this staff member; returns how many open reports it resolved."""
    if listing.status != "active":
        raise VerificationError("only an active listing can be verified")
    now = clock.now()
    listing.verified_at = now
    listing.verified_by_id = staff_id
    listing.verify_reminded_at = None
    listing.withheld_at = None
    listing.withheld_reason = None
    reports = (await listing_checks.open_reports(work.session, [listing.id])).get(listing.id, [])
    for report in reports:
        report.resolved_at = now
        report.resolved_by_id = staff_id
    await work.session.flush()
    await work.audit("listing_verified", target_type="listing", target_id=listing.id,
                     details={"ref_code": listing.ref_code, "reports_resolved": len(reports), "by": staff_id})
    return len(reports)


async def report(work: Work, listing: Listing, customer_id: int, reason: str) -> bool:
    """A customer's report from a card; returns False when this customer's open report only changed its reason.
    The listing's agent is told (a task on their checks page); repeated reports withhold the listing."""
    if reason not in LISTING_REPORT_REASONS:
        raise VerificationError(f"unknown report reason {reason!r}")
    session = work.session
    existing = await listing_checks.open_report_of(session, listing.id, customer_id)
    if existing is not None:
        existing.reason = reason
        await session.flush()
        return False
    session.add(ListingReport(listing_id=listing.id, customer_id=customer_id, reason=reason))
    await session.flush()
    count = await listing_checks.count_open_reports(session, listing.id)
    paused = count >= work.settings.listing_reports_to_pause and listing.withheld_at is None
    if paused:
        listing.withheld_at = clock.now()
        listing.withheld_reason = "reports"
    params: dict[str, Any] = {"ref": listing.ref_code, "problem": reason, "count": count, "listing_id": listing.id}
    kind = "listing_paused" if paused else "listing_report"
    if listing.agent_id is not None:
        await notify_staff(work, [listing.agent_id], kind, link=CHECKS_LINK, **params)
    else:
        await notify_team(work, kind, link=CHECKS_LINK, **params)
    return True


async def tick(work: Work, now: datetime | None = None) -> tuple[int, int]:
    """Remind the agents of listings that became stale (once each) and withhold those past the grace period.
    Returns (reminded, withheld)."""
    now = now or clock.now()
    session, settings = work.session, work.settings
    reminded = 0
    for listing in await listing_checks.stale_to_remind(session, now, settings):
        listing.verify_reminded_at = now
        days = (now - last_checked(listing)).days
        params: dict[str, Any] = {"ref": listing.ref_code, "days": days, "grace": settings.verify_grace_days,
                                  "listing_id": listing.id}
        if listing.agent_id is not None:
            await notify_staff(work, [listing.agent_id], "listing_stale", link=CHECKS_LINK, **params)
        else:
            await notify_team(work, "listing_stale", link=CHECKS_LINK, **params)
        reminded += 1
    withheld = 0
    for listing in await listing_checks.stale_to_withhold(session, now, settings):
        listing.withheld_at = now
        listing.withheld_reason = "stale"
        withheld += 1
    await session.flush()
    return reminded, withheld
