"""Needs intake: what a customer wants to rent or buy, from one sentence or step by step.

The intake is a table of steps (STEPS). Each step names the criteria it fills, its question, its buttons and
how to read a typed answer. Typed text is first read by the matching parser (so one sentence can fill many
steps at once); a step's own reader handles bare answers such as "8000" or "2". The customer is asked only for
what is still missing: after a one-sentence need only the core steps, step by step every step. A summary with
edit buttons ends the intake; saving it stores the Need (one per customer and deal type) and shows matches.
A one-sentence need that is complete from the start skips that gate: it is saved and the matches are shown at
once, under the summary with a button to edit the search.

Conversation slots: criteria (matching.Criteria JSON), skipped (step names answered with "any"),
mode ("sentence" | "steps"), editing (return to the summary after one answer), source (the customer's words).

Buttons: need:<step>:<value> answers a step (each step reads its own values), need:edit:<step>, need:save,
need:fresh, need:open:<deal> (a saved search), need:dym:<district id> / need:dym:none (did you mean).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from dialogs.cards import DEAL_NAMES, FEATURE_NAMES, PROPERTY_TYPE_NAMES
from dialogs.flow import DialogContext, Flow
from dialogs.flows.recommend import show_results
from dialogs.flows.search_tokens import NEEDS, OpenNeed, ShowMatch, needs_button, recommend_button
from dialogs.i18n import N_, esc, t
from dialogs.inbound import Inbound
from dialogs.names import DECORATION_NAMES
from dialogs.replies import Reply, Say
from dialogs.standard import main_menu
from dialogs.tokens import Token, decode, one_of, parse_int
from matching.criteria import Criteria
from matching.districts import DistrictIndex, load_district_index
from matching.levels import DEFAULT_LEVELS, PriceLevels
from matching.numbers import CN_NUMERAL_CHARS, apply_suffix, to_number
from matching.parse import parse_need
from matching.snapshot import load_price_levels
from storage.models import Need
from storage.repositories import needs as needs_repo
from storage.text import is_chinese

NAME = NEEDS
MAX_DISTRICT_BUTTONS = 24

# (min, max) presets per deal type; None = open end.
BUDGETS: dict[str, list[tuple[int | None, int | None]]] = {
    "rent": [(None, 5000), (5000, 8000), (8000, 12000), (12000, 20000), (20000, None)],
    "sale": [(None, 3_000_000), (3_000_000, 5_000_000), (5_000_000, 8_000_000), (8_000_000, 12_000_000),
             (12_000_000, None)],
}
ROOMS: list[tuple[str, int, int | None]] = [
    (N_("Studio"), 0, 0), ("1", 1, 1), ("2", 2, 2), ("3", 3, 3), ("4+", 4, None),
]
AREAS: list[tuple[int | None, int | None]] = [(None, 50), (50, 80), (80, 120), (120, None)]
MOVE_IN: list[tuple[str, int]] = [
    (N_("As soon as possible"), 14), (N_("Within a month"), 30), (N_("Within 3 months"), 90),
]
MUST_HAVES = ("parking", "pets", "furnished", "elevator", "near_metro", "balcony", "school", "south_facing")
MAX_MOVE_IN_DAYS = 366
MAX_AMOUNT = 10**12  # above any budget (CNY) or size (m²) a range button carries
# A bare typed answer: one number (digits or Chinese numerals), a multiplier, a currency or area unit.
_NUMBER = re.compile(
    rf"^\s*[¥$]?\s*([\d.,]+|[{CN_NUMERAL_CHARS}]+)\s*(k|w|万|千|m)?\s*(?:元|块|rmb|cny|m2|m²|平米|平|sqm)?\s*$")
_SEPARATORS = re.compile(r"[,，、;/]|\band\b|和|或")
_ROOM_DIGIT = re.compile(r"^\s*([0-9一二两三四五])\s*(?:室|居|房|bedrooms?|br|beds?)?\s*\+?\s*$")


# ---- reading typed answers ------------------------------------------------------------------------------


def _bare_amount(text: str) -> float | None:
    m = _NUMBER.match(text.lower())
    value = to_number(m.group(1)) if m else None
    return None if m is None or value is None else apply_suffix(value, m.group(2))


def _read_budget(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    value = _bare_amount(text)
    if value is None or value <= 0:
        return False
    if not DEFAULT_LEVELS.budget_plausible(value):
        criteria.questioned["budget"] = text.strip()[:40]  # asked again, never taken
        return True
    _clear_budget(criteria)
    criteria.budget_max = value
    return True


def _read_rooms(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    m = _ROOM_DIGIT.match(text.lower())
    value = to_number(m.group(1)) if m else None
    if value is None:
        return False
    n = int(value)
    criteria.bedrooms_min, criteria.bedrooms_max = n, (None if "+" in text else n)
    return True


def _read_area(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    value = _bare_amount(text)
    if value is None or not 5 <= value <= 5000:
        return False
    criteria.area_min = value
    return True


def _read_districts(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    understood = False
    for part in _SEPARATORS.split(text):
        if not part.strip():
            continue
        resolution = index.resolve(part)
        if resolution.match:
            if resolution.match not in criteria.districts:
                criteria.districts.append(resolution.match)
            understood = True
        elif resolution.candidates or (candidates := _similar_chinese_names(part.strip(), index)):
            criteria.district_candidates[part.strip()] = list(resolution.candidates or candidates)
            understood = True
    return understood


def _similar_chinese_names(text: str, index: DistrictIndex) -> list[str]:
    """'王京' for 望京: Chinese names of the same length sharing at least half their characters, in place.

    Edit-distance ratios are meaningless on two-character words, and a wrong homophone is the usual Chinese
    typo, so same-position overlap is the better signal; the customer always confirms ("did you mean").
    """
    if not is_chinese(text) or not 2 <= len(text) <= 6:
        return []
    out = []
    for name in index.names:
        chinese = index.name_zh(name)
        for candidate in (chinese, chinese.rstrip("区县")):
            same = sum(a == b for a, b in zip(text, candidate, strict=False))
            if len(candidate) == len(text) and same * 2 >= len(text) and name not in out:
                out.append(name)
    return out[:4]


def _nothing(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    return False


# ---- the steps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """What step functions may consult besides the criteria."""

    lang: str
    index: DistrictIndex
    today: date
    levels: PriceLevels = DEFAULT_LEVELS  # what homes cost here (a bare budget's deal type, implausible values)


Reader = Callable[[str, Criteria, DistrictIndex, date], bool]
Options = list[list[tuple[str, str]]]  # button rows of (label, value)


@dataclass(frozen=True)
class Step:
    """One question of the intake. Every behaviour of a step is a field, so STEPS reads as the whole intake."""

    name: str  # in tokens: need:<name>:<value>
    label: str  # msgid of the summary line
    prompt: str  # msgid of the question
    filled: Callable[[Criteria], bool]
    options: Callable[[Env, Criteria], Options]  # the buttons
    pick: Callable[[Env, Criteria, str], bool]  # a pressed button's value into the criteria; False = invalid
    take: Callable[[Criteria, Criteria], bool]  # copy what the sentence parser understood; True if anything
    show: Callable[[Env, Criteria], str]  # the value for the summary (HTML-escaped), "" when not stated
    clear: Callable[[Criteria], None]  # "any / skip"
    read: Reader = _nothing  # a bare typed answer ("8000", "2") the sentence parser does not take
    core: bool = False  # asked even after a one-sentence need
    multi: bool = False  # toggles: stays on the step until Done
    skippable: bool = True


def _rows(buttons: list[tuple[str, str]], per_row: int) -> Options:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def _district_name(lang: str, index: DistrictIndex, name: str) -> str:
    return index.name_zh(name) if lang == "zh" else name


def _money(lang: str, value: float) -> str:
    if lang == "zh":  # Chinese counts in 万 (ten thousand), never in k
        return f"¥{value / 10_000:g}万" if value >= 10_000 else f"¥{value:g}"
    if value >= 1_000_000:
        return f"¥{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"¥{value / 1_000:g}k"
    return f"¥{value:g}"


def _range(lang: str, low: float | None, high: float | None, fmt: Callable[[float], str]) -> str:
    if low is not None and high is not None:
        return f"{fmt(low)}–{fmt(high)}" if low != high else fmt(low)
    if high is not None:
        return t(lang, "up to {value}", value=fmt(high))
    if low is not None:
        return t(lang, "{value} or more", value=fmt(low))
    return ""


def _pair(value: str) -> tuple[float | None, float | None] | None:
    """'5000-8000', '-5000', '120-' -> (low, high); None when malformed or empty."""
    low, sep, high = value.partition("-")
    pair = (_whole(low), _whole(high))
    if not sep or pair == (None, None) or (low and pair[0] is None) or (high and pair[1] is None):
        return None
    return pair


def _whole(text: str) -> float | None:
    # Buttons carry whole numbers only: float() would take "nan" and "1e999", which no database stores.
    value = parse_int(text, 0, MAX_AMOUNT)
    return None if value is None else float(value)


def _range_options(env: Env, presets: list[tuple[int | None, int | None]], fmt: Callable[[float], str],
                   per_row: int = 3) -> Options:
    return _rows([(_range(env.lang, low, high, fmt), f"{low or ''}-{high or ''}") for low, high in presets], per_row)


# deal -----------------------------------------------------------------------------------------------------

def _pick_deal(env: Env, c: Criteria, value: str) -> bool:
    if value not in DEAL_NAMES:
        return False
    if c.deal_type != value:  # presets differ per deal: a rent budget is no sale budget
        _clear_budget(c)
    c.deal_type, c.deal_type_inferred = value, None
    return True


def _take_deal(c: Criteria, parsed: Criteria) -> bool:
    if parsed.deal_type_inferred and c.deal_type:
        return False  # a later bare budget ("9000") never overrides a deal type already chosen or stated
    if parsed.deal_type:
        c.deal_type, c.deal_type_inferred = parsed.deal_type, parsed.deal_type_inferred
    return bool(parsed.deal_type)


def _clear_deal(c: Criteria) -> None:
    c.deal_type = c.deal_type_inferred = None


# property type ---------------------------------------------------------------------------------------------

_KINDS = ("apartment", "house", "villa", "office", "shop")


def _pick_type(env: Env, c: Criteria, value: str) -> bool:
    if value not in _KINDS:
        return False
    c.property_types = [value]
    return True


def _take_type(c: Criteria, parsed: Criteria) -> bool:
    if parsed.property_types:
        c.property_types = list(parsed.property_types)
    return bool(parsed.property_types)


def _clear_type(c: Criteria) -> None:
    c.property_types = []


# districts -------------------------------------------------------------------------------------------------

def _district_options(env: Env, c: Criteria) -> Options:
    names = list(env.index.names)[:MAX_DISTRICT_BUTTONS]
    buttons = [(("✓ " if name in c.districts else "") + _district_name(env.lang, env.index, name),
                str(env.index.id_by_name.get(name, 0))) for name in names]
    rows = _rows(buttons, 3)
    if c.districts:
        rows.append([(t(env.lang, "Done"), "done")])
    return rows


def _pick_district(env: Env, c: Criteria, value: str) -> bool:
    district_id = parse_int(value)
    name = env.index.by_id.get(district_id) if district_id is not None else None
    if name is None:
        return False
    c.districts = [d for d in c.districts if d != name] if name in c.districts else [*c.districts, name]
    return True


def _take_districts(c: Criteria, parsed: Criteria) -> bool:
    if not (parsed.districts or parsed.district_candidates):
        return False
    c.districts = list(dict.fromkeys([*c.districts, *parsed.districts]))
    c.district_candidates = dict(parsed.district_candidates)
    return True


def _clear_districts(c: Criteria) -> None:
    c.districts, c.district_candidates = [], {}


# budget ----------------------------------------------------------------------------------------------------

def _budget_options(env: Env, c: Criteria) -> Options:
    return _range_options(env, BUDGETS.get(c.deal_type or "rent", BUDGETS["rent"]), lambda v: _money(env.lang, v))


def _pick_budget(env: Env, c: Criteria, value: str) -> bool:
    pair = _pair(value)
    if pair is None:
        return False
    _clear_budget(c)
    c.budget_min, c.budget_max = pair
    return True


def _take_budget(c: Criteria, parsed: Criteria) -> bool:
    if parsed.budget_max is None and parsed.budget_min is None:
        return False
    c.budget_min, c.budget_max, c.currency = parsed.budget_min, parsed.budget_max, parsed.currency
    c.currency_stated, c.exchange_rate = parsed.currency_stated, parsed.exchange_rate
    c.budget_stated_min, c.budget_stated_max = parsed.budget_stated_min, parsed.budget_stated_max
    return True


def _show_budget(env: Env, c: Criteria) -> str:
    amount = _range(env.lang, c.budget_min, c.budget_max, lambda v: _money(env.lang, v))
    return esc(amount + (t(env.lang, "/month") if amount and c.deal_type == "rent" else ""))


def _clear_budget(c: Criteria) -> None:
    c.budget_min = c.budget_max = c.currency = c.currency_stated = c.exchange_rate = None
    c.budget_stated_min = c.budget_stated_max = None


# bedrooms --------------------------------------------------------------------------------------------------

def _rooms_options(env: Env, c: Criteria) -> Options:
    return [[(t(env.lang, label) if low == 0 else label, f"{low}-{'' if high is None else high}")
             for label, low, high in ROOMS]]


def _pick_rooms(env: Env, c: Criteria, value: str) -> bool:
    pair = _pair(value)
    if pair is None or pair[0] is None:
        return False
    c.bedrooms_min, c.bedrooms_max = int(pair[0]), (int(pair[1]) if pair[1] is not None else None)
    return True


def _take_rooms(c: Criteria, parsed: Criteria) -> bool:
    if parsed.bedrooms_min is None and parsed.bedrooms_max is None:
        return False
    c.bedrooms_min, c.bedrooms_max = parsed.bedrooms_min, parsed.bedrooms_max
    return True


def _show_rooms(env: Env, c: Criteria) -> str:
    if c.bedrooms_max == 0:
        return t(env.lang, "Studio")
    return esc(_range(env.lang, c.bedrooms_min, c.bedrooms_max, lambda v: f"{v:g}"))


def _clear_rooms(c: Criteria) -> None:
    c.bedrooms_min = c.bedrooms_max = None


# size ------------------------------------------------------------------------------------------------------

def _pick_area(env: Env, c: Criteria, value: str) -> bool:
    pair = _pair(value)
    if pair is None:
        return False
    c.area_min, c.area_max = pair
    return True


def _take_area(c: Criteria, parsed: Criteria) -> bool:
    if parsed.area_min is None and parsed.area_max is None:
        return False
    c.area_min, c.area_max = parsed.area_min, parsed.area_max
    return True


def _clear_area(c: Criteria) -> None:
    c.area_min = c.area_max = None


# move-in ---------------------------------------------------------------------------------------------------

def _pick_move(env: Env, c: Criteria, value: str) -> bool:
    days = parse_int(value, 0, MAX_MOVE_IN_DAYS)
    if days is None:
        return False
    c.move_in_by = env.today + timedelta(days=days)
    return True


def _take_move(c: Criteria, parsed: Criteria) -> bool:
    if parsed.move_in_by is not None:
        c.move_in_by = parsed.move_in_by
    return parsed.move_in_by is not None


def _clear_move(c: Criteria) -> None:
    c.move_in_by = None


# must-haves ------------------------------------------------------------------------------------------------

def _chosen_features(c: Criteria) -> list[str]:
    flags = [slug for slug, on in (("pets", c.pets), ("furnished", c.furnished)) if on]
    return [*c.must_have, *flags]


def _show_features(env: Env, c: Criteria) -> str:
    names = [t(env.lang, N_("Partly furnished") if f == "furnished" and c.partly_furnished else FEATURE_NAMES[f])
             for f in _chosen_features(c) if f in FEATURE_NAMES]
    if c.decoration in DECORATION_NAMES:
        names.append(t(env.lang, DECORATION_NAMES[c.decoration]))
    return esc(", ".join(names))


def _feature_options(env: Env, c: Criteria) -> Options:
    chosen = set(_chosen_features(c))
    buttons = [(("✓ " if slug in chosen else "") + t(env.lang, FEATURE_NAMES[slug]), slug) for slug in MUST_HAVES]
    return [*_rows(buttons, 2), [(t(env.lang, "Done"), "done")]]


def _pick_feature(env: Env, c: Criteria, slug: str) -> bool:
    if slug not in MUST_HAVES:
        return False
    if slug == "pets":
        c.pets = None if c.pets else True
    elif slug == "furnished":
        c.furnished = None if c.furnished else True
        c.partly_furnished = None
    else:
        c.must_have = [f for f in c.must_have if f != slug] if slug in c.must_have else [*c.must_have, slug]
    return True


def _take_features(c: Criteria, parsed: Criteria) -> bool:
    if not (parsed.must_have or parsed.pets is not None or parsed.furnished is not None or parsed.exclude
            or parsed.decoration):
        return False
    c.must_have = list(dict.fromkeys([*c.must_have, *parsed.must_have]))
    c.pets = parsed.pets if parsed.pets is not None else c.pets
    if parsed.furnished is not None:
        c.furnished, c.partly_furnished = parsed.furnished, parsed.partly_furnished
    c.decoration = parsed.decoration or c.decoration
    c.exclude = list(dict.fromkeys([*c.exclude, *parsed.exclude]))
    return bool(parsed.must_have or parsed.pets is not None or parsed.furnished is not None or parsed.decoration)


def _clear_features(c: Criteria) -> None:
    c.must_have, c.pets, c.furnished, c.partly_furnished, c.decoration = [], None, None, None, None


STEPS: tuple[Step, ...] = (
    Step("deal", N_("Rent or buy"), N_("Do you want to rent or to buy?"),
         filled=lambda c: c.deal_type is not None,
         options=lambda env, c: [[(t(env.lang, DEAL_NAMES[deal]), deal) for deal in ("rent", "sale")]],
         pick=_pick_deal, take=_take_deal, clear=_clear_deal,
         show=lambda env, c: t(env.lang, DEAL_NAMES[c.deal_type]) if c.deal_type in DEAL_NAMES else "",
         core=True, skippable=False),
    Step("type", N_("Property type"), N_("What kind of property?"),
         filled=lambda c: bool(c.property_types),
         options=lambda env, c: _rows([(t(env.lang, PROPERTY_TYPE_NAMES[k]), k) for k in _KINDS], 3),
         pick=_pick_type, take=_take_type, clear=_clear_type,
         show=lambda env, c: esc(", ".join(t(env.lang, PROPERTY_TYPE_NAMES.get(p, p)) for p in c.property_types))),
    Step("dist", N_("Districts"),
         N_("Which districts? Tap all that suit you, or type names (spelling mistakes are fine)."),
         filled=lambda c: bool(c.districts), options=_district_options, pick=_pick_district,
         take=_take_districts, clear=_clear_districts, read=_read_districts, core=True, multi=True,
         show=lambda env, c: esc(", ".join(_district_name(env.lang, env.index, d) for d in c.districts))),
    Step("budget", N_("Budget"), N_("What is your budget? Pick a range or type an amount."),
         filled=lambda c: c.budget_max is not None or c.budget_min is not None, options=_budget_options,
         pick=_pick_budget, take=_take_budget, show=_show_budget, clear=_clear_budget, read=_read_budget,
         core=True),
    Step("rooms", N_("Bedrooms"), N_("How many bedrooms?"),
         filled=lambda c: c.bedrooms_min is not None or c.bedrooms_max is not None, options=_rooms_options,
         pick=_pick_rooms, take=_take_rooms, show=_show_rooms, clear=_clear_rooms, read=_read_rooms, core=True),
    Step("area", N_("Size"), N_("What size? Pick a range or type the minimum in m²."),
         filled=lambda c: c.area_min is not None or c.area_max is not None,
         options=lambda env, c: _range_options(env, AREAS, lambda v: f"{v:g} m²", per_row=2),
         pick=_pick_area, take=_take_area, clear=_clear_area, read=_read_area,
         show=lambda env, c: esc(_range(env.lang, c.area_min, c.area_max, lambda v: f"{v:g} m²"))),
    Step("move", N_("Move-in date"), N_("When do you want to move in?"),
         filled=lambda c: c.move_in_by is not None,
         options=lambda env, c: [[(t(env.lang, label), str(days))] for label, days in MOVE_IN],
         pick=_pick_move, take=_take_move, clear=_clear_move,
         show=lambda env, c: esc(c.move_in_by.isoformat()) if c.move_in_by else ""),
    Step("feat", N_("Must-haves"), N_("Any must-haves? Tap all that matter, then Done."),
         filled=lambda c: bool(_chosen_features(c) or c.decoration), options=_feature_options, pick=_pick_feature,
         take=_take_features, clear=_clear_features, multi=True, show=_show_features),
)
STEP_BY_NAME = {step.name: step for step in STEPS}


# ---- buttons -------------------------------------------------------------------------------------------

StepName = Annotated[str, one_of(STEP_BY_NAME)]


@dataclass(frozen=True)
class Answer(Token):
    """A step's button: "any" (skip), "done" (multi-select steps) or a value the step reads itself."""

    prefix = ""
    step: StepName
    value: str


