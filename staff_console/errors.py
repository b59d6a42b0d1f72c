"""Refusals (and the few other sentences) from the services, in the staff member's language.

Services (storage/, below the dialogs) explain a refusal in an English sentence (`HandoffError("the conversation
is closed")`, `TicketError(f"cannot go from {status} to {to}")`, an import's rejected row...). The console shows
that sentence to staff, so each one has a message id here, written as the service writes it with its values as
`%(name)s`; `service_message(tr, text)` finds the one that matches and translates it, values included (a ticket
status becomes its word, a nested reason is translated too). A sentence no id matches is shown as it is.

tests/staff_console/test_catalogue.py reads the services' sources and fails when a refusal they can raise has no
message id here, so a new sentence in a service cannot reach Chinese-speaking staff in English.
"""

from __future__ import annotations

import re
from functools import cache

from staff_console.i18n import N_, SOURCE_LANGUAGE, Translator
from staff_console.words import word

# Every refusal the console can show, as the services word it (storage/services, storage/importers, storage/media).
MESSAGES: tuple[str, ...] = (
    # owners and listings kept true (storage/services/owner_leads.py, verification.py)
    N_("only an active listing can be verified"),
    N_("unknown report reason %(reason)s"),
    N_("an owner lead is to sell or to let, and asks for a call or a listing"),
    N_("there is no price to start the draft from: no expected price and no valuation"),
    N_("the home's area is missing"),
    # conversations (storage/services/handoff.py)
    N_("no such conversation"),
    N_("the conversation is closed"),
    N_("only active agents can take conversations"),
    N_("someone else already took this conversation, or it is no longer waiting"),
    N_("only a staff member can do this"),
    N_("the conversation is not with a person"),
    N_("only the assignee (or an admin) can do this"),
    N_("the customer is gone"),
    N_("transfer to an active agent"),
    N_("the conversation already belongs to this agent"),
    N_("the conversation changed meanwhile; reload and try again"),
    N_("only active agents can answer chats"),
    N_("the promised day must be in the future"),
    N_("promise an answer within 30 days"),
    N_("the customer is not waiting for an answer"),
    # tickets (storage/services/tickets.py, ticket_desk.py)
    N_("no such ticket"),
    N_("only an active staff member can change tickets"),
    N_("unknown %(kind)s category %(category)s"),
    N_("unknown priority %(priority)s"),
    N_("unknown priority"),
    N_("the ticket is already %(ticket_status)s"),
    N_("cannot go from %(from_status)s to %(to_status)s"),
    N_("out of warranty: the customer must accept a quote before work starts"),
    N_("the customer has not accepted the quote yet"),
    # listing photos uploaded on the form (storage/media.py)
    N_("is not a JPEG, PNG, GIF or WebP image"),
    N_("is too large"),
    N_("assign someone first"),
    N_("a %(ticket_status)s ticket cannot be assigned"),
    N_("no such active staff member"),
    N_("the amount must be a number"),
    N_("the amount is out of range"),
    N_("the ticket is finished"),
    N_("there is no quote to accept"),
    N_("there is no open quote"),
    N_("there is no resolution to confirm"),
    N_("only a resolved ticket can be reopened"),
    N_("the note is empty"),
    N_("not your ticket"),
    # complaint handling (tickets.reclassify, verify, set_responsibility)
    N_("unknown category for this type"),
    N_("the ticket is already in this category"),
    N_("verify the complaint before resolving it"),
    N_("record the responsible party and the root cause before resolving the complaint"),
    N_("only complaints are verified"),
    N_("choose verified or not substantiated"),
    N_("say why the complaint is not substantiated"),
    N_("only complaints have a responsible party"),
    N_("verify the complaint first"),
    N_("choose the responsible party"),
    N_("choose the root cause"),
    N_("describe the improvement action"),
    # why someone is suggested for a ticket (tickets.suggest_assignees)
    N_("covers %(area)s"),
    N_("skill: %(category)s"),
    N_("team %(team)s"),
    N_("level %(level)s, %(open)s open"),
    N_("on time off now"),
    # merging a web chat visitor (storage/services/customer_merge.py)
    N_("a customer cannot be merged into itself"),
    N_("no such customer"),
    N_("only a web chat visitor can be merged into another customer"),
    N_("that customer already has a web chat visitor"),
    N_("only a web chat visitor or a customer entered by staff can be merged into another customer"),
    # customers entered by staff (storage/services/customer_records.py)
    N_("a customer needs a name"),
    N_("a name is longer than %(length)s characters"),
    N_("%(phone)s is not a phone number (7 to 15 digits)"),
    N_("unknown gender %(gender)s"),
    N_("unknown language %(language)s"),
    N_("unknown source %(source)s"),
    # the FAQ (storage/services/faq.py, storage/importers/faq.py)
    N_("the question is empty"),
    N_("the answer is empty"),
    N_("the question is longer than %(length)s characters"),
    N_("the answer is longer than %(length)s characters"),
    N_("more than %(count)s keywords"),
    N_("a keyword is longer than %(length)s characters"),
    N_("this question is already in the FAQ in this language"),
    N_("no such FAQ entry"),
    # homes and their owners (storage/services/units.py)
    N_("the owner's name is longer than %(length)s characters"),
    N_("handover_date is %(value)s; expected a date as YYYY-MM-DD"),
    N_("the handover date %(day)s is not plausible"),
    N_("no such home"),
    N_("this customer is not linked to this home"),
    # surveys and follow-ups (storage/services/surveys.py, revisits.py)
    N_("no such survey"),
    N_("the score must be between 1 and 5"),
    N_("no such follow-up task"),
    N_("This follow-up belongs to someone else."),
    N_("unknown answer"),
    N_("no such revisit"),
    # viewings (storage/services/viewings.py)
    N_("listing not available"),
    N_("no agent for this listing"),
    N_("this time is not free"),
    N_("this time was just taken"),
    N_("the viewing's agent is gone"),
    N_("unknown outcome %(outcome)s"),
    N_("viewing not found or cancelled"),
    N_("the viewing has not happened yet"),
    N_("viewing not found or no longer booked"),
    N_("the viewing has already started"),
    N_("the viewing's survey could not be created"),
    # work entered for a customer and chats for a team (storage/services/consultations.py, on_behalf.py, handoff.py)
    N_("only an active staff member can log a consultation"),
    N_("only an active staff member can do this"),
    N_("unknown channel %(channel)s"),
    N_("unknown topic %(topic)s"),
    N_("the summary is empty"),
    N_("a due date needs a next step"),
    N_("the next step needs a due date"),
    N_("the due date must be in the future"),
    N_("no such consultation"),
    N_("this consultation has no next step"),
    N_("the next step is already done"),
    N_("unknown ticket kind %(kind)s"),
    N_("describe the problem"),
    N_("that home is not registered to this customer"),
    N_("a repair needs one of the customer's homes"),
    N_("the message is empty"),
    N_("the customer cannot be reached in any channel"),
    N_("this conversation is waiting for the %(team)s team"),
    N_("unknown team %(team)s"),
    N_("nobody else is in the %(team)s team"),
    # notices to owners (storage/services/broadcasts.py, audiences.py; the console's time field)
    N_("write the notice in English"),
    N_("write the notice in Chinese"),
    N_("the English text is longer than %(length)s characters"),
    N_("the Chinese text is longer than %(length)s characters"),
    N_("the time to send is in the past"),
    N_("the time to send must look like 2026-03-02 09:30"),
    N_("no owner matches this audience"),
    N_("no such notice"),
    N_("this notice can no longer be cancelled"),
    N_("%(value)s is not a valid choice"),
    N_("no such project"),
    N_("no such building"),
    N_("a tag is longer than %(length)s characters"),
    N_("unknown audience %(audience)s"),
    N_("choose at most %(count)s values for one filter"),
    N_("choose who receives the notice: a project, buildings, a tag or a deal step"),
    N_("the buildings must belong to the chosen project"),
    # deals and their milestones (storage/services/deals.py, milestones.py, settlement.py)
    N_("%(field)s must be a number from 0 to %(maximum)s"),
    N_("contract_no is required (at most 64 characters)"),
    N_("customer_phone %(phone)s is not a phone number (7 to 15 digits)"),
    N_("currency %(currency)s must be a three-letter code such as CNY"),
    N_("price must be more than 0"),
    N_("%(field)s must be more than 0 and at most %(maximum)s m²"),
    N_("handover_date is before signed_on"),
    N_("staff_email %(email)s is not a staff member"),
    N_("unknown track %(track)s"),
    N_("unknown step %(step)s of track %(track)s"),
    N_("the %(track)s track cannot go from %(from_step)s to %(to_step)s"),
    N_("%(to_step)s is recorded with its own form"),
    N_("the deal is gone"),
    N_("no such staff member"),
    N_("documents are requested on the loan track"),
    N_("choose at least one document from the checklist"),
    N_("%(document)s is not on this loan's checklist"),
    N_("the inspection can be booked once the move-in notice went out"),
    N_("that slot is not available"),
    N_("that slot was just taken"),
    N_("the inspection belongs to the move-in track"),
    N_("unknown repair category %(category)s"),
    N_("every defect needs a description"),
    N_("the owner has no chat yet: repair tickets need the customer (ask them to write to the bot and share their "
       "phone number)"),
    N_("the handover belongs to the move-in track"),
    N_("keys must be a number from 0 to 50"),
    N_("compute the settlement first"),
    N_("days must be from 0 to 730"),
    # staff accounts (storage/services/staff_accounts.py)
    N_("password must be at least %(length)s characters"),
    N_("%(email)s is not an email address"),
    N_("unknown role %(role)s; use one of %(roles)s"),
    N_("name must not be empty"),
    N_("a staff member with email %(email)s already exists"),
    # service settings (storage/services/warranty.py, sla.py)
    N_("months must be between 0 and 1200"),
    N_("minutes must be positive"),
    N_("the business calendar has no working days"),
    N_("business hours must close after they open"),
    N_("business hours %(hours)s must look like 09:00-18:00"),
    N_("unknown day %(day)s; use mon,tue,... or mon-fri"),
    # listings and their numbers (storage/services/listings.py)
    N_("%(field)s is %(value)s; expected a whole number"),
    N_("%(field)s is %(value)s; expected a number"),
    N_("%(field)s must be a whole number from %(minimum)s to %(maximum)s"),
    N_("%(field)s must be a positive number up to %(maximum)s"),
    N_("%(field)s must be between %(minimum)s and %(maximum)s"),
    N_("the reference code is empty, longer than %(length)s characters or already used"),
    N_("unknown status %(status)s"),
    N_("%(field)s %(value)s is not one of %(allowed)s"),
    N_("a photo is longer than %(length)s characters"),
    N_("photo %(photo)s %(reason)s"),
    # photos (storage/media.py): the end of "photo '...' <reason>"
    N_("is empty"),
    N_("is longer than %(length)s characters"),
    N_("contains control characters"),
    N_("is neither an http(s) link nor a file in the media folder"),
    N_("is not a valid link"),
    N_("must not contain '..'"),
    N_("is outside the media folder"),
    N_("leads outside the media folder"),
    N_("is not a file in the media folder"),
    # CSV imports (storage/importers): the file, then its rows
    N_("not UTF-8 text (byte %(byte)s)"),
    N_("the file is empty; a header row is required"),
    N_("line %(line)s: %(reason)s"),
    N_("header is missing column(s) %(missing)s; expected %(columns)s"),
    N_("ignored unknown column(s) %(columns)s"),
    N_("%(cells)s cells but the header has %(columns)s columns"),
    N_("%(key)s repeats line %(line)s; this row wins"),
    N_("%(column)s is required"),
    N_("%(column)s is longer than %(length)s characters"),
    N_("%(column)s is %(value)s; expected one of %(allowed)s"),
    N_("%(column)s is %(value)s; expected yes/no, true/false, 1/0 or 是/否"),
    N_("%(column)s is %(value)s; expected yes/no/partial, true/false, 1/0 or 是/否/部分"),
    N_("%(column)s is %(value)s; expected fine/basic/bare or 精装/简装/毛坯"),
    N_("a listing is partly furnished only when it is furnished"),
    N_("%(column)s is %(value)s; expected a date as YYYY-MM-DD"),
    N_("lat and lon go together: give both or neither"),
    N_("neighbour %(name)s is not a known district of %(city)s"),
    N_("district %(name)s is not a known district of %(city)s (import districts first)"),
    N_("currency is %(currency)s; expected a 3-letter code such as CNY"),
    N_("floor %(floor)s is above floors_total %(floors)s"),
    N_("agent_email %(email)s is not a staff member; listing has no agent"),
    N_("owner_phone %(phone)s is not a phone number (7 to 15 digits)"),
    # working hours, time off, technicians' areas/skills/level (storage/services/staff_profiles.py, import-staff)
    N_("%(day)s: %(range)s is not a time range like 09:00-18:00"),
    N_("%(day)s: %(range)s ends before it starts"),
    N_("%(day)s: the time ranges overlap"),
    N_("hours: %(part)s does not start with weekdays like mon-fri"),
    N_("%(what)s is not a date like 2026-03-01"),
    N_("the first day"),
    N_("the last day"),
    N_("the time off ends before it starts"),
    N_("time off is at most %(days)s days at a time"),
    N_("the time off is already over"),
    N_("the reason is longer than 200 characters"),
    N_("no such time off"),
    N_("at most %(count)s service areas"),
    N_("the area %(name)s is longer than %(length)s characters"),
    N_("unknown skill %(skill)s; use ticket categories: %(skills)s"),
    N_("the level is a whole number from %(low)s to %(high)s"),
    N_("email %(email)s is not an email address"),
    N_("no project or district is called %(names)s yet"),
)

