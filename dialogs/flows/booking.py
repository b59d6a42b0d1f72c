"""Booking a viewing: phone (only if we do not have it yet), day, time, confirmation to customer and agent.

Steps, in order (BOOKING_STEPS): the phone is asked with the channel's share-contact button and a sentence on
why; then a day of the next two weeks with free time; then a free time that day. Pressing a time books it
through storage.services.viewings, where the database guarantees nobody else has it; if someone was faster,
the customer is told and sees the times still free. Rescheduling reuses the day and time steps.

The buttons are listed in dialogs.flows.viewing_tokens, next to those of my viewings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dialogs.cards import Names, day_label, district_names, title, when
from dialogs.flow import DialogContext, Flow
from dialogs.flows.viewing_tokens import (
    BOOK,
    AgentOutcome,
    CancelBooking,
    OpenListing,
    PickDay,
    PickTime,
    RescheduleDay,
    RescheduleTime,
    ViewingAction,
    ViewingButton,
    booking_button,
    viewings_button,
)
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.receipts import viewing_booked_text, viewing_moved_text
from dialogs.replies import AskContact, Choice, Reply, Say
from dialogs.tokens import Token, decode
from storage.models import Listing, Staff, Viewing
from storage.repositories import listings as listings_repo
from storage.services import viewings
from storage.services.notices import StaffNotice, deliver_staff_notices
from storage.services.phones import is_plausible_phone, normalise_phone
from storage.unit_of_work import Rendered

NAME = BOOK
DAYS_PER_ROW = 3
TIMES_PER_ROW = 4
_TAG = re.compile(r"<[^>]+>")  # markup of a Telegram HTML message


@dataclass(frozen=True)
class BookingStep:
    name: str
    needed: Callable[[DialogContext], bool]
    ask: Callable[[DialogContext, Listing], Awaitable[list[Reply]]]


async def _ask_phone(ctx: DialogContext, listing: Listing) -> list[Reply]:
    ctx.goto(NAME, "phone", listing_id=listing.id)
    return [AskContact(
        ctx.t("To book a viewing the agent needs your phone number, so they can reach you if something changes "
              "on the day. Tap the button below to share it."),
        button=ctx.t("📱 Share my phone number"), cancel=ctx.t("Cancel"),
    )]


async def _ask_day(ctx: DialogContext, listing: Listing) -> list[Reply]:
    agent = await viewings.agent_for_listing(ctx.session, listing, now=ctx.now, settings=ctx.settings)
    if agent is None:
        ctx.clear()
        return [nobody_takes_viewings(ctx)]
    ctx.goto(NAME, "day", listing_id=listing.id)
    days = await viewings.free_days(ctx.session, agent.id, now=ctx.now, settings=ctx.settings)
    home = title(ctx.lang, listing, await district_names(ctx.session))
    return [day_question(ctx, days, lambda day: PickDay(listing.id, day),
                         ctx.t("Viewing: {home} ({ref}). Which day suits you?", home=home, ref=listing.ref_code))]


BOOKING_STEPS: tuple[BookingStep, ...] = (
    BookingStep("phone", lambda ctx: not ctx.customer.phone, _ask_phone),
    BookingStep("day", lambda ctx: True, _ask_day),
)


def nobody_takes_viewings(ctx: DialogContext, edit: bool = False) -> Say:
    """No agent works in the next two weeks (no working hours, or all away): say so, and offer a person."""
    return Say(ctx.t("Sorry, none of our agents can take viewings in the next two weeks, so I cannot book one "
                     "here. A person from our team can note your request and call you back."),
               choices=[[Choice(ctx.t("Talk to a person"), "handoff:start")]], edit=edit)


def day_question(ctx: DialogContext, days: list[date], pick: Callable[[date], Token], text: str,
                 edit: bool = False) -> Say:
    """A button per day, each pressing `pick(day)` in this flow; and Cancel."""
    if not days:
        return Say(ctx.t("Sorry, there is no free time in the next two weeks. An agent can arrange one with you."),
                   choices=[[Choice(ctx.t("Talk to a person"), "handoff:start")]], edit=edit)
    buttons = [booking_button(day_label(ctx.lang, day), pick(day)) for day in days]
    rows = [buttons[i:i + DAYS_PER_ROW] for i in range(0, len(buttons), DAYS_PER_ROW)]
    rows.append([booking_button(ctx.t("Cancel"), CancelBooking())])
    return Say(text, choices=rows, edit=edit)


def time_question(ctx: DialogContext, slots: list[datetime], pick: Callable[[datetime], Token], back: Choice,
                  day: date, lead: str = "", edit: bool = True) -> Say:
    """A button per free time, each pressing `pick(time)` in this flow; and `back` to the days."""
    tz = ctx.settings.tz
    buttons = [booking_button(f"{slot.astimezone(tz):%H:%M}", pick(slot)) for slot in slots]
    rows = [buttons[i:i + TIMES_PER_ROW] for i in range(0, len(buttons), TIMES_PER_ROW)]
    rows.append([back])
    text = ctx.t("Free times on {day}:", day=day_label(ctx.lang, day)) if slots else \
        ctx.t("That day is fully booked now. Please pick another day.")
    return Say((lead + "\n" if lead else "") + text, choices=rows, edit=edit)


def agent_booking_text(agent: Staff, viewing: Viewing, listing: Listing, customer_name: str, phone: str | None,
                       what: str, tz: ZoneInfo, names_zh: Names) -> str:
    lang = agent.language if agent.language in ("en", "zh") else "en"
    head = {"new": N_("New viewing booked"), "moved": N_("Viewing moved"),
            "cancelled": N_("Viewing cancelled by the customer")}[what]
    return "\n".join([
        f"<b>{t(lang, head)}</b>",
        t(lang, "{home} ({ref})", home=title(lang, listing, names_zh), ref=listing.ref_code),
        t(lang, "When: {when}", when=when(lang, viewing.starts_at, tz)),
        t(lang, "Customer: {name}, phone {phone}", name=customer_name, phone=phone or "-"),
    ])


def agent_outcome_choices(agent: Staff, viewing_id: int) -> list[list[Choice]]:
    """Buttons the agent presses after the viewing (handled by the viewings flow)."""
    lang = agent.language if agent.language in ("en", "zh") else "en"
    return [
        [viewings_button(t(lang, "Done"), AgentOutcome(viewing_id, "done")),
         viewings_button(t(lang, "No-show"), AgentOutcome(viewing_id, "no_show"))],
        [viewings_button(t(lang, "Interested"), AgentOutcome(viewing_id, "interested")),
         viewings_button(t(lang, "Made an offer"), AgentOutcome(viewing_id, "offer"))],
    ]


async def tell_agent(ctx: DialogContext, viewing: Viewing, what: str) -> None:
    """Tell the agent about the booking: in the console, and in Telegram (with the outcome buttons) when linked."""
    agent = await ctx.session.get(Staff, viewing.agent_id)
    listing = await ctx.session.get(Listing, viewing.listing_id)
    if agent is None or listing is None or not agent.is_active:
        return
    text = agent_booking_text(agent, viewing, listing, ctx.customer.display_name, ctx.customer.phone, what,
                              ctx.settings.tz, await district_names(ctx.session))
    choices = agent_outcome_choices(agent, viewing.id) if what != "cancelled" else []
    plain = html.unescape(_TAG.sub("", text))  # the console escapes the notification text itself
    notice = StaffNotice(agent, Rendered(Say(text, choices=choices).to_payload(), plain), link="/viewings")
    await deliver_staff_notices(ctx.work, [notice])


class BookingFlow(Flow):
    name = NAME

    def answers_while_human(self, token: str | None) -> bool:
        # Moving or dropping an existing viewing is the customer's own data; booking a new one is a new flow.
        return token is not None and decode(token, RescheduleDay, RescheduleTime, CancelBooking) is not None

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return [Say(ctx.t("Open a home from your matches and press “Book a viewing”."),
                    choices=[[Choice(ctx.t("My matches"), "rec:start")]])]

    async def _next(self, ctx: DialogContext, listing: Listing) -> list[Reply]:
        for step in BOOKING_STEPS:
            if step.needed(ctx):
                return await step.ask(ctx, listing)
        return []  # pragma: no cover - the day step is always needed

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, OpenListing, PickDay, PickTime, RescheduleDay, RescheduleTime, CancelBooking):
            case OpenListing(listing_id):
                return await self._open(ctx, listing_id)
            case PickDay(listing_id, day):
                return await self._day(ctx, listing_id, day)
            case PickTime(listing_id, starts_at):
                return await self._book(ctx, listing_id, starts_at)
            case RescheduleDay(viewing_id, day):
                return await self._reschedule_day(ctx, viewing_id, day)
            case RescheduleTime(viewing_id, starts_at):
                return await self._reschedule(ctx, viewing_id, starts_at)
            case CancelBooking():
                return await self._cancel(ctx)
        return None

    async def _open(self, ctx: DialogContext, listing_id: int) -> list[Reply]:
        listing = await listings_repo.get(ctx.session, listing_id)
        if listing is None or listing.status != "active":
            return [Say(ctx.t("Sorry, this home is no longer available."))]
        if await viewings.agent_for_listing(ctx.session, listing, now=ctx.now, settings=ctx.settings) is None:
            return [nobody_takes_viewings(ctx)]  # before asking for a phone number that could not be used
        return await self._next(ctx, listing)

    async def _cancel(self, ctx: DialogContext) -> list[Reply]:
        ctx.clear()
        return [Say(ctx.t("Booking cancelled. Nothing was booked."), edit=True)]

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if ctx.conversation.step != "phone":
            return None
        listing = await listings_repo.get(ctx.session, int(ctx.slots.get("listing_id") or 0))
        if listing is None:
            return None
        if event.kind == "contact":
            if not event.contact_is_own:
                return [Say(ctx.t("Please share your own number with the button below.")),
                        *await _ask_phone(ctx, listing)]
            phone = event.phone
        elif event.kind == "text" and event.text.strip() in (ctx.t("Cancel"), "Cancel", "取消"):
            ctx.clear()
            return [Say(ctx.t("Booking cancelled. Nothing was booked."), remove_keyboard=True)]
        elif event.kind == "text" and is_plausible_phone(normalise_phone(event.text)):
            phone = event.text
        else:
            return None
        ctx.customer.phone = normalise_phone(phone)
        # Only a contact the channel vouches for verifies the number; a typed one is the customer's word.
        ctx.customer.phone_verified_at = ctx.now if event.kind == "contact" and not event.contact_typed else None
        thanks = Say(ctx.t("Thank you, saved."), remove_keyboard=True)
        return [thanks, *await _ask_day(ctx, listing)]

    async def _day(self, ctx: DialogContext, listing_id: int, day: date, lead: str = "") -> list[Reply] | None:
        listing = await listings_repo.get(ctx.session, listing_id)
        if listing is None:
            return None
        agent = await viewings.agent_for_listing(ctx.session, listing, now=ctx.now, settings=ctx.settings)
        if agent is None:
            return [nobody_takes_viewings(ctx, edit=True)]
        slots = await viewings.free_slots(ctx.session, agent.id, now=ctx.now, on_day=day, settings=ctx.settings)
        back = booking_button(ctx.t("◀ Other day"), OpenListing(listing.id))
        return [time_question(ctx, slots, lambda slot: PickTime(listing.id, slot), back, day, lead)]

    async def _book(self, ctx: DialogContext, listing_id: int, starts_at: datetime) -> list[Reply] | None:
        listing = await listings_repo.get(ctx.session, listing_id)
        if listing is None:
            return None
        if not ctx.customer.phone:
            return await _ask_phone(ctx, listing)
        try:
            viewing = await viewings.book(ctx.session, listing_id=listing.id, customer_id=ctx.customer.id,
                                          starts_at=starts_at, now=ctx.now, settings=ctx.settings)
        except viewings.SlotTaken:
            lead = ctx.t("Sorry, someone has just taken that time.")
            return await self._day(ctx, listing.id, starts_at.astimezone(ctx.settings.tz).date(), lead)
        except viewings.ViewingError:
            return [Say(ctx.t("Sorry, this home is no longer available."), edit=True)]
        ctx.clear()
        await tell_agent(ctx, viewing, "new")
        agent = await ctx.session.get(Staff, viewing.agent_id)
        text = viewing_booked_text(ctx.lang, home=title(ctx.lang, listing, await district_names(ctx.session)),
                                   ref=listing.ref_code, starts_at=viewing.starts_at, tz=ctx.settings.tz,
                                   agent=agent.name if agent else "")
        return [Say(text, choices=[[Choice(ctx.t("My viewings"), "vw:start")]], edit=True, receipt=True)]

    async def _owned(self, ctx: DialogContext, viewing_id: int) -> Viewing | None:
        viewing = await ctx.session.get(Viewing, viewing_id)
        if viewing is None or viewing.customer_id != ctx.customer.id or viewing.status != "booked":
            return None
        return viewing

    async def _reschedule_day(
        self, ctx: DialogContext, viewing_id: int, day: date, lead: str = ""
    ) -> list[Reply] | None:
        viewing = await self._owned(ctx, viewing_id)
        if viewing is None:
            return None
        slots = await viewings.free_slots(ctx.session, viewing.agent_id, now=ctx.now, on_day=day,
                                          ignore_viewing_id=viewing.id, settings=ctx.settings)
        slots = [s for s in slots if s != viewing.starts_at]
        back = viewings_button(ctx.t("◀ Other day"), ViewingButton(ViewingAction.RESCHEDULE, viewing.id))
        return [time_question(ctx, slots, lambda slot: RescheduleTime(viewing.id, slot), back, day, lead)]

    async def _reschedule(self, ctx: DialogContext, viewing_id: int, starts_at: datetime) -> list[Reply] | None:
        viewing = await self._owned(ctx, viewing_id)
        if viewing is None:
            return None
        try:
            await viewings.reschedule(ctx.session, viewing.id, starts_at, now=ctx.now, settings=ctx.settings)
        except viewings.SlotTaken:
            lead = ctx.t("Sorry, someone has just taken that time.")
            return await self._reschedule_day(ctx, viewing.id, starts_at.astimezone(ctx.settings.tz).date(), lead)
        except viewings.ViewingError:
            return [Say(ctx.t("This viewing can no longer be changed."), edit=True)]
        await tell_agent(ctx, viewing, "moved")
        return [Say(viewing_moved_text(ctx.lang, starts_at=viewing.starts_at, tz=ctx.settings.tz),
                    choices=[[Choice(ctx.t("My viewings"), "vw:start")]], edit=True, receipt=True)]

