"""My home purchase: an owner with a signed deal asks where their loan, certificate or handover stands ("where is my
loan", "我的房产证办到哪一步了"), sends a missing document as a photo, and books the handover inspection.

The owner is found by the phone number on the contract: shared with the channel's contact button (as for repairs,
`storage.services.owners.verify_owner`, which links their deals). What staff change on a deal reaches the owner
as a reminder of kind `deal_update` (quiet hours respected), drawn here by `deal_update_reply` in their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from dialogs.cards import day_label, when
from dialogs.flow import DialogContext, Flow
from dialogs.i18n import N_, t
from dialogs.inbound import Inbound
from dialogs.names import DOCUMENT_NAMES, MILESTONE_STATUS_NAMES, TRACK_NAMES
from dialogs.replies import AskContact, Choice, Reply, Say
from dialogs.standard import main_menu
from dialogs.tokens import Token, button_data, decode, one_of
from storage.models import Deal, Milestone
from storage.services import deals, milestones, owners
from storage.services.milestones import ALL_DOCUMENTS, MilestoneError

NAME = "deals"
# Words that say which track a question is about (both languages); no word: every track.
TRACK_WORDS: dict[str, tuple[str, ...]] = {
    "loan": ("loan", "mortgage", "bank", "贷款", "按揭", "公积金"),
    "certificate": ("certificate", "title", "deed", "房产证", "产权证", "不动产"),
    "move_in": ("handover", "move-in", "move in", "keys", "inspection", "交房", "入伙", "收房", "验房", "钥匙"),
    "settlement": ("area", "settlement", "面积", "补差"),
}


@dataclass(frozen=True)
class SendDocument(Token):
    prefix = "doc"
    milestone_id: int
    code: Annotated[str, one_of(ALL_DOCUMENTS)]


@dataclass(frozen=True)
class ShowSlots(Token):
    prefix = "slots"
    milestone_id: int


@dataclass(frozen=True)
class BookSlot(Token):
    prefix = "book"
    milestone_id: int
    slot_id: int


@dataclass(frozen=True)
class PhotoIs(Token):
    """The photo the owner sent outside the flow (kept in the conversation's slots) is this document."""

    prefix = "is"
    milestone_id: int
    code: Annotated[str, one_of(ALL_DOCUMENTS)]


@dataclass(frozen=True)
class Cancel(Token):
    prefix = "cancel"


def _button(label: str, token: Token) -> Choice:
    return Choice(label, button_data(NAME, token))


def document_buttons(lang: str, milestone_id: int, missing: list[str]) -> list[list[Choice]]:
    return [[_button(t(lang, "Send: {document}", document=t(lang, DOCUMENT_NAMES.get(code, code))),
                     SendDocument(milestone_id, code))] for code in missing if code in ALL_DOCUMENTS]


def _documents(lang: str, codes: list[str]) -> str:
    return t(lang, ", ").join(t(lang, DOCUMENT_NAMES.get(code, code)) for code in codes)


def _money(amount: str | Decimal, currency: str) -> str:
    return f"{Decimal(str(amount)):,.2f} {currency}"


def _day(lang: str, raw: str | None) -> str:
    return day_label(lang, date.fromisoformat(raw)) + (f" {raw[:4]}" if lang != "zh" else "") if raw else ""


def _step(lang: str, status: str) -> str:
    return t(lang, MILESTONE_STATUS_NAMES.get(status, status))


def deal_update_reply(lang: str, payload: dict[str, Any], tz: ZoneInfo) -> Say:
    """A notice of one milestone change, in the customer's language (the reminder tick sends it)."""
    track, status = str(payload.get("track", "")), str(payload.get("status", ""))
    home, staff = str(payload.get("home", "")), str(payload.get("staff", ""))
    milestone_id = int(payload.get("milestone_id") or 0)
    missing = [str(code) for code in payload.get("missing", [])]
    choices: list[list[Choice]] = []
    if track == "loan" and status == "documents_requested":
        text = t(lang, "Your loan for {home}: please send us these documents: {documents}. Press a button below "
                       "and send a photo of it here.", home=home, documents=_documents(lang, missing))
        choices = document_buttons(lang, milestone_id, missing) if milestone_id else []
    elif track == "move_in" and status == "notice_sent":
        lines = [t(lang, "Move-in notice: {home} will be handed over to you on {day}.", home=home,
                   day=_day(lang, payload.get("handover_date")))]
        fees, currency = payload.get("fees") or [], str(payload.get("currency", "CNY"))
        if fees:
            lines.append(t(lang, "Fees due at move-in:"))
            lines += [f"• {fee['name_zh'] if lang == 'zh' else fee['name']}: {_money(fee['amount'], currency)}"
                      for fee in fees]
            lines.append(t(lang, "Total: {amount}", amount=_money(payload.get("fees_total", "0"), currency)))
        lines.append(t(lang, "Please book your handover inspection."))
        text = "\n".join(lines)
        choices = [[_button(t(lang, "Book the inspection"), ShowSlots(milestone_id))]] if milestone_id else []
    elif track == "move_in" and status == "inspected":
        numbers = ", ".join(payload.get("tickets") or [])
        text = t(lang, "The handover inspection of {home} is recorded.", home=home)
        if numbers:
            text += "\n" + t(lang, "We opened repair requests under warranty for what it found: {numbers}.",
                             numbers=numbers)
    elif track == "move_in" and status == "handed_over":
        text = t(lang, "Welcome home! {home} was handed over to you on {day}.", home=home,
                 day=_day(lang, (payload.get("handover") or {}).get("date")))
    elif track == "settlement" and status == "notified":
        s = payload.get("settlement") or {}
        currency = str(payload.get("currency", "CNY"))
        text = t(lang, "Area settlement for {home}: contract area {contract} m², measured area {measured} m² "
                       "({ratio}%).", home=home, contract=s.get("contract_area", ""),
                 measured=s.get("measured_area", ""), ratio=s.get("ratio", ""))
        amount = Decimal(str(s.get("amount", "0")))
        if amount > 0:
            text += "\n" + t(lang, "You pay {amount}.", amount=_money(amount, currency))
        elif amount < 0:
            text += "\n" + t(lang, "You are refunded {amount}.", amount=_money(-amount, currency))
        else:
            text += "\n" + t(lang, "Nothing is due either way.")
    elif track == "certificate" and status == "ready_for_pickup":
        text = t(lang, "Your property certificate for {home} is ready for pick-up. Please bring your ID card.",
                 home=home)
    else:
        text = t(lang, "{track} for {home}: {status}.", track=t(lang, TRACK_NAMES.get(track, track)), home=home,
                 status=_step(lang, status))
    if payload.get("note"):
        text += "\n" + t(lang, "Note: {note}", note=payload["note"])
    if staff:
        text += "\n" + t(lang, "Responsible: {name}", name=staff)
    return Say(text, choices=choices, receipt=True)


def asked_track(text: str) -> str | None:
    lowered = text.lower()
    for track, words in TRACK_WORDS.items():
        if any(word in lowered for word in words):
            return track
    return None


class DealsFlow(Flow):
    name = NAME
    menu_label = N_("My home purchase")
    commands = ("deal",)
    intent_words = ("loan", "mortgage", "certificate", "handover", "move-in", "贷款", "按揭", "公积金", "房产证",
                    "产权证", "不动产证", "交房", "入伙", "收房", "面积补差")
    works_while_human = True  # an owner's own status is self-service

    def available(self, ctx: DialogContext) -> bool:
        return bool(ctx.customer.has_deal)

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        track = asked_track(event.text) if event.kind == "text" else None
        if not ctx.customer.has_deal:
            linked = await deals.link_customer(ctx.session, ctx.customer)
            if not linked:
                if ctx.customer.phone_verified_at is None:
                    ctx.goto(NAME, "contact", track=track)
                    return [AskContact(
                        text=ctx.t("To find your purchase I need the phone number on your contract. Please share "
                                   "it with the button below."),
                        button=ctx.t("Share my phone number"), cancel=ctx.t("Cancel"))]
                ctx.clear()
                return [main_menu(ctx, ctx.t("I found no signed contract under your phone number. A person from "
                                             "our team can help."))]
        ctx.clear()
        return await self._status(ctx, track)

    async def _status(self, ctx: DialogContext, track: str | None) -> list[Reply]:
        found = await deals.status_of(ctx.session, ctx.customer.id)
        if not found:
            return [main_menu(ctx, ctx.t("I found no signed contract under your phone number. A person from our "
                                         "team can help."))]
        replies: list[Reply] = []
        for status in found[:3]:
            lines = [ctx.t("Contract {number}: {home}", number=status.deal.contract_no, home=status.home)]
            choices: list[list[Choice]] = []
            shown = [s for s in status.tracks if track is None or s.milestone.track == track]
            if not shown:
                lines.append(ctx.t("This contract has no {track} step.",
                                   track=ctx.t(TRACK_NAMES.get(track or "", track or ""))))
            for item in shown:
                m = item.milestone
                line = "• " + ctx.t("{track}: {status}", track=ctx.t(TRACK_NAMES.get(m.track, m.track)),
                                    status=_step(ctx.lang, m.status))
                if m.status != "pending":
                    line += " " + ctx.t("(since {day})", day=day_label(ctx.lang, m.entered_at.astimezone(
                        ctx.settings.tz).date()))
                lines.append(line)
                if item.missing and m.status == "documents_requested":
                    lines.append("  " + ctx.t("Still missing from you: {documents}",
                                              documents=_documents(ctx.lang, item.missing)))
                    choices += document_buttons(ctx.lang, m.id, item.missing)
                if m.track == "move_in" and status.deal.handover_date and m.status != "handed_over":
                    lines.append("  " + ctx.t("Handover date: {day}", day=_day(
                        ctx.lang, status.deal.handover_date.isoformat())))
                if m.track == "move_in" and m.data.get("slot_at"):
                    lines.append("  " + ctx.t("Your inspection: {when}", when=when(
                        ctx.lang, datetime.fromisoformat(m.data["slot_at"]), ctx.settings.tz)))
                if m.track == "move_in" and m.status in ("notice_sent", "slot_booked"):
                    choices.append([_button(ctx.t("Book the inspection"), ShowSlots(m.id))])
                if item.staff and not m.finished_at:
                    lines.append("  " + ctx.t("Responsible: {name}", name=item.staff))
            replies.append(Say("\n".join(lines), choices=choices))
        return replies

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        step = ctx.conversation.step
        if step == "contact" and event.kind == "contact" and event.contact_typed:
            # A typed number proves nothing: nobody reads someone else's loan or certificate by typing a number.
            ctx.clear()
            return [main_menu(ctx, ctx.t("For your privacy I can only show a purchase to the phone number confirmed "
                                         "in our Telegram chat. A person from our team can help you here."))]
        if step == "contact" and event.kind == "contact":
            if not event.contact_is_own or not event.phone:
                return [AskContact(text=ctx.t("Please share your own number with the button below, not someone "
                                              "else's contact."), button=ctx.t("Share my phone number"),
                                   cancel=ctx.t("Cancel"))]
            track = ctx.slots.get("track")
            await owners.verify_owner(ctx.session, ctx.customer, event.phone, settings=ctx.settings)
            ctx.clear()
            if not await deals.link_customer(ctx.session, ctx.customer):
                return [Say(ctx.t("Thank you."), remove_keyboard=True),
                        main_menu(ctx, ctx.t("I found no signed contract under your phone number. A person from "
                                             "our team can help."))]
            return [Say(ctx.t("Thank you, I found your contract."), remove_keyboard=True),
                    *await self._status(ctx, track)]
        if step == "contact" and event.kind == "text":
            if event.text.strip() == ctx.t("Cancel"):
                ctx.clear()
                return [Say(ctx.t("Cancelled."), remove_keyboard=True), main_menu(ctx)]
            return [AskContact(text=ctx.t("Please use the button below to share your phone number."),
                               button=ctx.t("Share my phone number"), cancel=ctx.t("Cancel"))]
        if step == "document" and event.kind == "photo" and event.photo_file_ids:
            return await self.take_document(ctx, event.photo_file_ids[-1])
        if step == "document" and event.kind == "text":
            return [Say(ctx.t("Please send the document as a photo, or press Cancel."),
                        choices=[[_button(ctx.t("Cancel"), Cancel())]])]
        return None

    async def _mine(self, ctx: DialogContext, milestone_id: int) -> tuple[Milestone, Deal] | None:
        milestone = await ctx.session.get(Milestone, milestone_id)
        deal = await ctx.session.get(Deal, milestone.deal_id) if milestone else None
        if milestone is None or deal is None or deal.customer_id != ctx.customer.id:
            return None
        return milestone, deal

    async def take_document(self, ctx: DialogContext, file_id: str, code: str | None = None,
                        milestone_id: int | None = None) -> list[Reply]:
        code = code or str(ctx.slots.get("document", ""))
        found = await self._mine(ctx, milestone_id or int(ctx.slots.get("milestone_id") or 0))
        ctx.clear()
        if found is None:
            return [main_menu(ctx)]
        milestone, _deal = found
        try:
            await milestones.record_document(ctx.work, milestone, code, telegram_file_id=file_id, by_customer=True)
        except MilestoneError:
            return [main_menu(ctx, ctx.t("That document is no longer on your checklist."))]
        name = ctx.t(DOCUMENT_NAMES.get(code, code))
        missing = milestones.missing_documents(milestone)
        if not missing:
            return [Say(ctx.t("Thank you, we received your {document}. We have every document we asked for now.",
                              document=name), receipt=True)]
        return [Say(ctx.t("Thank you, we received your {document}. Still missing: {documents}", document=name,
                          documents=_documents(ctx.lang, missing)),
                    choices=document_buttons(ctx.lang, milestone.id, missing), receipt=True)]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, SendDocument, ShowSlots, BookSlot, PhotoIs, Cancel):
            case SendDocument(milestone_id, code):
                found = await self._mine(ctx, milestone_id)
                if found is None or code not in milestones.missing_documents(found[0]):
                    return [Say(ctx.t("We already have that document, thank you."))] if found else None
                ctx.goto(NAME, "document", milestone_id=milestone_id, document=code)
                return [Say(ctx.t("Please send a photo of your {document}.",
                                  document=ctx.t(DOCUMENT_NAMES.get(code, code))),
                            choices=[[_button(ctx.t("Cancel"), Cancel())]])]
            case ShowSlots(milestone_id):
                found = await self._mine(ctx, milestone_id)
                if found is None:
                    return None
                slots = await milestones.open_slots(ctx.session, found[1], ctx.now)
                if not slots:
                    return [Say(ctx.t("No inspection times are open right now. We will contact you to arrange "
                                      "one."))]
                return [Say(ctx.t("When would you like to inspect your home?"), choices=[
                    [_button(when(ctx.lang, slot.starts_at, ctx.settings.tz), BookSlot(milestone_id, slot.id))]
                    for slot in slots])]
            case BookSlot(milestone_id, slot_id):
                found = await self._mine(ctx, milestone_id)
                if found is None:
                    return None
                try:
                    slot = await milestones.book_slot(ctx.work, found[0], slot_id)
                except MilestoneError:
                    return [Say(ctx.t("Sorry, that time is no longer available. Please choose another."),
                                choices=[[_button(ctx.t("Book the inspection"), ShowSlots(milestone_id))]])]
                return [Say(ctx.t("Your handover inspection is booked: {when}.",
                                  when=when(ctx.lang, slot.starts_at, ctx.settings.tz)), receipt=True)]
            case PhotoIs(milestone_id, code):
                photo = ctx.slots.get("photo") if ctx.conversation.step == "which_document" else None
                if not photo or await self._mine(ctx, milestone_id) is None:
                    return None
                return await self.take_document(ctx, str(photo), code, milestone_id)
            case Cancel():
                ctx.clear()
                return [main_menu(ctx, ctx.t("Cancelled."))]
        return None


