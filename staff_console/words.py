"""The words staff read for the names the system stores (`storage.vocabulary` and the other stored codes): ticket
statuses, categories, priorities, conversation modes, roles, listing and viewing states...

The bot's words (`dialogs.names`, `dialogs.notices`) are used where they exist and read right for staff; they are
translated with the bot's catalogue. The rest are console message ids (`N_`), translated with the console's.
A page never shows a stored code (`waiting_customer`): templates call `word("ticket_status", t.status)`
(or the `word` filter), Python calls `word(tr, "ticket_status", status)`. A code missing here is shown as stored,
which the browser walk in tests/staff_console/test_translated_pages.py notices.
"""

from __future__ import annotations

from collections.abc import Mapping

from dialogs import names
from dialogs.i18n import translate as bot_translate
from dialogs.notices import FOLLOW_UP_REASONS
from staff_console.i18n import N_, Translator

# Words the bot already has (message ids of dialogs/locales).
BOT_WORDS: dict[str, Mapping[str, str]] = {
    "ticket_status": names.STATUS_NAMES,
    "category": names.CATEGORY_NAMES,
    "priority": names.PRIORITY_NAMES,
    "deadline": names.DEADLINE_NAMES,
    "follow_up_reason": FOLLOW_UP_REASONS,
    "track": names.TRACK_NAMES,
    "milestone_status": names.MILESTONE_STATUS_NAMES,
    "document": names.DOCUMENT_NAMES,
    "payment_method": names.PAYMENT_METHOD_NAMES,
}

