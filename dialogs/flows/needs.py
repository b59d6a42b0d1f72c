"""Needs intake: what a customer wants to rent or buy, from one sentence or step by step.

The intake is a table of steps (STEPS). Each step names the criteria it fills, its question, its buttons and
how to read a typed answer. Typed text is first read by the matching parser (so one sentence can fill many
steps at once); a step's own reader handles bare answers such as "8000" or "2". The customer is asked only for
what is still missing: after a one-sentence need only the core steps, step by step every step. A summary with
edit buttons ends the intake; saving it stores the Need (one per customer and deal type) and shows matches.

Conversation slots: criteria (matching.Criteria JSON), skipped (step names answered with "any"),
mode ("sentence" | "steps"), editing (return to the summary after one answer), source (the customer's words).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dialogs import engine
from dialogs.cards import DEAL_NAMES, FEATURE_NAMES, PROPERTY_TYPE_NAMES, local_tz
from dialogs.flow import DialogContext, Flow, register
from dialogs.i18n import N_, esc, t
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say
from matching.criteria import Criteria
from matching.districts import DistrictIndex, load_district_index
from matching.parse import parse_need
from storage.repositories import needs as needs_repo

NAME = "need"
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
_NUMBER = re.compile(r"^\s*[¥$]?\s*(\d+(?:[.,]\d+)?)\s*(k|w|万|千|m)?\s*(?:元|块|rmb|cny|m2|m²|平米|平|sqm)?\s*$")
_SEPARATORS = re.compile(r"[,，、;/]|\band\b|和|或")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_ROOM_DIGIT = re.compile(r"^\s*([0-9一二两三四五])\s*(?:室|居|房|bedrooms?|br|beds?)?\s*\+?\s*$")


# ---- reading typed answers ------------------------------------------------------------------------------


def _bare_amount(text: str) -> float | None:
    m = _NUMBER.match(text.lower())
    if not m:
        return None
    value = float(m.group(1).replace(",", ""))
    return value * {"k": 1e3, "千": 1e3, "w": 1e4, "万": 1e4, "m": 1e6}.get(m.group(2) or "", 1)


def _read_budget(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    value = _bare_amount(text)
    if value is None or value <= 0:
        return False
    criteria.budget_max = value
    return True


def _read_rooms(text: str, criteria: Criteria, index: DistrictIndex, today: date) -> bool:
    m = _ROOM_DIGIT.match(text.lower())
    if not m:
        return False
    n = "一二两三四五".find(m.group(1))
    n = int(m.group(1)) if n < 0 else (n if n < 2 else n - 1) + 1
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
    if not _CJK.fullmatch(text) or not 2 <= len(text) <= 6:
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

Reader = Callable[[str, Criteria, DistrictIndex, date], bool]


@dataclass(frozen=True)
class Step:
    name: str
    prompt: str  # msgid
    filled: Callable[[Criteria], bool]
    read: Reader  # a bare typed answer for this step; sentences go through the matching parser first
    core: bool  # asked even after a one-sentence need
    skippable: bool = True


STEPS: tuple[Step, ...] = (
    Step("deal", N_("Do you want to rent or to buy?"), lambda c: c.deal_type is not None, _nothing, True, False),
    Step("type", N_("What kind of property?"), lambda c: bool(c.property_types), _nothing, False),
    Step("dist", N_("Which districts? Tap all that suit you, or type names (spelling mistakes are fine)."),
         lambda c: bool(c.districts), _read_districts, True),
    Step("budget", N_("What is your budget? Pick a range or type an amount."),
         lambda c: c.budget_max is not None or c.budget_min is not None, _read_budget, True),
    Step("rooms", N_("How many bedrooms?"), lambda c: c.bedrooms_min is not None or c.bedrooms_max is not None,
         _read_rooms, True),
    Step("area", N_("What size? Pick a range or type the minimum in m²."),
         lambda c: c.area_min is not None or c.area_max is not None, _read_area, False),
    Step("move", N_("When do you want to move in?"), lambda c: c.move_in_by is not None, _nothing, False),
    Step("feat", N_("Any must-haves? Tap all that matter, then Done."),
         lambda c: bool(c.must_have) or c.pets is not None or c.furnished is not None, _nothing, False),
)
STEP_BY_NAME = {step.name: step for step in STEPS}
STEP_LABELS = {
    "deal": N_("Rent or buy"), "type": N_("Property type"), "dist": N_("Districts"), "budget": N_("Budget"),
    "rooms": N_("Bedrooms"), "area": N_("Size"), "move": N_("Move-in date"), "feat": N_("Must-haves"),
}


# ---- state helpers -------------------------------------------------------------------------------------


def _criteria(ctx: DialogContext) -> Criteria:
    return Criteria.from_json(ctx.slots.get("criteria"))


def _store(ctx: DialogContext, criteria: Criteria, **extra: Any) -> None:
    ctx.set_slots(criteria=criteria.to_json(), **extra)


def _today(ctx: DialogContext) -> date:
    return ctx.now.astimezone(local_tz()).date()


def _next_step(ctx: DialogContext, criteria: Criteria) -> Step | None:
    skipped = set(ctx.slots.get("skipped") or [])
    sentence = ctx.slots.get("mode") == "sentence"
    for step in STEPS:
        if step.filled(criteria) or step.name in skipped:
            continue
        if sentence and not step.core:
            continue
        return step
    return None


def _merge(into: Criteria, parsed: Criteria) -> list[str]:
    """Copy what the parser understood; returns the names of the steps that got something."""
    touched = []
    for step in STEPS:
        before = step.filled(into)
        if step.name == "deal" and parsed.deal_type:
            into.deal_type = parsed.deal_type
        elif step.name == "type" and parsed.property_types:
            into.property_types = list(parsed.property_types)
        elif step.name == "dist" and (parsed.districts or parsed.district_candidates):
            into.districts = list(dict.fromkeys([*into.districts, *parsed.districts]))
            into.district_candidates = dict(parsed.district_candidates)
        elif step.name == "budget" and (parsed.budget_max is not None or parsed.budget_min is not None):
            into.budget_min, into.budget_max, into.currency = parsed.budget_min, parsed.budget_max, parsed.currency
        elif step.name == "rooms" and (parsed.bedrooms_min is not None or parsed.bedrooms_max is not None):
            into.bedrooms_min, into.bedrooms_max = parsed.bedrooms_min, parsed.bedrooms_max
        elif step.name == "area" and (parsed.area_min is not None or parsed.area_max is not None):
            into.area_min, into.area_max = parsed.area_min, parsed.area_max
        elif step.name == "move" and parsed.move_in_by is not None:
            into.move_in_by = parsed.move_in_by
        elif step.name == "feat" and (parsed.must_have or parsed.pets is not None or parsed.furnished is not None):
            into.must_have = list(dict.fromkeys([*into.must_have, *parsed.must_have]))
            into.pets = parsed.pets if parsed.pets is not None else into.pets
            into.furnished = parsed.furnished if parsed.furnished is not None else into.furnished
            into.exclude = list(dict.fromkeys([*into.exclude, *parsed.exclude]))
        else:
            continue
        if step.filled(into) or not before:
            touched.append(step.name)
    return touched


# ---- rendering -----------------------------------------------------------------------------------------


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
    return t(lang, "any")


def _district_name(lang: str, index: DistrictIndex, name: str) -> str:
    return index.name_zh(name) if lang == "zh" else name


def describe(lang: str, criteria: Criteria, index: DistrictIndex) -> dict[str, str]:
    """Each step's value as text (already HTML-escaped); 'any' when not stated."""
    anything = t(lang, "any")
    per_month = t(lang, "/month") if criteria.deal_type == "rent" else ""
    features = [t(lang, FEATURE_NAMES[f]) for f in criteria.must_have if f in FEATURE_NAMES]
    if criteria.pets:
        features.append(t(lang, FEATURE_NAMES["pets"]))
    if criteria.furnished:
        features.append(t(lang, FEATURE_NAMES["furnished"]))
    rooms = _range(lang, criteria.bedrooms_min, criteria.bedrooms_max, lambda v: f"{v:g}")
    if criteria.bedrooms_max == 0:
        rooms = t(lang, "Studio")
    return {
        "deal": t(lang, DEAL_NAMES[criteria.deal_type]) if criteria.deal_type in DEAL_NAMES else anything,
        "type": esc(", ".join(t(lang, PROPERTY_TYPE_NAMES.get(p, p)) for p in criteria.property_types)) or anything,
        "dist": esc(", ".join(_district_name(lang, index, d) for d in criteria.districts)) or anything,
        "budget": esc(_range(lang, criteria.budget_min, criteria.budget_max, lambda v: _money(lang, v))
                      + (per_month if criteria.budget_max or criteria.budget_min else "")),
        "rooms": esc(rooms),
        "area": esc(_range(lang, criteria.area_min, criteria.area_max, lambda v: f"{v:g} m²")),
        "move": esc(criteria.move_in_by.isoformat()) if criteria.move_in_by else anything,
        "feat": esc(", ".join(features)) or anything,
    }


