"""Recommendations: the best matches for a saved need, one card at a time.

Buttons carry everything they need (deal type and position, or the listing id), and the results are
recomputed from the saved need on every press, so a card's buttons keep working after a restart or a detour
through another flow. Next/previous edit the same message. "Not for me" asks why; the reason is stored and the
matching engine lowers similar listings. No results: the blocking constraints are named, with a button to
relax each one that would help. The buttons this flow shares with the needs intake are in
dialogs.flows.search_tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.cards import card_text, chinese_names, details_text, photo_urls
from dialogs.flow import DialogContext, Flow
from dialogs.flows.search_tokens import (
    MATCHES_SHOWN,
    RECOMMEND,
    Deal,
    OpenNeed,
    Position,
    ShowMatch,
    needs_button,
    recommend_button,
)
from dialogs.flows.viewing_tokens import OpenListing, booking_button
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.replies import Album, ButtonAnswer, Choice, Location, Photo, Reply, Say
from dialogs.tokens import Token, decode, one_of
from matching.criteria import Criteria
from matching.districts import DistrictIndex, load_district_index
from matching.rank import Match, explain_no_results, find_matches
from matching.reasons import FEEDBACK_NAMES
from storage.repositories import listings as listings_repo
from storage.repositories import needs as needs_repo
from storage.repositories import staff as staff_repo
from storage.services import verification
from storage.vocabulary import LISTING_REPORT_REASONS

NAME = RECOMMEND
TOP = MATCHES_SHOWN
FEEDBACK_LABELS = {
    "too_far": N_("Too far"),
    "too_expensive": N_("Too expensive"),
    "too_small": N_("Too small"),
    "layout": N_("Layout"),
    "other": N_("Other reason"),
}
REPORT_LABELS = {
    "taken": N_("Already rented or sold"),
    "price": N_("The price is different"),
    "photos": N_("Photos don't match"),
}
if set(REPORT_LABELS) != set(LISTING_REPORT_REASONS):
    raise RuntimeError("REPORT_LABELS and storage.vocabulary.LISTING_REPORT_REASONS name different reasons")
if set(FEEDBACK_LABELS) != set(FEEDBACK_NAMES):  # the matching engine learns from exactly these reasons
    raise RuntimeError("FEEDBACK_LABELS and matching.reasons.FEEDBACK_NAMES name different reasons")


@dataclass(frozen=True)
class Details(Token):
    prefix = "d"
    listing_id: int


@dataclass(frozen=True)
class ToggleSaved(Token):
    prefix = "sv"
    deal: Deal
    position: Position
    listing_id: int


@dataclass(frozen=True)
class NotForMe(Token):
    """Asks why; the answer is a `Reject` for the same card."""

    prefix = "no"
    deal: Deal
    position: Position
    listing_id: int


@dataclass(frozen=True)
class Reject(Token):
    prefix = "nr"
    deal: Deal
    position: Position
    listing_id: int
    reason: Annotated[str, one_of(FEEDBACK_LABELS)]


@dataclass(frozen=True)
class AskReport(Token):
    """'Report a problem' on a card: asks what is wrong; the answer is a `Report`."""

    prefix = "rp"
    listing_id: int


@dataclass(frozen=True)
class Report(Token):
    prefix = "rr"
    listing_id: int
    reason: Annotated[str, one_of(REPORT_LABELS)]


@dataclass(frozen=True)
class VerifyListing(Token):
    """On a staff member's Telegram notice about a listing to check: it is still true (one click)."""

    prefix = "vf"
    listing_id: int


def verify_button(lang: str, listing_id: int) -> Choice:
    return recommend_button(t(lang, "✔ Verify: still available as shown"), VerifyListing(listing_id))


@dataclass(frozen=True)
class Relax(Token):
    """Search again without one of the constraints `explain_no_results` named."""

    prefix = "rx"
    deal: Deal
    constraint: str