@dataclass(frozen=True)
class EditStep(Token):
    prefix = "edit"
    step: StepName


@dataclass(frozen=True)
class SaveNeed(Token):
    prefix = "save"


@dataclass(frozen=True)
class StartOver(Token):
    prefix = "fresh"


@dataclass(frozen=True)
class DidYouMean(Token):
    prefix = "dym"
    district_id: int


@dataclass(frozen=True)
class NoneOfThese(Token):
    prefix = "dym:none"


# ---- state helpers -------------------------------------------------------------------------------------


def _criteria(ctx: DialogContext) -> Criteria:
    return Criteria.from_json(ctx.slots.get("criteria"))


def _store(ctx: DialogContext, criteria: Criteria, **extra: Any) -> None:
    ctx.set_slots(criteria=criteria.to_json(), **extra)


def _today(ctx: DialogContext) -> date:
    return ctx.now.astimezone(ctx.settings.tz).date()


async def _env(ctx: DialogContext) -> Env:
    index = await load_district_index(ctx.session)
    return Env(ctx.lang, index, _today(ctx), await load_price_levels(ctx.session, index, ctx.settings.usd_cny_rate))


def _next_step(ctx: DialogContext, criteria: Criteria) -> Step | None:
    """The first step not answered yet; after a one-sentence need only core steps are asked."""
    skipped = set(ctx.slots.get("skipped") or [])
    sentence = ctx.slots.get("mode") == "sentence"
    return next((step for step in STEPS if not step.filled(criteria) and step.name not in skipped
                 and (step.core or not sentence)), None)


