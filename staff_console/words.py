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
from dialogs.notices import FOLLOW_UP_REASONS, TEAM_NAMES
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
    "ticket_kind": {"repair": N_("repair"), "complaint": N_("complaint"), "suggestion": N_("suggestion"),
                    "chat": N_("chat (first answer)")},
    # Departments (Staff.team, Ticket.team) and complaint handling (storage.vocabulary).
    "team": {"sales": N_("sales"), "repair": N_("repair and maintenance"), "complaints": N_("customer relations"),
             "property": N_("property management")},
    "verification": {"verified": N_("verified"), "unsubstantiated": N_("not substantiated")},
    "responsible_party": {
        "sales": N_("sales"), "repair": N_("repair and maintenance"), "complaints": N_("customer relations"),
        "property": N_("property management"), "contractor": N_("contractor"), "developer": N_("developer"),
        "other": N_("other"),
    },
    "root_cause": {
        "staff_conduct": N_("staff conduct"), "communication": N_("communication"),
        "workmanship": N_("workmanship"), "materials": N_("materials"), "design": N_("design"),
        "schedule": N_("schedule"), "process": N_("process"), "third_party": N_("third party"),
        "expectation": N_("expectation not met by the offer"), "other": N_("other"),
    },
    # What a chat was about (storage.services.sla.CHAT_TOPICS: the flow the customer was in).
    "chat_topic": {
        "needs": N_("finding a home"), "recommend": N_("matches"), "booking": N_("booking a viewing"),
        "viewings": N_("viewings"), "repair": N_("repair"), "complaint": N_("complaint"),
        "suggestion": N_("suggestion"), "tickets": N_("their requests"), "faq": N_("questions"),
        "general": N_("general"),
        # the topics of consultations staff enter (storage.vocabulary.CONSULTATION_TOPICS)
        "buying": N_("buying"), "renting": N_("renting"), "after_sales": N_("after-sales"), "other": N_("other"),
    },
    "conversation_mode": {"bot": N_("with the assistant"), "waiting": N_("waiting"), "human": N_("with staff")},
    "conversation_status": {"open": N_("open"), "closed": N_("closed")},
    "handoff_reason": {
        "asked": N_("asked for a person"), "misunderstood": N_("the assistant did not understand"),
        "complaint": N_("complaint"), "agent_takeover": N_("taken over by staff"), "transfer": N_("transferred"),
        "requeued": N_("back in the queue"),
    },
    "role": {"admin": N_("admin"), "agent": N_("agent"), "service": N_("service")},
    # Keyed by the English name (storage.services.staff_profiles.DAY_NAMES), as the services' refusals say it.
    "weekday": {"Monday": N_("Monday"), "Tuesday": N_("Tuesday"), "Wednesday": N_("Wednesday"),
                "Thursday": N_("Thursday"), "Friday": N_("Friday"), "Saturday": N_("Saturday"), "Sunday": N_("Sunday")},
    "language": {"en": N_("English"), "zh": N_("Chinese")},
    # Where a customer reached us: a chat channel, or (a consultation staff entered) phone, visit, WeChat, e-mail.
    "channel": {"telegram": N_("Telegram"), "web": N_("web chat"), "webchat": N_("web chat"), "phone": N_("phone"),
                "walk_in": N_("walk-in"), "wechat": N_("WeChat"), "email": N_("e-mail")},
    "deal_type": {"sale": N_("sale"), "rent": N_("rent")},
    "property_type": {
        "apartment": N_("apartment"), "house": N_("house"), "villa": N_("villa"), "office": N_("office"),
        "shop": N_("shop"), "parking": N_("parking space"),
    },
    "listing_status": {
        "active": N_("active"), "reserved": N_("reserved"), "sold": N_("sold"), "rented": N_("rented"),
        "withdrawn": N_("withdrawn"), "draft": N_("draft"),
    },
    "owner_lead_status": {"new": N_("new"), "contacted": N_("contacted"), "listed": N_("listed"),
                          "closed": N_("closed")},
    "owner_intent": {"sell": N_("sell"), "let": N_("let")},
    "owner_request": {"call": N_("call me"), "list": N_("list my home")},
    "listing_report": {"taken": N_("already rented or sold"), "price": N_("the price is different"),
                       "photos": N_("the photos do not match")},
    "withheld": {"stale": N_("not verified in time"), "reports": N_("reported by customers")},
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
        "reclassified": N_("reclassified"), "verified": N_("verification"),
        "responsibility": N_("responsibility and cause"),
    },
    "quote_answer": {"accepted": N_("accepted by the customer"), "declined": N_("declined by the customer")},
    "dead_letter_stage": {"store": N_("storing"), "handle": N_("handling")},
    # Notices to owners (storage.vocabulary.BROADCAST_STATUSES, RECIPIENT_STATUSES, storage/services/audiences.py)
    "broadcast_status": {"scheduled": N_("scheduled"), "queueing": N_("queueing"), "sending": N_("sending"),
                         "done": N_("done"), "cancelled": N_("cancelled")},
    "recipient_status": {"queued": N_("queued"), "sent": N_("sent"), "failed": N_("failed"),
                         "blocked": N_("blocked the bot"), "cancelled": N_("cancelled")},
    "audience": {"project": N_("Project"), "building": N_("Buildings"), "tag": N_("Tag group"),
                 "milestone": N_("Deal step")},
    "inbox_view": {"waiting": N_("Waiting"), "mine": N_("Mine"), "open": N_("All open"), "closed": N_("Closed")},
    "inbox_sort": {"activity": N_("Latest activity"), "waiting": N_("Longest waiting")},
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
        "partly_furnished": N_("partly furnished"), "decoration": N_("decoration"),
    },
    # Rows of the reports (storage.services.reports) that are not data.
    "report": {
        "(no unit)": N_("(no home)"), "(bot / nobody)": N_("(assistant / nobody)"), "(none)": N_("(none)"),
        "needs": N_("needs"), "viewings booked": N_("viewings booked"), "viewings done": N_("viewings done"),
        "interested": N_("interested"), "offers": N_("offers"), "(no team)": N_("(no team)"),
        "(not verified)": N_("(not verified)"),
    },
    "yes_no": {"yes": N_("yes"), "no": N_("no")},
    "furnishing": {"yes": N_("yes"), "partial": N_("partly furnished"), "no": N_("no")},
    # How finished a home is (storage.vocabulary.DECORATIONS); "simple" is what early owner intakes stored.
    "decoration": {"bare": N_("bare shell"), "basic": N_("basic decoration"), "fine": N_("fine decoration"),
                   "simple": N_("basic decoration")},
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
        "status": N_("status"), "decoration": N_("decoration"), "furnished": N_("furnished"),
    },
}