def summary_text(lang: str, criteria: Criteria, index: DistrictIndex, heading: str | None = None) -> str:
    values = describe(lang, criteria, index)
    lines = [heading or t(lang, "Here is what you are looking for:")]
    lines += ["• " + t(lang, "{label}: {value}", label=t(lang, STEP_LABELS[step.name]), value="\0").replace(
        "\0", values[step.name]) for step in STEPS]
    return "\n".join(lines)


def _understood_text(lang: str, criteria: Criteria, index: DistrictIndex, touched: list[str]) -> str:
    values = describe(lang, criteria, index)
    parts = [t(lang, "{label}: {value}", label=t(lang, STEP_LABELS[name]), value="\0").replace("\0", values[name])
             for name in touched]
    return t(lang, "Got it:") + " " + t(lang, "; ").join(parts)


def _step_choices(ctx: DialogContext, step: Step, criteria: Criteria, index: DistrictIndex) -> list[list[Choice]]:
    lang = ctx.lang

    def c(label: str, value: str) -> Choice:
        return Choice(label, f"{NAME}:{step.name}:{value}")

    rows: list[list[Choice]]
    if step.name == "deal":
        rows = [[c(t(lang, N_("Rent")), "rent"), c(t(lang, N_("Buy")), "sale")]]
    elif step.name == "type":
        kinds = list(PROPERTY_TYPE_NAMES)[:5]
        rows = [[c(t(lang, PROPERTY_TYPE_NAMES[k]), k) for k in kinds[i:i + 3]] for i in range(0, len(kinds), 3)]
    elif step.name == "dist":
        names = list(index.names)[:MAX_DISTRICT_BUTTONS]
        buttons = [
            c(("✓ " if name in criteria.districts else "") + _district_name(lang, index, name),
              str(index.id_by_name.get(name, i)))
            for i, name in enumerate(names)
        ]
        rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
        if criteria.districts:
            rows.append([c(t(lang, "Done"), "done")])
    elif step.name == "budget":
        presets = BUDGETS.get(criteria.deal_type or "rent", BUDGETS["rent"])
        buttons = [c(_range(lang, low, high, lambda v: _money(lang, v)), f"{low or ''}-{high or ''}")
                   for low, high in presets]
        rows = [buttons[:3], buttons[3:]]
    elif step.name == "rooms":
        rows = [[c(t(lang, label) if label == ROOMS[0][0] else label, f"{low}-{'' if high is None else high}")
                 for label, low, high in ROOMS]]
    elif step.name == "area":
        rows = [[c(_range(lang, low, high, lambda v: f"{v:g} m²"), f"{low or ''}-{high or ''}")
                 for low, high in AREAS[:2]],
                [c(_range(lang, low, high, lambda v: f"{v:g} m²"), f"{low or ''}-{high or ''}")
                 for low, high in AREAS[2:]]]
    elif step.name == "move":
        rows = [[c(t(lang, label), str(days))] for label, days in MOVE_IN]
    else:  # feat
        chosen = set(criteria.must_have)
        chosen |= {slug for slug, on in (("pets", criteria.pets), ("furnished", criteria.furnished)) if on}
        buttons = [c(("✓ " if slug in chosen else "") + t(lang, FEATURE_NAMES[slug]), slug) for slug in MUST_HAVES]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        rows.append([c(t(lang, "Done"), "done")])
    if step.skippable:
        rows.append([c(t(lang, "Any / skip"), "any")])
    return rows