def _merge(into: Criteria, parsed: Criteria) -> list[str]:
    """Copy what the parser understood; returns the names of the steps that got something."""
    return [step.name for step in STEPS if step.take(into, parsed)]


# ---- rendering -----------------------------------------------------------------------------------------


def describe(env: Env, criteria: Criteria) -> dict[str, str]:
    """Each step's value as text (already HTML-escaped); 'any' when not stated."""
    return {step.name: step.show(env, criteria) or t(env.lang, "any") for step in STEPS}


def _line(lang: str, label: str, value: str) -> str:
    # The value is already escaped HTML: put it in after translation so it is not escaped twice.
    return t(lang, "{label}: {value}", label=t(lang, label), value="\0").replace("\0", value)


def summary_text(env: Env, criteria: Criteria, heading: str | None = None) -> str:
    values = describe(env, criteria)
    lines = [heading or t(env.lang, "Here is what you are looking for:")]
    lines += ["• " + _line(env.lang, step.label, values[step.name]) for step in STEPS]
    return "\n".join(lines + ["", *notes] if (notes := _notes(env, criteria)) else lines)


def _understood_text(env: Env, criteria: Criteria, touched: list[str]) -> str:
    values = describe(env, criteria)
    parts = [_line(env.lang, STEP_BY_NAME[name].label, values[name]) for name in touched]
    text = t(env.lang, "Got it:") + " " + t(env.lang, "; ").join(parts)
    notes = _notes(env, criteria) if {"deal", "budget"} & set(touched) else []
    return "\n".join([text, *notes])


