"""Report a repair: owner verification by shared phone, unit, category, description, photos, urgency, access window.

The ticket number is given at once. Warranty (storage.services.warranty) decides free or paid; a paid repair
waits for the customer to accept the quote staff send later (dialogs.flows.tickets handles the buttons).
Customers whose phone matches no unit are offered a complaint (flagged for staff to verify) or a person.
A number the customer typed (a channel without a verified share-contact element) is not proof of ownership: the
homes registered under it are offered, and the ticket is filed as "owner not yet verified" for staff to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from dialogs.flow import DialogContext, Flow
from dialogs.flows import describe
from dialogs.flows.describe import CATEGORY, DescribeStep
from dialogs.i18n import N_
from dialogs.inbound import Inbound
from dialogs.receipts import ticket_filed_text
from dialogs.replies import AskContact, Choice, Reply, Say
from dialogs.standard import main_menu
from dialogs.tokens import Token, decode, one_of
from storage.events import ticket_changed
from storage.services import owners, tickets
from storage.services.phones import normalise_phone
from storage.vocabulary import REPAIR_CATEGORIES, TicketKind

NAME = "repair"
EMERGENCY_HINT = N_("Emergency: active leak, no power, gas smell, security")
ANY_TIME = N_("Any time during business hours")
CALL_FIRST = N_("Call me first to arrange")
DESCRIBE_STEP = DescribeStep(
    NAME, REPAIR_CATEGORIES,
    question=N_("Please describe the problem in a few words: what, where in the home, since when."),
    with_one_photo=N_("Got 1 photo. Send more, or press Done."),
    with_photos=N_("Got {count} photos. Send more, or press Done."),
    without_photos=N_("Photos help our technician. Send one or several, or press Done."), done=N_("Done"))


@dataclass(frozen=True)
class PickUnit(Token):
    prefix = "unit"
    unit_id: int


@dataclass(frozen=True)
class PickUrgency(Token):
    prefix = "urg"
    priority: Annotated[str, one_of(("emergency", "normal"))]


@dataclass(frozen=True)
class PickAccess(Token):
    prefix = "acc"
    window: Annotated[str, one_of(("any", "call"))]


def _cancel(ctx: DialogContext) -> Choice:
    return describe.cancel_choice(ctx)


class RepairFlow(Flow):
    name = NAME
    menu_label = N_("Report a repair")
    commands = ("repair",)
    intent_words = ("repair", "leak", "leaking", "broken", "fix", "报修", "维修", "漏水", "坏了")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        ctx.goto(NAME, "unit", photos=[])
        units = await owners.owned_units(ctx.session, ctx.customer.id)
        if units:
            return [self._unit_question(ctx, units)]
        ctx.goto(NAME, "contact")
        return [AskContact(text=ctx.t("To report a repair I need to find your home. Please share your phone number "
                                      "with the button below; it must be the number the developer has on file."),
                           button=ctx.t("Share my phone number"), cancel=ctx.t("Cancel"))]

    def _unit_question(self, ctx: DialogContext, units: list[owners.OwnedUnit]) -> Say:
        """Which home, when there is a choice; an owner of one home goes straight to what needs repairing."""
        if len(units) == 1:
            ctx.goto(NAME, CATEGORY, unit_id=units[0].unit.id)
            return self._category_question(ctx, edit=False)
        ctx.goto(NAME, "unit")
        rows = [[self.button(u.label, PickUnit(u.unit.id))] for u in units[:20]]
        return Say(ctx.t("Which home is it about?"), choices=[*rows, [_cancel(ctx)]])

    def _category_question(self, ctx: DialogContext, edit: bool = True) -> Say:
        return Say(ctx.t("What needs repairing?"), choices=[*DESCRIBE_STEP.category_rows(ctx), [_cancel(ctx)]],
                   edit=edit)

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        if DESCRIBE_STEP.finished(ctx, token):
            ctx.goto(NAME, "urgency")
            return [Say(ctx.t("How urgent is it?"), choices=[
                [self.button(ctx.t(EMERGENCY_HINT), PickUrgency("emergency"))],
                [self.button(ctx.t("Not an emergency"), PickUrgency("normal"))],
                [_cancel(ctx)],
            ])]
        step = ctx.conversation.step if ctx.conversation.flow == NAME else None
        match decode(token, PickUnit, PickUrgency, PickAccess):
            case PickUnit(unit_id) if step == "unit":
                unverified = unit_id in (ctx.slots.get("unverified_units") or [])
                if not unverified and not await owners.owns(ctx.session, ctx.customer.id, unit_id):
                    return None
                ctx.goto(NAME, CATEGORY, unit_id=unit_id)
                return [self._category_question(ctx)]
            case PickUrgency(priority) if step == "urgency":
                ctx.goto(NAME, "access", priority=priority)
                return [Say(ctx.t("When may our technician enter your home? Write it (for example \"weekdays after "
                                  "18:00\") or choose:"),
                            choices=[[self.button(ctx.t(ANY_TIME), PickAccess("any"))],
                                     [self.button(ctx.t(CALL_FIRST), PickAccess("call"))],
                                     [_cancel(ctx)]], edit=True)]
            case PickAccess(window) if step == "access":
                return await self._file(ctx, ctx.t(ANY_TIME if window == "any" else CALL_FIRST))
        return await DESCRIBE_STEP.on_choice(ctx, token)

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        step = ctx.conversation.step
        if step == "contact" and event.kind == "contact":
            return await self._verify(ctx, event)
        if step == "contact" and event.kind == "text" and event.text.strip() == ctx.t("Cancel"):
            ctx.clear()
            return [Say(ctx.t("Cancelled."), remove_keyboard=True), main_menu(ctx)]
        if step == "contact" and event.kind == "text":
            return [AskContact(text=ctx.t("Please use the button below to share your phone number."),
                               button=ctx.t("Share my phone number"), cancel=ctx.t("Cancel"))]
        if step == "access" and event.kind == "text" and event.text.strip():
            return await self._file(ctx, event.text.strip()[:256])
        return await DESCRIBE_STEP.on_input(ctx, event)

    async def _verify(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        if not event.contact_is_own or not event.phone:
            return [AskContact(text=ctx.t("Please share your own number with the button below, not someone else's "
                                          "contact."), button=ctx.t("Share my phone number"), cancel=ctx.t("Cancel"))]
        if event.contact_typed:
            return await self._unverified(ctx, event.phone)
        await owners.verify_owner(ctx.session, ctx.customer, event.phone, settings=ctx.settings)
        units = await owners.owned_units(ctx.session, ctx.customer.id)
        if not units:
            return self._no_home(ctx)
        names = ", ".join(u.label for u in units)
        return [Say(ctx.t("Thank you, I found your home: {homes}.", homes=names), remove_keyboard=True),
                self._unit_question(ctx, units)]

    async def _unverified(self, ctx: DialogContext, phone: str) -> list[Reply]:
        """A typed number: the homes under it are offered, but the customer is not verified as their owner."""
        units = await owners.units_under_phone(ctx.session, phone)
        if not units:
            return self._no_home(ctx)
        ctx.customer.phone = normalise_phone(phone)  # their word, kept for staff; phone_verified_at stays empty
        ctx.goto(NAME, "unit", unverified=True, unverified_units=[u.unit.id for u in units])
        names = ", ".join(u.label for u in units)
        return [Say(ctx.t("This number is registered for {homes}. A typed number does not prove you own the home, "
                          "so your request will be filed as \"owner not yet verified\" and our staff will confirm "
                          "it with you before the repair is scheduled.", homes=names), remove_keyboard=True),
                self._unit_question(ctx, units)]

    def _no_home(self, ctx: DialogContext) -> list[Reply]:
        ctx.clear()
        # Two messages: a reply keyboard goes away only with a message that has no inline buttons.
        return [Say(ctx.t("I could not find a home registered under this number, so I cannot file a repair "
                          "yet."), remove_keyboard=True),
                Say(ctx.t("You can still make a complaint (our staff will verify you) or talk to a person."),
                    choices=[[Choice(ctx.t("Make a complaint"), "complaint:start")],
                             [Choice(ctx.t("Talk to a person"), "handoff:start")],
                             [Choice(ctx.t("Main menu"), "menu:main")]])]

    async def _file(self, ctx: DialogContext, access_window: str) -> list[Reply]:
        slots = ctx.slots
        ticket = await tickets.create_ticket(
            ctx.session, kind=TicketKind.REPAIR, category=str(slots.get("category")), customer_id=ctx.customer.id,
            description=describe.description(ctx), unit_id=slots.get("unit_id"),
            priority=str(slots.get("priority", "normal")), access_window=access_window,
            conversation_id=ctx.conversation.id, photo_file_ids=describe.photos(ctx),
            needs_verification=bool(slots.get("unverified")), settings=ctx.settings,
        )
        ctx.work.publish(ticket_changed(ticket, created=True))
        ctx.clear()
        text = ticket_filed_text(ctx.lang, kind=ticket.kind, number=ticket.number,
                                 needs_verification=ticket.needs_verification,
                                 warranty_status=ticket.warranty_status, priority=ticket.priority,
                                 call_by=ticket.first_response_due_at, tz=ctx.settings.tz)
        return [Say(text, choices=[[Choice(ctx.t("My requests"), "tickets:start")],
                                               [Choice(ctx.t("Main menu"), "menu:main")]], receipt=True)]

