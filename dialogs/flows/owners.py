"""Owners: a seller or landlord describes the home, gets a valuation at once, and asks for a call or a listing.

The intake is a table of steps (STEPS), like the needs intake: each step names the intake field it fills, its
question, its buttons and how to read a typed answer. One sentence ("I want to sell my 2-bedroom flat in
Wangjing, 89 m², 12th floor, expect 6 million") fills many steps at once through the matching parser (districts,
rooms, numbers) and this module's readers (area, floor, decoration); the owner is asked only what is missing. The
valuation (matching.valuation) follows at once: the range, how many comparables, three of them as cards, and
the method in one sentence — or, with too few comparables, says so. Then the owner can ask an agent to call
(a lead in the console) or have the home listed (a lead and a draft listing an agent completes and publishes).

Owner intent in free text is read here for now (`owner_intent`); matching gains its own reader later.

Conversation slots: intake (the fields below), skipped (steps answered with "skip"), source (the owner's words),
valuation (after the intake).

Buttons: owner:a:<step>:<value> answers a step, owner:r:call / owner:r:list asks for a call or a listing,
owner:new starts over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from dialogs.cards import card_text, chinese_names, district_name, photo_urls
from dialogs.flow import DialogContext, Flow
from dialogs.flows.recommend import Details
from dialogs.flows.search_tokens import recommend_button
from dialogs.i18n import N_, esc
from dialogs.inbound import Inbound
from dialogs.names import DECORATION_NAMES
from dialogs.replies import AskContact, Choice, Photo, Reply, Say
from dialogs.tokens import Token, decode, one_of, parse_int
from matching.districts import DistrictIndex, load_district_index
from matching.numbers import apply_suffix, to_number
from matching.owner_intent import owner_intent as matching_owner_intent
from matching.parse import parse_need
from matching.reasons import format_price
from matching.valuation import Valuation, valuate
from storage.repositories import listings as listings_repo
from storage.services import owner_leads
from storage.services.phones import is_plausible_phone, normalise_phone

NAME = "owner"
MAX_DISTRICT_BUTTONS = 4

# ---- owner intent in free text ---------------------------------------------------------------------------------

def owner_intent(text: str) -> str | None:
    """'sell' or 'let' when the text is an owner's ('sell my flat', '我想出租我的房子'), else None: the matching
    parser's rule (`matching.owner_intent`), so the owner intake and the buyer flow never disagree."""
    return matching_owner_intent(text)


# ---- reading an owner's words ----------------------------------------------------------------------------------

_AREA = re.compile(r"(\d+(?:\.\d+)?)\s*(?:m²|m2|sqm|sq\.?\s*m|square\s+met(?:er|re)s?|平方米|平米|平方|平|㎡)",
                   re.IGNORECASE)
_FLOOR = re.compile(r"(\d{1,3})\s*(?:st|nd|rd|th)?\s*floor\b|\bfloor\s*(\d{1,3})\b|第?\s*(\d{1,3})\s*(?:楼|层)",
                    re.IGNORECASE)
_AMOUNT = re.compile(r"^\s*[¥$]?\s*([\d.,]+|[零〇一二两三四五六七八九十百千万亿]+)\s*(k|w|万|千|m|million)?\s*"
                     r"(?:元|块|rmb|cny|yuan)?\s*(?:/\s*month|a month|per month|每月|/月)?\s*$", re.IGNORECASE)
DECORATIONS: dict[str, str] = DECORATION_NAMES  # one vocabulary with the listings (storage.vocabulary.DECORATIONS)
_DECORATION_WORDS = {
    "fine": ("精装", "豪装", "fine decoration", "well decorated", "fully decorated", "renovated", "luxury"),
    "basic": ("简装", "simple decoration", "basic decoration", "simply decorated"),
    "bare": ("毛坯", "bare shell", "unfinished", "shell"),
}
AVAILABLE: list[tuple[str, str, int]] = [("now", N_("Now"), 0), ("month", N_("Within a month"), 30),
                                         ("quarter", N_("Within 3 months"), 90)]