def _notes(env: Env, criteria: Criteria) -> list[str]:
    """What was read rather than said, said back so the customer can correct it."""
    out = []
    if criteria.deal_type_inferred and criteria.deal_type in DEAL_NAMES:
        message = (N_("No rent or buy word, so I took it as renting from the size of the budget; tap “Edit: Rent "
                      "or buy” if you want to buy.") if criteria.deal_type == "rent" else
                   N_("No rent or buy word, so I took it as buying from the size of the budget; tap “Edit: Rent or "
                      "buy” if you want to rent."))
        out.append("ℹ️ " + t(env.lang, message))
    if criteria.currency_stated == "USD" and criteria.exchange_rate:
        stated = _range(env.lang, criteria.budget_stated_min, criteria.budget_stated_max, lambda v: f"${v:,.0f}")
        converted = _range(env.lang, criteria.budget_min, criteria.budget_max, lambda v: f"¥{v:,.0f}")
        out.append("💱 " + t(env.lang, "{stated} in US dollars is {converted} at {rate} yuan per dollar.",
                            stated=stated, converted=converted, rate=f"{criteria.exchange_rate:g}"))
    return out


# A value the parser questioned ('9999999999 bedrooms'): the step that asks for it again, and how.
QUESTIONED: dict[str, tuple[str, str]] = {
    "budget": ("budget", N_("You wrote “{words}” for the budget, which is far from what homes here cost (or not a "
                            "number I can read). What is your budget?")),
    "bedrooms": ("rooms", N_("You wrote “{words}”: that is more bedrooms than any home here has. How many bedrooms "
                             "do you need?")),
    "area": ("area", N_("You wrote “{words}” for the size, which is far from the size of homes here. What size do "
                        "you need?")),
}