def _ask(ctx: DialogContext, step: Step, criteria: Criteria, index: DistrictIndex, *, lead: str = "",
         edit: bool = False) -> Say:
    ctx.goto(NAME, step.name)
    text = (lead + "\n\n" if lead else "") + ctx.t(step.prompt)
    return Say(text, choices=_step_choices(ctx, step, criteria, index), edit=edit)


def _summary(ctx: DialogContext, criteria: Criteria, index: DistrictIndex, *, lead: str = "",
             edit: bool = False) -> Say:
    ctx.goto(NAME, "summary")
    text = (lead + "\n\n" if lead else "") + summary_text(ctx.lang, criteria, index)
    edits = [Choice(ctx.t("Edit: {what}", what=ctx.t(STEP_LABELS[s.name])), f"{NAME}:edit:{s.name}") for s in STEPS]
    rows = [[Choice(ctx.t("✅ Show matches"), f"{NAME}:save")]]
    rows += [edits[i:i + 2] for i in range(0, len(edits), 2)]
    rows.append([Choice(ctx.t("Start over"), f"{NAME}:fresh")])
    return Say(text, choices=rows, edit=edit)


def _did_you_mean(ctx: DialogContext, criteria: Criteria, index: DistrictIndex) -> Say | None:
    if not criteria.district_candidates:
        return None
    typed, candidates = next(iter(criteria.district_candidates.items()))
    ctx.goto(NAME, "dist")
    rows = [[Choice(_district_name(ctx.lang, index, name), f"{NAME}:dym:{index.id_by_name.get(name, 0)}")]
            for name in candidates[:4] if name in index.id_by_name]
    rows.append([Choice(ctx.t("None of these"), f"{NAME}:dym:none")])
    return Say(ctx.t("I am not sure which district you mean by “{typed}”. Did you mean:", typed=typed), choices=rows)