@dataclass(frozen=True)
class StopAlerts(Token):
    prefix = "stop"


@dataclass(frozen=True)
class AlertsOn(Token):
    prefix = "alerts_on"


async def recommended(session: AsyncSession, customer_id: int, criteria: Criteria,
                      index: DistrictIndex) -> list[Match]:
    """The customer's matches, best first, without the listings they turned down: what the cards page through,
    and what new-listing alerts (dialogs.alerts) choose from, so both rank and filter alike."""
    rejected = await listings_repo.rejected_ids(session, customer_id)
    found = await find_matches(session, criteria, top=TOP + len(rejected), customer_id=customer_id, index=index)
    return [m for m in found if m.listing_id not in rejected][:TOP]


async def matches_for(ctx: DialogContext, criteria: Criteria, index: DistrictIndex) -> list[Match]:
    return await recommended(ctx.session, ctx.customer.id, criteria, index)


async def show_results(ctx: DialogContext, deal: str, position: int, *, edit: bool = False) -> list[Reply]:
    """The card at `position` of the customer's matches for their `deal` need (or why there are none)."""
    need = await needs_repo.get(ctx.session, ctx.customer.id, deal)
    if need is None:
        return [Say(ctx.t("You have no saved search for this yet."),
                    choices=[[Choice(ctx.t("Find a home"), "need:start")]])]
    index = await load_district_index(ctx.session)
    criteria = Criteria.from_json(need.criteria)
    matches = await matches_for(ctx, criteria, index)
    if not matches:
        return await _no_results(ctx, criteria, index, deal)
    position = max(0, min(position, len(matches) - 1))
    match = matches[position]
    listing = await listings_repo.get(ctx.session, match.listing_id)
    if listing is None:
        return [Say(ctx.t("This home is no longer available."))]
    await listings_repo.record_shown(ctx.session, ctx.customer.id, listing.id, match.score)
    zh = ctx.lang == "zh"
    text = card_text(ctx.lang, listing, reasons=match.reasons_zh if zh else match.reasons,
                     misses=match.misses_zh if zh else match.misses, position=(position + 1, len(matches)),
                     names_zh=chinese_names(index))
    saved = await listings_repo.is_saved(ctx.session, ctx.customer.id, listing.id)
    nav = []
    if position > 0:
        nav.append(recommend_button(ctx.t("◀ Previous"), ShowMatch(deal, position - 1)))
    if position + 1 < len(matches):
        nav.append(recommend_button(ctx.t("Next ▶"), ShowMatch(deal, position + 1)))
    rows = [nav] if nav else []
    rows += [
        [recommend_button(ctx.t("Details"), Details(listing.id)),
         booking_button(ctx.t("Book a viewing"), OpenListing(listing.id))],
        [recommend_button(ctx.t("★ Saved") if saved else ctx.t("☆ Save"), ToggleSaved(deal, position, listing.id)),
         recommend_button(ctx.t("Not for me"), NotForMe(deal, position, listing.id))],
        [recommend_button(ctx.t("⚠️ Report a problem"), AskReport(listing.id))],
    ]
    photos = photo_urls(listing)
    if photos:
        return [Photo(photos[0], caption=text, choices=rows, edit=edit)]
    return [Say(text, choices=rows, edit=edit)]


async def _no_results(ctx: DialogContext, criteria: Criteria, index: DistrictIndex, deal: str) -> list[Reply]:
    relaxations = await explain_no_results(ctx.session, criteria, index=index)
    helpful = [r for r in relaxations if r.results > 0]
    lines = [ctx.t("No home matches all of that right now.")]
    zh = ctx.lang == "zh"
    if helpful:
        blocker = helpful[0]
        lines.append(ctx.t("What stands in the way most: {what}.",
                           what=blocker.message_zh if zh else blocker.message_en))
    rows = [[recommend_button((r.message_zh if zh else r.message_en)[:60], Relax(deal, r.constraint))]
            for r in helpful[:3]]
    rows.append([needs_button(ctx.t("Change my search"), OpenNeed(deal))])
    lines.append(ctx.t("I will tell you as soon as a matching home comes in."))
    return [Say("\n".join(lines), choices=rows)]