def _questioned(ctx: DialogContext, criteria: Criteria, env: Env, lead: str) -> Say | None:
    """Ask again for a value that was read but not believed, quoting what the customer wrote."""
    for field, words in list(criteria.questioned.items()):
        criteria.questioned.pop(field)
        if field not in QUESTIONED:
            continue
        step_name, message = QUESTIONED[field]
        _store(ctx, criteria)
        question = ctx.t(message, words=words)
        return _ask(ctx, STEP_BY_NAME[step_name], criteria, env, lead=(lead + "\n\n" if lead else "") + question)
    return None


def _ask(ctx: DialogContext, step: Step, criteria: Criteria, env: Env, *, lead: str = "",
         edit: bool = False) -> Say:
    ctx.goto(NAME, step.name)
    rows = [[needs_button(label, Answer(step.name, value)) for label, value in row]
            for row in step.options(env, criteria)]
    if step.skippable:
        rows.append([needs_button(ctx.t("Any / skip"), Answer(step.name, "any"))])
    text = (lead + "\n\n" if lead else "") + ctx.t(step.prompt)
    return Say(text, choices=rows, edit=edit)


def _summary(ctx: DialogContext, criteria: Criteria, env: Env, *, edit: bool = False) -> Say:
    ctx.goto(NAME, "summary")
    edits = [needs_button(ctx.t("Edit: {what}", what=ctx.t(s.label)), EditStep(s.name)) for s in STEPS]
    rows = [[needs_button(ctx.t("✅ Show matches"), SaveNeed())]]
    rows += [edits[i:i + 2] for i in range(0, len(edits), 2)]
    rows.append([needs_button(ctx.t("Start over"), StartOver())])
    return Say(summary_text(env, criteria), choices=rows, edit=edit)