async def _continue(ctx: DialogContext, criteria: Criteria, *, lead: str = "", edit: bool = False) -> list[Reply]:
    """Ask what is still missing (did-you-mean first), or show the summary.

    `lead` echoes what was just understood; the summary shows all of it anyway, so it is left out there.
    """
    index = await load_district_index(ctx.session)
    _store(ctx, criteria)
    question = _did_you_mean(ctx, criteria, index)
    if question is not None:
        return [Say(lead), question] if lead else [question]
    if ctx.slots.get("editing"):
        ctx.set_slots(editing=False)
        return [_summary(ctx, criteria, index, edit=edit)]
    step = _next_step(ctx, criteria)
    if step is None:
        return [_summary(ctx, criteria, index, edit=edit)]
    return [_ask(ctx, step, criteria, index, lead=lead, edit=edit)]


# ---- the flow ------------------------------------------------------------------------------------------


def _begin(ctx: DialogContext, criteria: Criteria | None = None, mode: str = "steps", source: str = "") -> None:
    ctx.clear()
    ctx.goto(NAME, "deal", criteria=(criteria or Criteria()).to_json(), skipped=[], mode=mode, editing=False,
             source=source)


async def take_sentence(ctx: DialogContext, text: str) -> list[Reply] | None:
    """A free-text need ("2-bedroom to rent near Wangjing under 8k"): fill what it says, ask for the rest."""
    index = await load_district_index(ctx.session)
    parsed = parse_need(text, index, _today(ctx))
    if parsed.is_empty():
        return None
    _begin(ctx, mode="sentence", source=text[:1000])
    criteria = Criteria()
    touched = _merge(criteria, parsed)
    if parsed.exclude:
        criteria.exclude = list(parsed.exclude)
    lead = _understood_text(ctx.lang, criteria, index, [n for n in touched if n != "dist" or criteria.districts])
    return await _continue(ctx, criteria, lead=lead)