# Work entered from the customer card and the teams a chat can wait for (w-10-entered).
BOT_WORDS["team"] = TEAM_NAMES
CONSOLE_WORDS.update({
    "consultation_channel": {"phone": N_("phone"), "walk_in": N_("walk-in"), "wechat": N_("WeChat"),
                             "email": N_("e-mail")},
    "consultation_topic": {"buying": N_("buying"), "renting": N_("renting"), "after_sales": N_("after-sales"),
                           "complaint": N_("complaint"), "other": N_("other")},
})
CONSOLE_WORDS["inbox_view"]["team"] = N_("My team")


# Records kept in the console: FAQ entries, homes and their owners, customers entered by staff.
CONSOLE_WORDS.update({
    "faq_state": {"active": N_("active"), "retired": N_("retired"), "all": N_("all entries")},
    "unit_flag": {"no_owner": N_("no verified owner"), "no_handover": N_("no handover date"),
                  "flagged": N_("tickets to settle")},
    "owner_check": {"verified": N_("owner verified"), "unverified": N_("owner not yet verified")},
    "gender": {"female": N_("female"), "male": N_("male")},
    "customer_source": {"phone": N_("phone call"), "walk_in": N_("walk-in")},
})
CONSOLE_WORDS["ticket_event"].update({"warranty": N_("warranty decided"), "owner_verified": N_("owner verified")})

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