def _did_you_mean(ctx: DialogContext, criteria: Criteria, env: Env) -> Say | None:
    if not criteria.district_candidates:
        return None
    typed, candidates = next(iter(criteria.district_candidates.items()))
    ctx.goto(NAME, "dist")
    rows = [[needs_button(_district_name(ctx.lang, env.index, name), DidYouMean(env.index.id_by_name[name]))]
            for name in candidates[:4] if env.index.id_by_name.get(name) is not None]
    rows.append([needs_button(ctx.t("None of these"), NoneOfThese())])
    return Say(ctx.t("I am not sure which district you mean by “{typed}”. Did you mean:", typed=typed), choices=rows)


async def _continue(ctx: DialogContext, criteria: Criteria, *, lead: str = "", edit: bool = False) -> list[Reply]:
    """Ask what is still missing (did-you-mean first), or show the summary.

    `lead` echoes what was just understood; the summary shows all of it anyway, so it is left out there.
    """
    env = await _env(ctx)
    _store(ctx, criteria)
    question = _did_you_mean(ctx, criteria, env)
    if question is not None:
        return [Say(lead), question] if lead else [question]
    confirm = _questioned(ctx, criteria, env, lead)
    if confirm is not None:
        return [confirm]
    step = None if ctx.slots.get("editing") else _next_step(ctx, criteria)
    ctx.set_slots(editing=False)
    if step is None:
        return [_summary(ctx, criteria, env, edit=edit)]
    return [_ask(ctx, step, criteria, env, lead=lead, edit=edit)]


# ---- the flow ------------------------------------------------------------------------------------------


def _begin(ctx: DialogContext, criteria: Criteria | None = None, mode: str = "steps", source: str = "") -> None:
    ctx.clear()
    ctx.goto(NAME, STEPS[0].name, criteria=(criteria or Criteria()).to_json(), skipped=[], mode=mode,
             editing=False, source=source)


def _understood(touched: list[str], criteria: Criteria) -> list[str]:
    # Text that only produced "did you mean" candidates is not worth echoing as understood.
    return [name for name in touched if name != "dist" or criteria.districts]


