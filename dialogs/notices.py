"""The words of staff and system actions: what staff are told (notices) and what customers are told when a
person or the system acts on their conversation. Storage services reach these through `work.texts`
(`storage.unit_of_work.Texts`), so every sentence lives here, in both languages, and nowhere else.

Staff notices have two renderings: plain text for the console's notification list (the console escapes it
when it draws the page) and an HTML-escaped Telegram message for staff who linked their Telegram account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.cards import title, when
from dialogs.i18n import N_, esc, t, translate
from dialogs.receipts import ticket_filed_text, viewing_booked_text, viewing_moved_text
from dialogs.replies import Choice, Say
from storage.unit_of_work import Rendered

# kind -> message id; parameters are named in braces and always given by the caller.
STAFF_NOTICES: dict[str, str] = {
    "assigned": N_("{customer} was assigned to you"),
    "requeued": N_("Conversation with {customer} is back in the queue: {agent} did not answer within "
                   "{minutes} minutes."),
    "transferred": N_("{by} transferred a conversation with {customer} to you"),
    "transferred_with_note": N_("{by} transferred a conversation with {customer} to you: {note}"),
    "follow_up": N_("Follow-up needed for {customer}: {reason}"),
    "listing_stale": N_("Listing {ref} was last verified {days} days ago: check it is still available and verify "
                        "it, or it stops being recommended in {grace} days."),
    "listing_report": N_("A customer reported listing {ref}: {problem}. Check it and verify it."),
    "listing_paused": N_("Listing {ref} was reported {count} times (latest: {problem}); it is no longer "
                         "recommended until you verify it."),
    "owner_lead": N_("New owner lead from {customer}: {intent}, {home}. They asked: {request}."),
    # Work staff enter for a customer (storage.services.on_behalf) and a chat waiting for a team (handoff).
    "team_waiting": N_("{by} transferred a conversation with {customer} to your team ({team}); it is waiting for "
                       "one of you."),
    "team_waiting_with_note": N_("{by} transferred a conversation with {customer} to your team ({team}); it is "
                                 "waiting for one of you: {note}"),
    "viewing_booked_for": N_("{by} booked a viewing for {customer}: {listing}, {when}."),
    "viewing_moved_for": N_("{by} moved {customer}'s viewing of {listing} to {when}."),
    "viewing_cancelled_for": N_("{by} cancelled {customer}'s viewing of {listing} on {when}."),
}

# Notices about a listing to verify: in Telegram they carry a one-click "verify" button.
LISTING_CHECKS = ("listing_stale", "listing_report", "listing_paused")

# What a customer reported about a listing (`ListingReport.reason`), as staff read it.
REPORT_PROBLEMS: dict[str, str] = {
    "taken": N_("already rented or sold"),
    "price": N_("the price is different"),
    "photos": N_("the photos do not match"),
}
# What an owner wants and asked for (`OwnerLead.intent`, `.request`), as staff read it.
OWNER_INTENT_WORDS: dict[str, str] = {"sell": N_("to sell"), "let": N_("to let")}
OWNER_REQUEST_WORDS: dict[str, str] = {"call": N_("an agent's call"), "list": N_("to list the home")}

# Why a follow-up was opened (`FollowUpTask.reason`, set by storage.services.surveys and .revisits), as staff
# read it.
FOLLOW_UP_REASONS: dict[str, str] = {
    "low_score": N_("low satisfaction score"),
    "revisit_help": N_("the customer asked for help at a revisit"),
    "loan_rejected": N_("the loan was rejected"),
}


# The teams a chat can wait for (storage.vocabulary.HANDOFF_TEAMS), as customers and staff read them.
TEAM_NAMES: dict[str, str] = {"repair": N_("customer service team"), "complaints": N_("complaint team")}


def _plain(lang: str, message: str, params: Mapping[str, Any]) -> str:
    return translate(lang, message).format(**{key: str(value) for key, value in params.items()})


def _staff_params(lang: str, params: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(params)
    home_zh = values.pop("home_zh", None)  # a home described for Chinese readers (district names in Chinese)
    if lang == "zh" and home_zh:
        values["home"] = home_zh
    if "team" in values:
        team = str(values["team"])
        values["team"] = translate(lang, TEAM_NAMES[team]) if team in TEAM_NAMES else team
    if isinstance(values.get("starts_at"), datetime) and "tz" in values:
        values["when"] = when(lang, values.pop("starts_at"), values.pop("tz"))
    if "reason" in values:
        reason = str(values["reason"])
        values["reason"] = translate(lang, FOLLOW_UP_REASONS[reason]) if reason in FOLLOW_UP_REASONS else reason
    for key, words in (("problem", REPORT_PROBLEMS), ("intent", OWNER_INTENT_WORDS), ("request", OWNER_REQUEST_WORDS)):
        if key in values and str(values[key]) in words:
            values[key] = translate(lang, words[str(values[key])])
    return values


def _broadcast(lang: str, params: Mapping[str, Any]) -> Say:
    """A notice to owners (storage/services/broadcasts.py): staff wrote `text` in this language; shown as written
    (escaped), under a heading that says who it is from."""
    return Say(f"📢 <b>{t(lang, 'Notice from the property team')}</b>\n\n{esc(params['text'])}")


def _agent_joined(lang: str, params: Mapping[str, Any]) -> Say:
    name = params.get("agent")  # empty when the company keeps staff names private
    if params.get("after_hours"):  # they were told when the team is back; someone came anyway, and says so
        if not name:
            return Say(t(lang, "A colleague from our team is here now, even though it is outside our usual hours, "
                               "and will answer you in this chat."))
        return Say(t(lang, "{name} from our team is here now, even though it is outside our usual hours, and "
                           "will answer you in this chat.", name=name))
    if not name:
        return Say(t(lang, "A colleague from our team is here now and will answer you in this chat."))
    return Say(t(lang, "{name} from our team is here now and will answer you in this chat.", name=name))


def _transferred(lang: str, params: Mapping[str, Any]) -> Say:
    if not params.get("agent"):  # the company keeps staff names private
        return Say(t(lang, "Your conversation has been passed to a colleague, who will answer you here."))
    return Say(t(lang, "Your conversation has been passed to {name}, who will answer you here.",
                 name=params["agent"]))


def _requeued(lang: str, params: Mapping[str, Any]) -> Say:
    return Say(t(lang, "Sorry for the wait: the next available colleague will answer you here. You keep your "
                       "place in line."))


def _returned_to_bot(lang: str, params: Mapping[str, Any]) -> Say:
    return Say(t(lang, "You are back with the assistant. Ask for a person any time."),
               choices=[[Choice(t(lang, "Main menu"), "menu:main")]])


def _answer_promised(lang: str, params: Mapping[str, Any]) -> Say:
    """Staff need more time: the customer hears by when to expect the answer (a receipt of the promise)."""
    from dialogs.cards import when  # times as every message writes them

    by = when(lang, datetime.fromisoformat(str(params["by"])), ZoneInfo(str(params["tz"])))
    return Say(t(lang, "Thank you for waiting. {name} needs a little more time for your question; you will have an "
                       "answer here by {when}.", name=params["agent"], when=by), receipt=True)


def _survey(lang: str, params: Mapping[str, Any]) -> Say:
    from dialogs.flows.survey import survey_question  # the survey flow owns its question and buttons

    return survey_question(lang, subject_type=str(params["subject_type"]), subject_id=int(params["subject_id"]),
                           survey_id=int(params["survey_id"]), subject=str(params.get("subject") or ""))


def _ticket_filed(lang: str, params: Mapping[str, Any]) -> Say:
    """A ticket staff filed for the customer: the bot's own receipt, with the same buttons."""
    text = ticket_filed_text(lang, kind=str(params["ticket_kind"]), number=str(params["number"]),
                             needs_verification=bool(params.get("needs_verification")),
                             warranty_status=str(params.get("warranty_status") or "unknown"),
                             priority=str(params.get("ticket_priority") or "normal"),
                             call_by=params.get("call_by"), tz=params.get("tz"))
    return Say(text, choices=[[Choice(t(lang, "My requests"), "tickets:start")],
                              [Choice(t(lang, "Main menu"), "menu:main")]], receipt=True)