# The console's own words (message ids of staff_console/locales). They win over the bot's: the bot says
# "waiting for you" to a customer, staff read "waiting for the customer".
CONSOLE_WORDS: dict[str, dict[str, str]] = {
    "ticket_status": {"waiting_customer": N_("waiting for the customer")},
    # Warranty periods also know the building's structure (design life), which no ticket category names yet.
    "category": {"structure": N_("Structure (design life)")},
    "ticket_kind": {"repair": N_("repair"), "complaint": N_("complaint")},
    "conversation_mode": {"bot": N_("with the assistant"), "waiting": N_("waiting"), "human": N_("with staff")},
    "conversation_status": {"open": N_("open"), "closed": N_("closed")},
    "handoff_reason": {
        "asked": N_("asked for a person"), "misunderstood": N_("the assistant did not understand"),
        "complaint": N_("complaint"), "agent_takeover": N_("taken over by staff"), "transfer": N_("transferred"),
        "requeued": N_("back in the queue"),
    },
    "role": {"admin": N_("admin"), "agent": N_("agent"), "service": N_("service")},
    "language": {"en": N_("English"), "zh": N_("Chinese")},
    "channel": {"telegram": N_("Telegram"), "web": N_("web chat"), "webchat": N_("web chat")},
    "deal_type": {"sale": N_("sale"), "rent": N_("rent")},
    "property_type": {
        "apartment": N_("apartment"), "house": N_("house"), "villa": N_("villa"), "office": N_("office"),
        "shop": N_("shop"), "parking": N_("parking space"),
    },
    "listing_status": {
        "active": N_("active"), "reserved": N_("reserved"), "sold": N_("sold"), "rented": N_("rented"),
        "withdrawn": N_("withdrawn"),
    },
    "viewing_status": {"booked": N_("booked"), "cancelled": N_("cancelled"), "done": N_("done"),
                       "no_show": N_("no-show")},
    "viewing_outcome": {"done": N_("done"), "no_show": N_("no-show"), "interested": N_("interested"),
                        "offer": N_("made an offer"), "not_interested": N_("not interested"),
                        "signed": N_("signed a contract")},
    "delivery": {"pending": N_("sending"), "sent": N_("sent"), "failed": N_("not delivered")},
    "sender": {"customer": N_("customer"), "bot": N_("assistant"), "agent": N_("staff"), "system": N_("system")},
    "survey_subject": {"ticket": N_("ticket"), "viewing": N_("viewing"), "conversation": N_("conversation"),
                       "revisit": N_("revisit")},
    "warranty": {"in": N_("in warranty"), "out": N_("out of warranty"), "unknown": N_("warranty unknown")},
    "ticket_event": {
        "created": N_("created"), "status": N_("status"), "assigned": N_("assigned"), "note": N_("note"),
        "quote": N_("quote"), "attachment": N_("attachment"), "info": N_("customer info"),
        "reopened": N_("reopened"), "cost": N_("cost"), "priority": N_("priority"),
    },
    "quote_answer": {"accepted": N_("accepted by the customer"), "declined": N_("declined by the customer")},
    "dead_letter_stage": {"store": N_("storing"), "handle": N_("handling")},
    "inbox_view": {"waiting": N_("Waiting"), "mine": N_("Mine"), "open": N_("All open"), "closed": N_("Closed")},
    "feature": {
        "parking": N_("parking"), "elevator": N_("elevator"), "near_metro": N_("near the metro"),
        "balcony": N_("balcony"), "garden": N_("garden"), "gym": N_("gym"), "pool": N_("pool"),
        "school": N_("good school nearby"), "south_facing": N_("south-facing"), "pets": N_("pets allowed"),
        "furnished": N_("furnished"),
    },
    # A customer's need (matching.Criteria keys), as the lead card lists it.
    "criteria": {
        "deal_type": N_("deal"), "property_types": N_("type"), "districts": N_("districts"),
        "budget_min": N_("budget from"), "budget_max": N_("budget up to"), "currency": N_("currency"),
        "bedrooms_min": N_("bedrooms from"), "bedrooms_max": N_("bedrooms up to"), "area_min": N_("area from"),
        "area_max": N_("area up to"), "move_in_by": N_("move in by"), "must_have": N_("must have"),
        "exclude": N_("not wanted"), "furnished": N_("furnished"), "pets": N_("pets"),
    },
    # Rows of the reports (storage.services.reports) that are not data.
    "report": {
        "(no unit)": N_("(no home)"), "(bot / nobody)": N_("(assistant / nobody)"), "(none)": N_("(none)"),
        "needs": N_("needs"), "viewings booked": N_("viewings booked"), "viewings done": N_("viewings done"),
        "interested": N_("interested"), "offers": N_("offers"),
    },
    "yes_no": {"yes": N_("yes"), "no": N_("no")},
    # Deals (storage.services.deals, .milestones, .settlement).
    "deal_kind": {"sale": N_("sale"), "lease": N_("lease")},
    "currency": {"CNY": N_("Chinese yuan"), "USD": N_("US dollar"), "EUR": N_("euro"), "HKD": N_("Hong Kong dollar")},
    "deal_status": {"active": N_("active"), "cancelled": N_("cancelled")},
    "inspection_item": {
        "walls": N_("walls and ceilings"), "floors": N_("floors"), "doors_windows": N_("doors and windows"),
        "plumbing": N_("plumbing"), "electrical": N_("electrical"), "waterproofing": N_("waterproofing"),
        "equipment": N_("equipment"),
    },
    "meter": {"water": N_("water"), "electricity": N_("electricity"), "gas": N_("gas")},
    "settlement_direction": {"pay": N_("owner pays"), "refund": N_("owner refunded"), "none": N_("nothing due")},
    # Form fields a refusal names (storage.services.listings reads numbers under these names).
    "field": {
        "price": N_("price"), "area": N_("area"), "area_m2": N_("area"), "bedrooms": N_("bedrooms"),
        "bathrooms": N_("bathrooms"), "floor": N_("floor"), "floors": N_("floors in the building"),
        "floors_total": N_("floors in the building"), "lat": N_("latitude"), "lon": N_("longitude"),
        "district": N_("district"), "agent": N_("agent"), "deal_type": N_("deal"), "property_type": N_("type"),
        "status": N_("status"),
    },
}


def word(tr: Translator, kind: str, value: object) -> str:
    """The word for a stored code in the staff member's language; the code itself when it has none."""
    if value is None or value == "":
        return ""
    key = str(value)
    console = CONSOLE_WORDS.get(kind, {})
    if key in console:
        return tr.gettext(console[key])
    bot = BOT_WORDS.get(kind, {})
    if key in bot:
        return bot_translate(tr.lang, bot[key])
    return key


def table(tr: Translator, kind: str) -> dict[str, str]:
    """Every word of one kind (for the page's script: live rows name modes, reasons, languages...)."""
    keys = [*BOT_WORDS.get(kind, {}), *CONSOLE_WORDS.get(kind, {})]
    return {str(key): word(tr, kind, key) for key in dict.fromkeys(keys)}
