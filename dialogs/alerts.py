"""New-listing and price-drop alerts to customers whose active need the listing matches.

`await tick(workplace)` runs every minute (homedesk's scheduler) and scans the last LOOKBACK in one unit of
work (`scan(work, since)`); the look-back only makes a restart or a missed run lose nothing. What fits a customer:
- news since they saved the search (`Need.saved_at`): a home listed, or a price dropped, after that moment; what
  was on the market before is what their matches already showed them;
- exactly what their matches would show (dialogs.flows.recommend.recommended: the same ranking and hard filters,
  among the cards they can page through), in a district they named, told with the card's own reasons and its
  ⚠️ lines (over the budget cap, say), never a home they have seen: shown as a card or an alert, saved, turned
  down or booked to view;
- at a good moment: not while a person owns the conversation (the bot is silent then), and not while the customer
  is in the middle of a flow (booking, an intake...) and active in the last FLOW_PAUSE; the alert waits for the
  next tick.
Each customer is told about a listing at most once (a Recommendation row with channel 'alert') and at most
DAILY_LIMIT times a local day; customers who opted out or blocked the bot are left alone. Every alert has a button
to stop them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import Names, card_text, chinese_names, photo_urls
from dialogs.engine import queue_replies
from dialogs.flows.recommend import Details, StopAlerts, recommended
from dialogs.flows.search_tokens import recommend_button
from dialogs.flows.viewing_tokens import OpenListing, booking_button
from dialogs.i18n import t
from dialogs.replies import Photo, Reply, Say
from matching.criteria import Criteria
from matching.districts import load_district_index
from matching.rank import Match
from matching.reasons import format_price
from storage import clock
from storage.models import PRIORITY_BROADCAST, Conversation, Listing, Need
from storage.repositories import conversations
from storage.repositories import listings as listings_repo
from storage.repositories import needs as needs_repo
from storage.unit_of_work import Work, Workplace
from storage.vocabulary import ConversationMode

DAILY_LIMIT = 3
# tick() looks this far back on every run: alerts are once per listing anyway, so overlapping windows are
# harmless and a restart or a missed run loses nothing. Each need only hears of what came after it was saved.
LOOKBACK = timedelta(hours=24)
# A customer who answered a flow's question this recently is in the middle of it: an alert would interrupt.
FLOW_PAUSE = timedelta(minutes=30)


async def changed_listings(session: AsyncSession, since: datetime) -> list[Listing]:
    """Active listings created after `since`, or whose price dropped after it (scans cover (since, now])."""
    price_dropped = and_(Listing.previous_price.is_not(None), Listing.previous_price > Listing.price,
                         Listing.updated_at > since)
    rows = await session.scalars(
        select(Listing).where(Listing.status == "active", or_(Listing.created_at > since, price_dropped))
        .order_by(Listing.id)
    )
    return list(rows.all())


def is_new_to(listing: Listing, need: Need) -> bool:
    """Listed after the need was saved (a new home), as opposed to a price that dropped since."""
    return listing.created_at > need.saved_at


def news_for(listing: Listing, need: Need) -> bool:
    """Listed, or its price dropped, after the customer saved this need."""
    if listing.deal_type != need.deal_type:
        return False
    dropped = listing.previous_price is not None and listing.previous_price > listing.price
    return is_new_to(listing, need) or (dropped and listing.updated_at > need.saved_at)


def in_the_middle_of_a_flow(conversation: Conversation, now: datetime) -> bool:
    last = conversation.last_customer_message_at
    return conversation.flow is not None and last is not None and now - last < FLOW_PAUSE


def fits(match: Match, criteria: Criteria) -> bool:
    """An alert is about a home in a district the customer named (when they named any)."""
    return not criteria.districts or match.district in criteria.districts


def alert_replies(lang: str, listing: Listing, match: Match, names_zh: Names, *, new: bool) -> list[Reply]:
    """The alert: the card the customer's matches would show (its reasons and ⚠️ lines), under a heading."""
    if new or listing.previous_price is None:
        heading = t(lang, "🔔 A new home matches your search:")
    else:
        heading = t(lang, "🔔 Price drop: {old} → {new}", old=format_price(float(listing.previous_price),
                                                                          listing.deal_type, lang),
                    new=format_price(float(listing.price), listing.deal_type, lang))
    zh = lang == "zh"
    text = card_text(lang, listing, reasons=match.reasons_zh if zh else match.reasons,
                     misses=match.misses_zh if zh else match.misses, names_zh=names_zh, heading=heading)
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
    names_zh = chinese_names(index)
    for need, customer in await needs_repo.active_with_customers(session):
        candidates = [listing for listing in changed if news_for(listing, need)]
        if not candidates:
            continue
        quota = DAILY_LIMIT - await listings_repo.count_shown_since(session, customer.id, "alert", day_start)
        if quota <= 0:
            continue
        conversation = await conversations.current(session, customer)
        if conversation.mode != ConversationMode.BOT or in_the_middle_of_a_flow(conversation, now):
            continue  # told at the next tick after they are free
        seen = await listings_repo.seen_ids(session, customer.id)
        candidates = [listing for listing in candidates if listing.id not in seen]
        if not candidates:
            continue
        criteria = Criteria.from_json(need.criteria)
        matches = {m.listing_id: m for m in await recommended(session, customer.id, criteria, index)}
        for listing in candidates:
            match = matches.get(listing.id)
            if quota <= 0 or match is None or not fits(match, criteria):
                continue
            if not await listings_repo.record_shown(session, customer.id, listing.id, match.score, "alert"):
                continue  # told before: once per listing
            replies = alert_replies(customer.language, listing, match, names_zh, new=is_new_to(listing, need))
            await queue_replies(work, conversation, customer, replies, priority=PRIORITY_BROADCAST)
            quota -= 1
            sent += 1
    return sent


async def tick(workplace: Workplace, *, now: datetime | None = None) -> int:
    """The periodic entry point: scan the last LOOKBACK in one unit of work (call it every minute or so)."""
    now = now or clock.now()
    async with workplace.open() as work:
        return await scan(work, now - LOOKBACK, now=now)