async def document_photo_fallback(ctx: DialogContext, event: Inbound) -> list[Reply] | None:
    """A photo sent outside any flow by an owner we asked for documents: the one missing document it must be, or
    the question which one it is (the photo waits in the conversation's slots)."""
    if event.kind != "photo" or not event.photo_file_ids or not ctx.customer.has_deal or ctx.conversation.flow:
        return None
    wanted = [(item.milestone.id, code) for status in await deals.status_of(ctx.session, ctx.customer.id)
              for item in status.tracks if item.milestone.status == "documents_requested" for code in item.missing]
    if not wanted:
        return None
    flow = ctx.flows.get(NAME)
    if not isinstance(flow, DealsFlow):
        return None
    if len(wanted) == 1:
        milestone_id, code = wanted[0]
        return await flow.take_document(ctx, event.photo_file_ids[-1], code, milestone_id)
    ctx.goto(NAME, "which_document", photo=event.photo_file_ids[-1])
    return [Say(ctx.t("Thank you. Which document is this photo?"), choices=[
        *[[_button(ctx.t(DOCUMENT_NAMES.get(code, code)), PhotoIs(milestone_id, code))]
          for milestone_id, code in wanted[:8]],
        [_button(ctx.t("Cancel"), Cancel())]])]


def milestone_staff_text(lang: str, kind: str, payload: dict[str, Any], tz: ZoneInfo) -> str:
    """A staff reminder about a milestone step (the reminder tick renders it in the staff member's language)."""
    track, status = str(payload.get("track", "")), str(payload.get("status", ""))
    due = when(lang, datetime.fromisoformat(str(payload["due_at"])), tz) if payload.get("due_at") else ""
    values = {"contract": payload.get("contract_no", ""), "track": t(lang, TRACK_NAMES.get(track, track)),
              "step": _step(lang, status), "due": due}
    if kind == "milestone_overdue":
        return t(lang, "Deal {contract}: {track} ({step}) is overdue since {due}.", **values)
    return t(lang, "Deal {contract}: {track} ({step}) is due {due}.", **values)