class NeedsFlow(Flow):
    name = NAME
    menu_label = N_("Find a home")
    menu_order = 10
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
        saved = await needs_repo.for_customer(ctx.session, ctx.customer.id)
        if saved and event.kind != "text":
            return [await self._overview(ctx, saved)]
        _begin(ctx)
        index = await load_district_index(ctx.session)
        lead = ctx.t("Tell me in one sentence what you are looking for, for example “2-bedroom to rent in "
                     "Wangjing under 8k from March” — or answer a few questions.")
        return [_ask(ctx, STEPS[0], Criteria(), index, lead=lead)]

    async def _overview(self, ctx: DialogContext, saved: Any) -> Say:
        index = await load_district_index(ctx.session)
        ctx.clear()
        lines = [ctx.t("Your saved searches:")]
        rows = []
        for need in saved:
            criteria = Criteria.from_json(need.criteria)
            values = describe(ctx.lang, criteria, index)
            state = "" if need.active else " " + ctx.t("(paused)")
            lines.append(f"• <b>{values['deal']}</b>{state}: {values['dist']}, {values['budget']}, "
                         f"{ctx.t(STEP_LABELS['rooms'])} {values['rooms']}")
            label = ctx.t(DEAL_NAMES.get(need.deal_type, need.deal_type))
            rows.append([Choice(ctx.t("See matches: {deal}", deal=label), f"rec:s:{need.deal_type}:0"),
                         Choice(ctx.t("Edit: {what}", what=label), f"{NAME}:open:{need.deal_type}")])
        rows.append([Choice(ctx.t("New search"), f"{NAME}:fresh")])
        return Say("\n".join(lines), choices=rows)

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        action, _, value = token.partition(":")
        if action == "fresh":
            _begin(ctx)
            index = await load_district_index(ctx.session)
            return [_ask(ctx, STEPS[0], Criteria(), index, edit=True)]
        if action == "open":
            need = await needs_repo.get(ctx.session, ctx.customer.id, value)
            if need is None:
                return None
            _begin(ctx, Criteria.from_json(need.criteria), source=need.source_text or "")
            index = await load_district_index(ctx.session)
            return [_summary(ctx, Criteria.from_json(need.criteria), index, edit=True)]
        if ctx.conversation.flow != NAME or "criteria" not in ctx.slots:
            return None  # a button of an intake that is over
        criteria = _criteria(ctx)
        if action == "save":
            return await self._save(ctx, criteria)
        if action == "edit" and value in STEP_BY_NAME:
            ctx.set_slots(editing=True)
            index = await load_district_index(ctx.session)
            return [_ask(ctx, STEP_BY_NAME[value], criteria, index, edit=True)]
        if action == "dym":
            return await self._did_you_mean_answer(ctx, criteria, value)
        step = STEP_BY_NAME.get(action)
        if step is None:
            return None
        return await self._button(ctx, step, criteria, value)

    async def _button(self, ctx: DialogContext, step: Step, criteria: Criteria, value: str) -> list[Reply] | None:
        index = await load_district_index(ctx.session)
        if value == "any" and step.skippable:
            ctx.set_slots(skipped=sorted({*(ctx.slots.get("skipped") or []), step.name}))
            _clear_step(criteria, step.name)
            return await _continue(ctx, criteria, edit=True)
        if step.name == "deal" and value in DEAL_NAMES:
            if criteria.deal_type != value:  # presets differ per deal: a rent budget is no sale budget
                criteria.budget_min = criteria.budget_max = None
            criteria.deal_type = value
        elif step.name == "type" and value in PROPERTY_TYPE_NAMES:
            criteria.property_types = [value]
        elif step.name == "dist":
            if value == "done":
                return await _continue(ctx, criteria, edit=True)
            name = index.by_id.get(int(value)) if value.isdigit() else None
            if name is None:
                return None
            criteria.districts = [d for d in criteria.districts if d != name] if name in criteria.districts \
                else [*criteria.districts, name]
            _store(ctx, criteria)
            return [_ask(ctx, step, criteria, index, edit=True)]  # stay: several districts can be picked
        elif step.name in ("budget", "area", "rooms"):
            low, high = _pair(value)
            if low is None and high is None and step.name != "rooms":
                return None
            if step.name == "budget":
                criteria.budget_min, criteria.budget_max = low, high
            elif step.name == "area":
                criteria.area_min, criteria.area_max = low, high
            else:
                if low is None:
                    return None
                criteria.bedrooms_min = int(low)
                criteria.bedrooms_max = int(high) if high is not None else None
        elif step.name == "move" and value.isdigit():
            criteria.move_in_by = _today(ctx) + timedelta(days=int(value))
        elif step.name == "feat":
            if value == "done":
                if not step.filled(criteria):
                    ctx.set_slots(skipped=sorted({*(ctx.slots.get("skipped") or []), step.name}))
                return await _continue(ctx, criteria, edit=True)
            if value not in MUST_HAVES:
                return None
            _toggle_feature(criteria, value)
            _store(ctx, criteria)
            return [_ask(ctx, step, criteria, index, edit=True)]
        else:
            return None
        return await _continue(ctx, criteria, edit=True)

    async def _did_you_mean_answer(self, ctx: DialogContext, criteria: Criteria, value: str) -> list[Reply] | None:
        index = await load_district_index(ctx.session)
        if value != "none":
            name = index.by_id.get(int(value)) if value.isdigit() else None
            if name is None:
                return None
            if name not in criteria.districts:
                criteria.districts.append(name)
        if criteria.district_candidates:
            criteria.district_candidates.pop(next(iter(criteria.district_candidates)))
        if value == "none" and not criteria.districts and not criteria.district_candidates:
            _store(ctx, criteria)
            return [_ask(ctx, STEP_BY_NAME["dist"], criteria, index, edit=True)]
        return await _continue(ctx, criteria, edit=True)

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if event.kind != "text" or not event.text.strip() or "criteria" not in ctx.slots:
            return None
        step = STEP_BY_NAME.get(ctx.conversation.step or "")
        if step is None and ctx.conversation.step != "summary":
            return None
        index = await load_district_index(ctx.session)
        criteria = _criteria(ctx)
        text = event.text.strip()
        parsed = parse_need(text, index, _today(ctx))
        touched = _merge(criteria, parsed)
        if step is not None and step.name not in touched and step.read(text, criteria, index, _today(ctx)):
            touched.append(step.name)
        if not touched:
            return None  # not an answer: the engine tries intents and the FAQ
        if len(touched) > 1 and ctx.slots.get("mode") != "steps":
            ctx.set_slots(mode="sentence")
        lead = _understood_text(ctx.lang, criteria, index, [n for n in touched if n != "dist" or criteria.districts])
        return await _continue(ctx, criteria, lead=lead if len(touched) > 1 or step is None else "")

    async def _save(self, ctx: DialogContext, criteria: Criteria) -> list[Reply]:
        index = await load_district_index(ctx.session)
        if criteria.deal_type is None:
            return [_ask(ctx, STEP_BY_NAME["deal"], criteria, index, edit=True)]
        criteria.district_candidates = {}
        criteria.warnings = []
        await needs_repo.save(ctx.session, ctx.customer.id, criteria.deal_type, criteria.to_json(),
                              ctx.slots.get("source") or None)
        from dialogs.flows.recommend import show_results  # recommend imports this module for summaries

        ctx.clear()
        lead = ctx.t("Saved. I will also tell you when a new home matching this appears.")
        return [Say(lead, edit=True), *await show_results(ctx, criteria.deal_type, 0)]