async def take_sentence(ctx: DialogContext, text: str) -> list[Reply] | None:
    """A free-text need ("2-bedroom to rent near Wangjing under 8k"): fill what it says, ask for the rest."""
    env = await _env(ctx)
    parsed = parse_need(text, env.index, env.today, env.levels)
    if parsed.is_empty() or _owner(parsed):
        return None
    _begin(ctx, mode="sentence", source=text[:1000])
    criteria = Criteria()
    touched = _merge(criteria, parsed)
    criteria.questioned = dict(parsed.questioned)
    if (criteria.deal_type and not criteria.district_candidates and not criteria.questioned
            and _next_step(ctx, criteria) is None):
        return await _save_and_show(ctx, criteria, env)
    return await _continue(ctx, criteria, lead=_understood_text(env, criteria, _understood(touched, criteria)))


def _owner(parsed: Criteria) -> bool:
    """An owner who wants to sell or let (matching.owner_intent): not someone looking for a home."""
    return bool({"seller_intent", "landlord_intent"} & set(parsed.warnings))


async def _save_and_show(ctx: DialogContext, criteria: Criteria, env: Env) -> list[Reply]:
    """A complete one-sentence need: saved, summed up with a button to change it, and its matches at once."""
    deal = str(criteria.deal_type)
    criteria.warnings = []
    await needs_repo.save(ctx.session, ctx.customer.id, deal, criteria.to_json(), ctx.slots.get("source") or None)
    ctx.clear()
    text = summary_text(env, criteria) + "\n\n" + ctx.t("Saved. I will also tell you when a new home matching this "
                                                         "appears.")
    summary = Say(text, choices=[[needs_button(ctx.t("Edit my search"), OpenNeed(deal))]])
    return [summary, *await show_results(ctx, deal, 0)]