# Values that are stored codes, shown as words; values that are themselves a sentence, translated.
_WORD_PARAMS = {"ticket_status": "ticket_status", "from_status": "ticket_status", "to_status": "ticket_status",
                "kind": "ticket_kind", "field": "field", "category": "category", "day": "weekday", "team": "team",
                "channel": "consultation_channel", "topic": "consultation_topic", "track": "track",
                "from_step": "milestone_status", "to_step": "milestone_status", "document": "document"}
_NESTED_PARAMS = ("reason", "what")
_PARAMETER = re.compile(r"%\((\w+)\)s")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each message id as a pattern over the English sentence; the most specific (most fixed text) first."""
    compiled = []
    for message in MESSAGES:
        parts = _PARAMETER.split(message)
        regex = "".join(re.escape(part.replace("%%", "%")) if index % 2 == 0 else f"(?P<{part}>.+?)"
                        for index, part in enumerate(parts))
        fixed = sum(len(part) for part in parts[::2])
        compiled.append((fixed, re.compile(regex, re.DOTALL), message))
    compiled.sort(key=lambda item: -item[0])
    return tuple((pattern, message) for _, pattern, message in compiled)


def match(text: str) -> tuple[str, dict[str, str]] | None:
    """The message id an English sentence was written from, and its values."""
    for pattern, message in _patterns():
        found = pattern.fullmatch(text)
        if found is not None:
            return message, found.groupdict()
    return None


def service_message(tr: Translator, text: str) -> str:
    """A service's refusal in the staff member's language (as it is when no message id matches, or in English)."""
    if tr.lang == SOURCE_LANGUAGE:
        return text
    found = match(text)
    if found is None:
        return text
    message, values = found
    for name, value in values.items():
        if name in _WORD_PARAMS:
            values[name] = word(tr, _WORD_PARAMS[name], value)
        elif name in _NESTED_PARAMS:
            values[name] = service_message(tr, value)
    return tr(message, **values)


def error_text(tr: Translator, exc: BaseException) -> str:
    return service_message(tr, str(exc))