def relax(criteria: Criteria, constraint: str) -> Criteria:
    """Drop one constraint (the one explain_no_results counted without)."""
    cleared = {
        "budget": ("budget_min", "budget_max"), "districts": ("districts",), "bedrooms": ("bedrooms_min",
                                                                                          "bedrooms_max"),
        "area": ("area_min", "area_max"), "must_have": ("must_have",), "move_in": ("move_in_by",),
        "property_types": ("property_types",), "pets": ("pets",), "furnished": ("furnished",),
    }.get(constraint, ())
    for key in cleared:
        setattr(criteria, key, [] if isinstance(getattr(criteria, key), list) else None)
    return criteria


class RecommendFlow(Flow):
    name = NAME
    menu_label = N_("My matches")
    intent_words = ("matches", "recommendations", "推荐", "匹配")
    works_while_human = True  # browsing their own matches takes buttons only

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        saved = await needs_repo.for_customer(ctx.session, ctx.customer.id, active_only=True)
        if not saved:
            return [Say(ctx.t("Tell me what you are looking for first."),
                        choices=[[Choice(ctx.t("Find a home"), "need:start")]])]
        if len(saved) == 1:
            return await show_results(ctx, saved[0].deal_type, 0)
        rows = [[self.button(ctx.t("Rent") if n.deal_type == "rent" else ctx.t("Buy"), ShowMatch(n.deal_type, 0))]
                for n in saved]
        return [Say(ctx.t("Which search?"), choices=rows)]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, ShowMatch, Details, ToggleSaved, NotForMe, Reject, Relax, StopAlerts, AlertsOn, AskReport,
                     Report, VerifyListing):
            case ShowMatch(deal, position):
                return await show_results(ctx, deal, position, edit=True)
            case Details(listing_id):
                return await self._details(ctx, listing_id)
            case ToggleSaved(deal, position, listing_id):
                return await self._save(ctx, deal, position, listing_id)
            case NotForMe(deal, position, listing_id):
                return await self._ask_reason(ctx, deal, position, listing_id)
            case Reject(deal, position, listing_id, reason):
                return await self._reject(ctx, deal, position, listing_id, reason)
            case Relax(deal, constraint):
                return await self._relax(ctx, deal, constraint)
            case StopAlerts():
                return await self._alerts(ctx)
            case AlertsOn():
                return await self._alerts_on(ctx)
            case AskReport(listing_id):
                return await self._ask_report(ctx, listing_id)
            case Report(listing_id, reason):
                return await self._report(ctx, listing_id, reason)
            case VerifyListing(listing_id):
                return await self._verify(ctx, listing_id)
        return None

    async def _verify(self, ctx: DialogContext, listing_id: int) -> list[Reply] | None:
        """A staff member's press on their reminder: only from the Telegram chat they linked, for their own
        listing (or as an admin)."""
        listing = await listings_repo.get(ctx.session, listing_id)
        chat = ctx.customer.chat_id
        staff_id = await staff_repo.by_telegram_chat(ctx.session, chat) if chat is not None else None
        if listing is None or staff_id is None or not await verification.may_verify(ctx.session, listing, staff_id):
            return None
        try:
            await verification.verify(ctx.work, listing, staff_id)
        except verification.VerificationError:
            return [ButtonAnswer(ctx.t("{ref} is no longer active.", ref=listing.ref_code), alert=True)]
        return [ButtonAnswer(ctx.t("{ref} verified.", ref=listing.ref_code))]

    async def _ask_report(self, ctx: DialogContext, listing_id: int) -> list[Reply] | None:
        listing = await listings_repo.get(ctx.session, listing_id)
        if listing is None:
            return None
        rows = [[self.button(ctx.t(label), Report(listing.id, code))] for code, label in REPORT_LABELS.items()]
        return [Say(ctx.t("What is wrong with {ref}? The agent will check it.", ref=listing.ref_code), choices=rows)]

    async def _report(self, ctx: DialogContext, listing_id: int, reason: str) -> list[Reply] | None:
        listing = await listings_repo.get(ctx.session, listing_id)
        if listing is None:
            return None
        await verification.report(ctx.work, listing, ctx.customer.id, reason)
        return [ButtonAnswer(ctx.t("Thanks, noted.")),
                Say(ctx.t("Thank you for telling us. The agent of {ref} will check it.", ref=listing.ref_code),
                    edit=True)]

    async def _alerts(self, ctx: DialogContext) -> list[Reply]:
        ctx.customer.notify_new_listings = False
        return [Say(ctx.t("Done: no more new-listing alerts. You can still search any time."),
                    choices=[[self.button(ctx.t("Turn alerts back on"), AlertsOn())]])]

    async def _alerts_on(self, ctx: DialogContext) -> list[Reply]:
        ctx.customer.notify_new_listings = True
        return [Say(ctx.t("Alerts are on again."))]

    async def _details(self, ctx: DialogContext, listing_id: int) -> list[Reply] | None:
        listing = await listings_repo.get(ctx.session, listing_id)
        if listing is None:
            return None
        index = await load_district_index(ctx.session)
        replies: list[Reply] = []
        photos = photo_urls(listing)
        if len(photos) > 1:
            replies.append(Album(photos[:10], caption=listing.ref_code))
        if listing.lat is not None and listing.lon is not None:
            replies.append(Location(listing.lat, listing.lon))
        book = booking_button(ctx.t("Book a viewing"), OpenListing(listing.id))
        rows = [[book]] if listing.status == "active" else []
        replies.append(Say(details_text(ctx.lang, listing, chinese_names(index)), choices=rows))
        return replies

    async def _save(self, ctx: DialogContext, deal: str, position: int, listing_id: int) -> list[Reply] | None:
        if await listings_repo.get(ctx.session, listing_id) is None:
            return None
        now_saved = await listings_repo.toggle_saved(ctx.session, ctx.customer.id, listing_id)
        notice = ButtonAnswer(ctx.t("Saved") if now_saved else ctx.t("Removed from saved"))
        return [notice, *await show_results(ctx, deal, position, edit=True)]

    async def _ask_reason(self, ctx: DialogContext, deal: str, position: int, listing_id: int) -> list[Reply]:
        buttons = [self.button(ctx.t(label), Reject(deal, position, listing_id, code))
                   for code, label in FEEDBACK_LABELS.items()]
        rows = [buttons[:3], buttons[3:], [self.button(ctx.t("◀ Back"), ShowMatch(deal, position))]]
        return [Say(ctx.t("What is wrong with it? I will show fewer homes like it."), choices=rows)]

    async def _reject(self, ctx: DialogContext, deal: str, position: int, listing_id: int,
                      reason: str) -> list[Reply] | None:
        if await listings_repo.get(ctx.session, listing_id) is None:
            return None
        await listings_repo.reject(ctx.session, ctx.customer.id, listing_id, reason)
        return [ButtonAnswer(ctx.t("Thanks, noted.")), *await show_results(ctx, deal, position, edit=True)]

    async def _relax(self, ctx: DialogContext, deal: str, constraint: str) -> list[Reply] | None:
        need = await needs_repo.get(ctx.session, ctx.customer.id, deal)
        if need is None:
            return None
        criteria = relax(Criteria.from_json(need.criteria), constraint)
        await needs_repo.save(ctx.session, ctx.customer.id, deal, criteria.to_json())
        return await show_results(ctx, deal, 0)