class NeedsFlow(Flow):
    name = NAME
    menu_label = N_("Find a home")
    commands = ("find", "search")
    # Phrases, not bare nouns: "my apartment has a leak" is a repair, not a search.
    intent_words = ("find a home", "find a flat", "find an apartment", "looking for a flat", "looking for an apartment",
                    "flat to rent", "rent", "buy", "找房", "租房", "买房", "求租", "购房")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        if event.kind == "text" and event.text.strip():
            # "What documents do I need to rent?" names a deal type but is a question: the FAQ answers it.
            if await _understood_count(ctx, event.text) < 2:
                from dialogs.flows.faq import faq_fallback

                answer = await faq_fallback(ctx, event)
                if answer is not None:
                    return answer
            replies = await take_sentence(ctx, event.text)
            if replies is not None:
                return replies
            env = await _env(ctx)
            if _owner(parsed := parse_need(event.text, env.index, env.today, env.levels)):
                # Not a search: say so rather than start one (the owner intake, where there is one, routes first).
                ctx.clear()
                message = (N_("It sounds like you want to sell your home rather than find one. An agent can help: "
                              "choose what you need below.") if "seller_intent" in parsed.warnings else
                           N_("It sounds like you want to let your home rather than find one. An agent can help: "
                              "choose what you need below."))
                return [main_menu(ctx, ctx.t(message))]
        saved = await needs_repo.for_customer(ctx.session, ctx.customer.id)
        if saved and event.kind != "text":
            return [await self._overview(ctx, saved)]
        _begin(ctx)
        lead = ctx.t("Tell me in one sentence what you are looking for, for example “2-bedroom to rent in "
                     "Wangjing under 8k from March” — or answer a few questions.")
        return [_ask(ctx, STEPS[0], Criteria(), await _env(ctx), lead=lead)]

    async def _overview(self, ctx: DialogContext, saved: Sequence[Need]) -> Say:
        env = await _env(ctx)
        ctx.clear()
        lines = [ctx.t("Your saved searches:")]
        rows = []
        for need in saved:
            values = describe(env, Criteria.from_json(need.criteria))
            state = "" if need.active else " " + ctx.t("(paused)")
            lines.append(f"• <b>{values['deal']}</b>{state}: {values['dist']}, {values['budget']}, "
                         f"{_line(ctx.lang, STEP_BY_NAME['rooms'].label, values['rooms'])}")
            label = ctx.t(DEAL_NAMES.get(need.deal_type, need.deal_type))
            rows.append([recommend_button(ctx.t("See matches: {deal}", deal=label), ShowMatch(need.deal_type, 0)),
                         needs_button(ctx.t("Edit: {what}", what=label), OpenNeed(need.deal_type))])
        rows.append([needs_button(ctx.t("New search"), StartOver())])
        return Say("\n".join(lines), choices=rows)

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        pressed = decode(token, StartOver, OpenNeed, SaveNeed, EditStep, DidYouMean, NoneOfThese, Answer)
        match pressed:
            case StartOver():
                _begin(ctx)
                return [_ask(ctx, STEPS[0], Criteria(), await _env(ctx), edit=True)]
            case OpenNeed(deal):
                need = await needs_repo.get(ctx.session, ctx.customer.id, deal)
                if need is None:
                    return None
                criteria = Criteria.from_json(need.criteria)
                _begin(ctx, criteria, source=need.source_text or "")
                return [_summary(ctx, criteria, await _env(ctx), edit=True)]
        if pressed is None or ctx.conversation.flow != NAME or "criteria" not in ctx.slots:
            return None  # a stale or forged button, or one of an intake that is over
        criteria = _criteria(ctx)
        match pressed:
            case SaveNeed():
                return await self._save(ctx, criteria)
            case EditStep(step):
                ctx.set_slots(editing=True)
                return [_ask(ctx, STEP_BY_NAME[step], criteria, await _env(ctx), edit=True)]
            case DidYouMean(district_id):
                return await self._did_you_mean_answer(ctx, criteria, district_id)
            case NoneOfThese():
                return await self._did_you_mean_answer(ctx, criteria, None)
            case Answer(step, value):
                return await self._button(ctx, STEP_BY_NAME[step], criteria, value)
        return None

    async def _button(self, ctx: DialogContext, step: Step, criteria: Criteria, value: str) -> list[Reply] | None:
        """Any step's button: skip, Done (multi-select steps), or a value the step itself interprets."""
        done = value == "done" and step.multi
        if (value == "any" and step.skippable) or (done and not step.filled(criteria)):
            ctx.set_slots(skipped=sorted({*(ctx.slots.get("skipped") or []), step.name}))
            step.clear(criteria)
            return await _continue(ctx, criteria, edit=True)
        if done:
            return await _continue(ctx, criteria, edit=True)
        env = await _env(ctx)
        if not step.pick(env, criteria, value):
            return None
        if step.multi:  # stay on the step: several can be picked
            _store(ctx, criteria)
            return [_ask(ctx, step, criteria, env, edit=True)]
        return await _continue(ctx, criteria, edit=True)

    async def _did_you_mean_answer(self, ctx: DialogContext, criteria: Criteria,
                                   district_id: int | None) -> list[Reply] | None:
        """The customer picked one of the districts offered, or None of these (`district_id` None)."""
        env = await _env(ctx)
        if district_id is not None:
            name = env.index.by_id.get(district_id)
            if name is None:
                return None
            if name not in criteria.districts:
                criteria.districts.append(name)
        if criteria.district_candidates:
            criteria.district_candidates.pop(next(iter(criteria.district_candidates)))
        if district_id is None and not criteria.districts and not criteria.district_candidates:
            _store(ctx, criteria)
            return [_ask(ctx, STEP_BY_NAME["dist"], criteria, env, edit=True)]
        return await _continue(ctx, criteria, edit=True)

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if event.kind != "text" or not event.text.strip() or "criteria" not in ctx.slots:
            return None
        step = STEP_BY_NAME.get(ctx.conversation.step or "")
        if step is None and ctx.conversation.step != "summary":
            return None
        env = await _env(ctx)
        criteria = _criteria(ctx)
        text = event.text.strip()
        parsed = parse_need(text, env.index, env.today, env.levels)
        touched = _merge(criteria, parsed)
        if parsed.questioned:
            criteria.questioned.update(parsed.questioned)
            touched.extend(STEP_BY_NAME[QUESTIONED[f][0]].name for f in parsed.questioned if f in QUESTIONED)
        if step is not None and step.name not in touched and step.read(text, criteria, env.index, env.today):
            touched.append(step.name)
        if not touched:
            return None  # not an answer: the engine tries intents and the FAQ
        if len(touched) > 1 and ctx.slots.get("mode") != "steps":
            ctx.set_slots(mode="sentence")
        asked_again = {QUESTIONED[f][0] for f in criteria.questioned if f in QUESTIONED}
        shown = [name for name in _understood(touched, criteria) if name not in asked_again]
        lead = _understood_text(env, criteria, shown) if shown else ""
        return await _continue(ctx, criteria, lead=lead if len(shown) > 1 or step is None else "")

    async def _save(self, ctx: DialogContext, criteria: Criteria) -> list[Reply]:
        if criteria.deal_type is None:
            return [_ask(ctx, STEP_BY_NAME["deal"], criteria, await _env(ctx), edit=True)]
        criteria.district_candidates = {}
        criteria.warnings = []
        await needs_repo.save(ctx.session, ctx.customer.id, criteria.deal_type, criteria.to_json(),
                              ctx.slots.get("source") or None)
        ctx.clear()
        lead = ctx.t("Saved. I will also tell you when a new home matching this appears.")
        return [Say(lead, edit=True), *await show_results(ctx, criteria.deal_type, 0)]


async def sentence_fallback(ctx: DialogContext, event: Inbound) -> list[Reply] | None:
    """Free text outside any flow that reads like a need (at least two things understood) starts the intake."""
    if event.kind != "text" or ctx.conversation.flow not in (None, NAME):
        return None
    if await _understood_count(ctx, event.text) < 2:
        return None
    return await take_sentence(ctx, event.text)


async def _understood_count(ctx: DialogContext, text: str) -> int:
    env = await _env(ctx)
    parsed = parse_need(text, env.index, env.today, env.levels)
    if _owner(parsed):
        return 0  # an owner's sentence never starts a search
    return sum(1 for step in STEPS if step.filled(parsed)) + bool(parsed.district_candidates) + len(parsed.questioned)