def _pair(value: str) -> tuple[float | None, float | None]:
    low, _, high = value.partition("-")
    try:
        return (float(low) if low else None, float(high) if high else None)
    except ValueError:
        return None, None


def _toggle_feature(criteria: Criteria, slug: str) -> None:
    if slug == "pets":
        criteria.pets = None if criteria.pets else True
    elif slug == "furnished":
        criteria.furnished = None if criteria.furnished else True
    elif slug in criteria.must_have:
        criteria.must_have = [f for f in criteria.must_have if f != slug]
    else:
        criteria.must_have = [*criteria.must_have, slug]


def _clear_step(criteria: Criteria, name: str) -> None:
    if name == "type":
        criteria.property_types = []
    elif name == "dist":
        criteria.districts, criteria.district_candidates = [], {}
    elif name == "budget":
        criteria.budget_min = criteria.budget_max = None
    elif name == "rooms":
        criteria.bedrooms_min = criteria.bedrooms_max = None
    elif name == "area":
        criteria.area_min = criteria.area_max = None
    elif name == "move":
        criteria.move_in_by = None
    elif name == "feat":
        criteria.must_have, criteria.pets, criteria.furnished = [], None, None


async def sentence_fallback(ctx: DialogContext, event: Inbound) -> list[Reply] | None:
    """Free text outside any flow that reads like a need (at least two things understood) starts the intake."""
    if event.kind != "text" or ctx.conversation.flow not in (None, NAME):
        return None
    if await _understood_count(ctx, event.text) < 2:
        return None
    return await take_sentence(ctx, event.text)


async def _understood_count(ctx: DialogContext, text: str) -> int:
    parsed = parse_need(text, await load_district_index(ctx.session), _today(ctx))
    return sum(1 for step in STEPS if step.filled(parsed)) + bool(parsed.district_candidates)


register(NeedsFlow())
engine.FALLBACKS.insert(0, sentence_fallback)