ROOMS = [("0", N_("Studio")), ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5+")]
MAX_PHOTOS = 10


def read_area(text: str) -> float | None:
    m = _AREA.search(text)
    value = float(m.group(1)) if m else None
    return value if value is not None and 5 <= value <= 5000 else None


def read_floor(text: str) -> int | None:
    m = _FLOOR.search(text)
    if m is None:
        return None
    value = int(next(g for g in m.groups() if g))
    return value if 1 <= value <= 200 else None


def read_decoration(text: str) -> str | None:
    lowered = text.lower()
    for code, words in _DECORATION_WORDS.items():
        if any(word in lowered for word in words):
            return code
    return None


def read_amount(text: str) -> float | None:
    m = _AMOUNT.match(text.lower())
    value = to_number(m.group(1)) if m else None
    if m is None or value is None or value <= 0:
        return None
    suffix = m.group(2)
    return apply_suffix(value, "m" if suffix == "million" else suffix)


def read_sentence(text: str, index: DistrictIndex, today: date) -> dict[str, Any]:
    """What one message tells about the home (only the fields it names)."""
    found: dict[str, Any] = {}
    intent = owner_intent(text)
    if intent:
        found["intent"] = intent
    parsed = parse_need(text, index, today)
    if parsed.districts:
        found["district"] = parsed.districts[0]
    elif parsed.district_candidates:
        found["district_candidates"] = next(iter(parsed.district_candidates.values()))[:MAX_DISTRICT_BUTTONS]
    area = read_area(text)
    if area is None and parsed.area_min and parsed.area_max:
        area = round((parsed.area_min + parsed.area_max) / 2)
    if area is not None:
        found["area_m2"] = float(area)
    if parsed.bedrooms_min is not None and parsed.bedrooms_min == parsed.bedrooms_max:
        found["bedrooms"] = parsed.bedrooms_min
    floor = read_floor(text)
    if floor is not None:
        found["floor"] = floor
    decoration = read_decoration(text)
    if decoration:
        found["decoration"] = decoration
    price = parsed.budget_max or parsed.budget_min
    if price:
        found["price"] = float(price)
    if parsed.move_in_by:
        found["available_from"] = parsed.move_in_by.isoformat()
    return found


# ---- the steps -------------------------------------------------------------------------------------------------

Options = list[list[tuple[str, str]]]  # rows of (label msgid or literal, value)


@dataclass(frozen=True)
class Step:
    name: str
    field: str
    question: str  # msgid
    options: Callable[[dict[str, Any]], Options]
    read: Callable[[str], Any]  # a typed answer -> the field's value, or None
    pick: Callable[[str], Any]  # a button's value -> the field's value, or None
    skippable: bool = False


def _no_options(intake: dict[str, Any]) -> Options:
    return []


def _none(text: str) -> Any:
    return None


def _intent_pick(value: str) -> Any:
    return value if value in ("sell", "let") else None


def _rooms_pick(value: str) -> Any:
    return parse_int(value, 0, 5)


def _rooms_read(text: str) -> Any:
    m = re.match(r"^\s*([0-9一二两三四五])\s*(?:室|居|房|bedrooms?|br|beds?)?\s*\+?\s*$", text.lower())
    value = to_number(m.group(1)) if m else None
    return int(value) if value is not None and 0 <= value <= 20 else None


def _floor_read(text: str) -> Any:
    floor = read_floor(text)
    if floor is not None:
        return floor
    value = parse_int(text.strip(), 1, 200)
    return value


def _area_read(text: str) -> Any:
    area = read_area(text)
    if area is not None:
        return area
    value = read_amount(text)
    return value if value is not None and 5 <= value <= 5000 else None


def _price_read(text: str) -> Any:
    value = read_amount(text)
    return value if value is not None and value >= 100 else None


def _available_pick(value: str) -> Any:
    return value if value in {code for code, _, _ in AVAILABLE} else None


def _available_read(text: str) -> Any:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


STEPS: tuple[Step, ...] = (
    Step("intent", "intent", N_("Do you want to sell your home or to let it?"),
         lambda i: [[(N_("Sell"), "sell"), (N_("Let"), "let")]], owner_intent, _intent_pick),
    Step("district", "district", N_("Where is it? Write the district or the community, for example “Wangjing”."),
         _no_options, _none, _none),
    Step("area", "area_m2", N_("How big is it, in m²?"), _no_options, _area_read, _none),
    Step("rooms", "bedrooms", N_("How many bedrooms?"), lambda i: [ROOMS[:3], ROOMS[3:]], _rooms_read, _rooms_pick),
    Step("floor", "floor", N_("Which floor is it on?"), _no_options, _floor_read, _none, skippable=True),
    Step("decoration", "decoration", N_("How is it decorated?"),
         lambda i: [[(label, code) for code, label in DECORATIONS.items()]], read_decoration,
         lambda v: v if v in DECORATIONS else None, skippable=True),
    Step("price", "price", N_("What price do you expect? For a sale the total, for a let the monthly rent "
                              "(for example “6 million” or “8500”)."), _no_options, _price_read, _none,
         skippable=True),
    Step("available", "available_from", N_("When is it available?"),
         lambda i: [[(label, code) for code, label, _ in AVAILABLE]], _available_read, _available_pick,
         skippable=True),
    Step("photos", "photos", N_("Send photos of the home if you like, then press Done."), _no_options, _none, _none,
         skippable=True),
)
STEP_BY_NAME = {step.name: step for step in STEPS}


@dataclass(frozen=True)
class Answer(Token):
    prefix = "a"
    step: Annotated[str, one_of(STEP_BY_NAME)]
    value: str


@dataclass(frozen=True)
class Ask(Token):
    """After the valuation: an agent's call, or a draft listing."""

    prefix = "r"
    request: Annotated[str, one_of(("call", "list"))]


@dataclass(frozen=True)
class StartOver(Token):
    prefix = "new"


# ---- the flow --------------------------------------------------------------------------------------------------


def _intake(ctx: DialogContext) -> dict[str, Any]:
    return dict(ctx.slots.get("intake") or {})


def _filled(step: Step, intake: dict[str, Any], skipped: list[str]) -> bool:
    if step.name in skipped:
        return True
    if step.name == "photos":
        return bool(intake.get("photos_done"))
    return intake.get(step.field) is not None


def _next_step(ctx: DialogContext, intake: dict[str, Any]) -> Step | None:
    skipped = list(ctx.slots.get("skipped") or [])
    return next((step for step in STEPS if not _filled(step, intake, skipped)), None)


def _merge(intake: dict[str, Any], found: dict[str, Any]) -> list[str]:
    touched = []
    for key, value in found.items():
        if key == "district_candidates":
            if not intake.get("district") and value:
                intake["district_candidates"] = value
                touched.append(key)
            continue
        if value is not None and intake.get(key) != value:
            intake[key] = value
            touched.append(key)
    if "district" in touched:
        intake.pop("district_candidates", None)
    return touched


class OwnerFlow(Flow):
    name = NAME
    menu_label = N_("Sell or let my home")
    commands = ("sell", "owner")
    intent_words = ("sell my", "selling my", "rent out my", "let out my", "出售", "出租我的", "我想出租", "我想卖",
                    "卖房")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        ctx.goto(NAME, STEPS[0].name)
        ctx.conversation.slots = {"intake": {}, "skipped": [], "source": ""}
        if event.kind == "text" and event.text.strip():
            index = await load_district_index(ctx.session)
            found = read_sentence(event.text, index, ctx.now.astimezone(ctx.settings.tz).date())
            intake: dict[str, Any] = {}
            _merge(intake, found)
            ctx.set_slots(intake=intake, source=event.text[:1000])
            return await self._continue(ctx, intake, lead=self._understood(ctx, intake, index))
        lead = ctx.t("Tell me about your home in one sentence, for example “sell my 2-bedroom flat in Wangjing, "
                     "89 m², 12th floor, about 6 million” — or answer a few questions.")
        return await self._continue(ctx, {}, lead=lead)

    def _understood(self, ctx: DialogContext, intake: dict[str, Any], index: DistrictIndex) -> str:
        facts = self._facts(ctx, intake, chinese_names(index))
        return ctx.t("Here is what I understood:") + "\n" + "\n".join(facts) if facts else ""

    def _facts(self, ctx: DialogContext, intake: dict[str, Any], names_zh: dict[str, str]) -> list[str]:
        lines = []
        if intake.get("intent"):
            lines.append("• " + (ctx.t("Sell") if intake["intent"] == "sell" else ctx.t("Let")))
        if intake.get("district"):
            lines.append("• " + esc(district_name(ctx.lang, intake["district"], names_zh)))
        if intake.get("area_m2"):
            lines.append("• " + ctx.t("{area} m²", area=f"{intake['area_m2']:g}"))
        if intake.get("bedrooms") is not None:
            lines.append("• " + (ctx.t("Studio") if intake["bedrooms"] == 0 else
                                 ctx.t("{n} bedrooms", n=intake["bedrooms"])))
        if intake.get("floor") is not None:
            lines.append("• " + ctx.t("Floor {floor}", floor=intake["floor"]))
        if intake.get("decoration") in DECORATIONS:
            lines.append("• " + ctx.t(DECORATIONS[intake["decoration"]]))
        if intake.get("price"):
            deal = "sale" if intake.get("intent") != "let" else "rent"
            lines.append("• " + ctx.t("Expected price: {price}", price=format_price(intake["price"], deal,
                                                                                     ctx.lang)))
        if intake.get("available_from"):
            lines.append("• " + ctx.t("Available from {date}", date=intake["available_from"]))
        return lines

    async def _continue(self, ctx: DialogContext, intake: dict[str, Any], *, lead: str = "",
                        edit: bool = False) -> list[Reply]:
        ctx.set_slots(intake=intake)
        step = _next_step(ctx, intake)
        if step is None:
            return await self._valuation(ctx, intake)
        ctx.goto(NAME, step.name)
        names_zh = chinese_names(await load_district_index(ctx.session)) if intake.get("district_candidates") else {}
        return [self._ask(ctx, step, intake, lead=lead, edit=edit, names_zh=names_zh)]

    def _ask(self, ctx: DialogContext, step: Step, intake: dict[str, Any], *, lead: str = "",
             edit: bool = False, names_zh: dict[str, str] | None = None) -> Say:
        text = ctx.t(step.question)
        rows = [[self.button(ctx.t(label) if not label.isdigit() else label, Answer(step.name, value))
                 for label, value in row] for row in step.options(intake)]
        if step.name == "district" and intake.get("district_candidates"):
            text = ctx.t("Which one do you mean?")
            rows = [[self.button(district_name(ctx.lang, name, names_zh or {}), Answer("district", str(position)))]
                    for position, name in enumerate(intake.get("district_candidates") or [])]
        if step.name == "photos":
            rows.append([self.button(ctx.t("Done"), Answer("photos", "done"))])
        elif step.skippable:
            rows.append([self.button(ctx.t("Skip"), Answer(step.name, "skip"))])
        return Say(f"{lead}\n\n{text}" if lead else text, choices=rows, edit=edit)

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        pressed = decode(token, StartOver, Answer, Ask)
        if isinstance(pressed, StartOver):
            return await self.start(ctx, event)
        if pressed is None or ctx.conversation.flow != NAME or "intake" not in ctx.slots:
            return None  # stale or forged, or an intake that is over
        intake = _intake(ctx)
        match pressed:
            case Answer(step_name, value):
                return await self._answer(ctx, STEP_BY_NAME[step_name], intake, value)
            case Ask(request):
                if "valuation" not in ctx.slots:
                    return None
                return await self._request(ctx, request)
        return None

    async def _answer(self, ctx: DialogContext, step: Step, intake: dict[str, Any], value: str) -> list[Reply] | None:
        if value == "skip" and step.skippable:
            ctx.set_slots(skipped=sorted({*(ctx.slots.get("skipped") or []), step.name}))
            return await self._continue(ctx, intake, edit=True)
        if step.name == "photos" and value == "done":
            intake["photos_done"] = True
            return await self._continue(ctx, intake, edit=True)
        if step.name == "district":
            candidates = intake.get("district_candidates") or []
            position = parse_int(value, 0, len(candidates) - 1) if candidates else None
            if position is None:
                return None
            intake["district"] = candidates[position]
            intake.pop("district_candidates", None)
            return await self._continue(ctx, intake, edit=True)
        picked = step.pick(value)
        if picked is None:
            return None
        intake[step.field] = picked
        if step.name == "available":
            days = next(d for code, _, d in AVAILABLE if code == picked)
            intake[step.field] = (ctx.now.astimezone(ctx.settings.tz).date() + timedelta(days=days)).isoformat()
        return await self._continue(ctx, intake, edit=True)

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if "intake" not in ctx.slots:
            return None
        if ctx.conversation.step == "phone":
            return await self._phone(ctx, event)
        step = STEP_BY_NAME.get(ctx.conversation.step or "")
        if step is None:
            return None
        intake = _intake(ctx)
        if event.kind == "photo" and event.photo_file_ids:
            photos = list(intake.get("photos") or [])
            if len(photos) < MAX_PHOTOS:
                photos.append(event.photo_file_ids[-1])
            intake["photos"] = photos
            ctx.set_slots(intake=intake)
            if step.name != "photos":
                return [Say(ctx.t("Photo received."))]
            return [Say(ctx.t("Photo received ({n}). Send more, or press Done.", n=len(photos)),
                        choices=[[self.button(ctx.t("Done"), Answer("photos", "done"))]])]
        if event.kind != "text" or not event.text.strip():
            return None
        text = event.text.strip()
        index = await load_district_index(ctx.session)
        touched = _merge(intake, read_sentence(text, index, ctx.now.astimezone(ctx.settings.tz).date()))
        if step.name == "district" and not intake.get("district") and not intake.get("district_candidates"):
            resolution = index.resolve(text)
            if resolution.match:
                intake["district"] = resolution.match
                touched.append("district")
            elif resolution.candidates:
                intake["district_candidates"] = list(resolution.candidates)[:MAX_DISTRICT_BUTTONS]
                touched.append("district_candidates")
        if step.name == "district" and "district" in touched:
            # "望京SOHO", "Wangjing Garden": the community as the owner named it, for the agent
            names = {intake["district"].lower(), index.name_zh(intake["district"]).lower()}
            intake["community"] = "" if text.lower() in names else text[:128]
        if step.field not in touched and step.name != "district":
            value = step.read(text)
            if value is not None:
                intake[step.field] = value
                touched.append(step.field)
        if not touched:
            return None  # not an answer: the engine tries intents and the FAQ
        lead = self._understood(ctx, intake, index) if len(touched) > 1 else ""
        return await self._continue(ctx, intake, lead=lead)

    # ---- the valuation and what follows -------------------------------------------------------------------------

    async def _valuation(self, ctx: DialogContext, intake: dict[str, Any]) -> list[Reply]:
        index = await load_district_index(ctx.session)
        names_zh = chinese_names(index)
        deal = "sale" if intake.get("intent") == "sell" else "rent"
        result = await valuate(ctx.session, deal_type=deal, district=str(intake["district"]),
                               area_m2=float(intake["area_m2"]), bedrooms=intake.get("bedrooms"), index=index,
                               minimum=ctx.settings.valuation_min_comparables)
        ctx.goto(NAME, "valued", valuation=result.to_json())
        place = esc(district_name(ctx.lang, result.district, names_zh))
        replies: list[Reply] = []
        if result.enough:
            lines = ["<b>" + ctx.t("Valuation: {low} – {high}", low=format_price(result.low or 0, deal, ctx.lang),
                                   high=format_price(result.high or 0, deal, ctx.lang)) + "</b>",
                     ctx.t("Based on {n} comparable listings.", n=result.count),
                     ctx.t("How: the asking prices per m² of active listings in {place} (and its neighbours when "
                           "needed) within 30% of your area and one bedroom of yours; the range is their middle "
                           "half times your area.", place=place)]
            if intake.get("price"):
                lines.append(ctx.t("Your expected price: {price}.", price=format_price(float(intake["price"]), deal,
                                                                                        ctx.lang)))
            lines.append(ctx.t("Three of them:"))
        else:
            lines = [ctx.t("I found only {n} comparable listings near {place}: too few for an honest valuation, "
                           "so I will not guess.", n=result.count, place=place),
                     ctx.t("An agent can value your home with you.")]
        replies.append(Say("\n".join(lines)))
        if result.enough:
            replies += await self._cards(ctx, result, names_zh)
        rows = [[self.button(ctx.t("📞 Ask an agent to call me"), Ask("call"))]]
        if owner_leads.listing_price(intake, result.to_json()) is not None:
            rows.append([self.button(ctx.t("📝 List my home with you"), Ask("list"))])
        rows.append([self.button(ctx.t("Start over"), StartOver()), Choice(ctx.t("Main menu"), "menu:main")])
        replies.append(Say(ctx.t("What would you like to do next?"), choices=rows))
        return replies

    async def _cards(self, ctx: DialogContext, result: Valuation, names_zh: dict[str, str]) -> list[Reply]:
        found = await listings_repo.many(ctx.session, [c.listing_id for c in result.shown])
        replies: list[Reply] = []
        for comparable in result.shown:
            listing = found.get(comparable.listing_id)
            if listing is None:
                continue
            text = card_text(ctx.lang, listing, names_zh=names_zh)
            rows = [[recommend_button(ctx.t("Details"), Details(listing.id))]]
            photos = photo_urls(listing)
            replies.append(Photo(photos[0], caption=text, choices=rows) if photos else Say(text, choices=rows))
        return replies

    async def _request(self, ctx: DialogContext, request: str) -> list[Reply]:
        ctx.set_slots(request=request)
        if request == "call" and not ctx.customer.phone:
            ctx.goto(NAME, "phone")
            return [AskContact(ctx.t("So the agent can call you, please share your phone number with the button "
                                     "below, or type it."),
                               button=ctx.t("📱 Share my phone number"), cancel=ctx.t("Cancel"))]
        return await self._lead(ctx, request, ctx.customer.phone)

    async def _phone(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if event.kind == "contact" and event.phone:
            if not event.contact_is_own:
                return [Say(ctx.t("Please share your own number with the button below."))]
            phone = event.phone
        elif event.kind == "text" and event.text.strip() in (ctx.t("Cancel"), "Cancel", "取消"):
            ctx.goto(NAME, "valued")
            return [Say(ctx.t("No call then. You can still ask any time."), remove_keyboard=True)]
        elif event.kind == "text" and is_plausible_phone(normalise_phone(event.text)):
            phone = event.text
        else:
            return None
        ctx.customer.phone = normalise_phone(phone)
        ctx.customer.phone_verified_at = ctx.now if event.kind == "contact" and not event.contact_typed else None
        return await self._lead(ctx, str(ctx.slots.get("request") or "call"), ctx.customer.phone)

    async def _lead(self, ctx: DialogContext, request: str, phone: str | None) -> list[Reply]:
        intake = _intake(ctx)
        intake.pop("district_candidates", None)
        lead = await owner_leads.create_lead(ctx.work, ctx.customer, request=request, intake=intake,
                                             valuation=dict(ctx.slots.get("valuation") or {}), phone=phone,
                                             source_text=ctx.slots.get("source") or None)
        ctx.clear()
        if request == "call":
            text = ctx.t("Thank you! An agent will call you soon about your home (request #{n}).", n=lead.id)
        else:
            text = ctx.t("Thank you! An agent will complete the listing of your home with you and publish it "
                         "(request #{n}).", n=lead.id)
        return [Say(text, remove_keyboard=True, receipt=True)]
