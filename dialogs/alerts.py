"""New-listing and price-drop alerts to customers whose active need the listing matches.

`await tick(workplace)` runs every minute (homedesk's scheduler) and scans the last LOOKBACK in one unit of
work (`scan(work, since)`). A scan looks at active listings created, or whose price
dropped, since `since`, ranks them against every active need of customers who did not opt out, and tells each
customer about a matching listing at most once (a Recommendation row with channel 'alert', unique per
customer and listing) and at most DAILY_LIMIT times a local day. Customers a person is talking to are left
alone (the bot is silent then), and so are customers who blocked the bot. Every alert has a button to stop them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import card_text, photo_urls
from dialogs.engine import queue_replies
from dialogs.flows.recommend import Details, StopAlerts
from dialogs.flows.search_tokens import recommend_button
from dialogs.flows.viewing_tokens import OpenListing, booking_button
from dialogs.i18n import t
from dialogs.replies import Photo, Reply, Say
from matching.criteria import Criteria
from matching.districts import load_district_index
from matching.rank import find_matches
from matching.reasons import format_price
from storage import clock
from storage.models import PRIORITY_BROADCAST, Listing
from storage.repositories import conversations
from storage.repositories import listings as listings_repo
from storage.repositories import needs as needs_repo
from storage.unit_of_work import Work, Workplace
from storage.vocabulary import ConversationMode

DAILY_LIMIT = 3
RANK_DEPTH = 200  # how deep in a need's ranking a changed listing may sit and still count as a match
# tick() looks this far back on every run: alerts are once per listing anyway, so overlapping windows are
# harmless and a restart or a missed run loses nothing.
LOOKBACK = timedelta(hours=24)


async def changed_listings(session: AsyncSession, since: datetime) -> list[Listing]:
    """Active listings created after `since`, or whose price dropped after it (scans cover (since, now])."""
    price_dropped = and_(Listing.previous_price.is_not(None), Listing.previous_price > Listing.price,
                         Listing.updated_at > since)
    rows = await session.scalars(
        select(Listing).where(Listing.status == "active", or_(Listing.created_at > since, price_dropped))
        .order_by(Listing.id)
    )
    return list(rows.all())


def alert_replies(lang: str, listing: Listing, reasons: list[str], names_zh: dict[str, str],
                  since: datetime) -> list[Reply]:
    if listing.created_at > since or listing.previous_price is None:
        heading = t(lang, "🔔 A new home matches your search:")
    else:
        heading = t(lang, "🔔 Price drop: {old} → {new}", old=format_price(float(listing.previous_price),
                                                                          listing.deal_type, lang),
                    new=format_price(float(listing.price), listing.deal_type, lang))
    text = card_text(lang, listing, reasons=reasons, names_zh=names_zh, heading=heading)
    rows = [
        [recommend_button(t(lang, "Details"), Details(listing.id)),
         booking_button(t(lang, "Book a viewing"), OpenListing(listing.id))],
        [recommend_button(t(lang, "Stop these alerts"), StopAlerts())],
    ]
    photos = photo_urls(listing)
    return [Photo(photos[0], caption=text, choices=rows)] if photos else [Say(text, choices=rows)]


async def scan(work: Work, since: datetime, *, now: datetime | None = None) -> int:
    """Queue the alerts due for listings changed since `since`, in this unit of work; returns how many."""
    session = work.session
    now = now or clock.now()
    tz = work.settings.tz  # "a day" for the daily limit is the company's local day
    day_start = datetime.combine(now.astimezone(tz).date(), time(0), tz)
    sent = 0
    changed = await changed_listings(session, since)
    if not changed:
        return 0
    index = await load_district_index(session)
    names_zh = {name: index.name_zh(name) for name in index.names}
    for need, customer in await needs_repo.active_with_customers(session):
        quota = DAILY_LIMIT - await listings_repo.count_shown_since(session, customer.id, "alert", day_start)
        if quota <= 0:
            continue
        told = await listings_repo.shown_ids(session, customer.id, "alert")
        candidates = [listing for listing in changed if listing.deal_type == need.deal_type and listing.id not in told]
        if not candidates:
            continue
        conversation = await conversations.current(session, customer)
        if conversation.mode != ConversationMode.BOT:
            continue
        matches = {m.listing_id: m for m in await find_matches(
            session, Criteria.from_json(need.criteria), top=RANK_DEPTH, customer_id=customer.id, index=index)}
        rejected = await listings_repo.rejected_ids(session, customer.id)
        for listing in candidates:
            match = matches.get(listing.id)
            if quota <= 0 or match is None or listing.id in rejected:
                continue
            if not await listings_repo.record_shown(session, customer.id, listing.id, match.score, "alert"):
                continue  # told before: once per listing
            reasons = match.reasons_zh if customer.language == "zh" else match.reasons
            await queue_replies(work, conversation, customer,
                                alert_replies(customer.language, listing, reasons, names_zh, since),
                                priority=PRIORITY_BROADCAST)
            quota -= 1
            sent += 1
    return sent


async def tick(workplace: Workplace, *, now: datetime | None = None) -> int:
    """The periodic entry point: scan the last LOOKBACK in one unit of work (call it every minute or so)."""
    now = now or clock.now()
    async with workplace.open() as work:
        return await scan(work, now - LOOKBACK, now=now)