def _home(lang: str, params: Mapping[str, Any]) -> str:
    listing = params["listing"]
    return title(lang, listing, {listing.district_name or listing.city: params.get("district_zh") or ""})


def _viewing_booked(lang: str, params: Mapping[str, Any]) -> Say:
    text = viewing_booked_text(lang, home=_home(lang, params), ref=params["listing"].ref_code,
                               starts_at=params["starts_at"], tz=params["tz"], agent=str(params.get("agent") or ""))
    return Say(text, choices=[[Choice(t(lang, "My viewings"), "vw:start")]], receipt=True)


def _viewing_moved(lang: str, params: Mapping[str, Any]) -> Say:
    return Say(viewing_moved_text(lang, starts_at=params["starts_at"], tz=params["tz"]),
               choices=[[Choice(t(lang, "My viewings"), "vw:start")]], receipt=True)


def _viewing_cancelled(lang: str, params: Mapping[str, Any]) -> Say:
    return Say(t(lang, "Your viewing of {home} ({ref}) on {when} is cancelled, as agreed with our team.",
                 home=_home(lang, params), ref=params["listing"].ref_code,
                 when=when(lang, params["starts_at"], params["tz"])),
               choices=[[Choice(t(lang, "My viewings"), "vw:start")]], receipt=True)


def _team_transfer(lang: str, params: Mapping[str, Any]) -> Say:
    team = str(params["team"])
    return Say(t(lang, "I am passing your conversation to our {team}. Someone from the team will answer you here.",
                 team=t(lang, TEAM_NAMES.get(team, team))))


CUSTOMER_NOTICES: dict[str, Callable[[str, Mapping[str, Any]], Say]] = {
    "broadcast": _broadcast,
    "agent_joined": _agent_joined,
    "transferred": _transferred,
    "requeued": _requeued,
    "returned_to_bot": _returned_to_bot,
    "answer_promised": _answer_promised,
    "survey": _survey,
    "ticket_filed": _ticket_filed,
    "viewing_booked": _viewing_booked,
    "viewing_moved": _viewing_moved,
    "viewing_cancelled": _viewing_cancelled,
    "team_transfer": _team_transfer,
}


class Notices:
    """`storage.unit_of_work.Texts` for every entry point."""

    def staff_notice(self, kind: str, language: str, params: Mapping[str, Any]) -> Rendered:
        message = STAFF_NOTICES[kind]
        values = _staff_params(language, {k: v for k, v in params.items() if k != "listing_id"})
        text = _plain(language, message, values)
        choices: list[list[Choice]] = []
        if kind in LISTING_CHECKS and isinstance(params.get("listing_id"), int):
            from dialogs.flows.recommend import verify_button  # the flow that answers the press draws it

            choices = [[verify_button(language, int(params["listing_id"]))]]
        return Rendered(payload=Say(t(language, message, **values), choices=choices).to_payload(), text=text)

    def customer_notice(self, kind: str, language: str, params: Mapping[str, Any]) -> Rendered:
        reply = CUSTOMER_NOTICES[kind](language, params)
        return Rendered(payload=reply.to_payload(), text=reply.text, kind="survey" if kind == "survey" else "say")


NOTICES = Notices()
