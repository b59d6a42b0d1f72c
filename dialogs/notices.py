"""The words of staff and system actions: what staff are told (notices) and what customers are told when a
person or the system acts on their conversation. Storage services reach these through `work.texts`
(`storage.unit_of_work.Texts`), so every sentence lives here, in both languages, and nowhere else.

Staff notices have two renderings: plain text for the console's notification list (the console escapes it
when it draws the page) and an HTML-escaped Telegram message for staff who linked their Telegram account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dialogs.i18n import N_, t, translate
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
}

# Why a follow-up was opened (`FollowUpTask.reason`, set by storage.services.surveys and .revisits), as staff
# read it.
FOLLOW_UP_REASONS: dict[str, str] = {
    "low_score": N_("low satisfaction score"),
    "revisit_help": N_("the customer asked for help at a revisit"),
    "loan_rejected": N_("the loan was rejected"),
}


def _plain(lang: str, message: str, params: Mapping[str, Any]) -> str:
    return translate(lang, message).format(**{key: str(value) for key, value in params.items()})


def _staff_params(lang: str, params: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(params)
    if "reason" in values:
        reason = str(values["reason"])
        values["reason"] = translate(lang, FOLLOW_UP_REASONS[reason]) if reason in FOLLOW_UP_REASONS else reason
    return values


def _agent_joined(lang: str, params: Mapping[str, Any]) -> Say:
    return Say(t(lang, "{name} from our team is here now and will answer you in this chat.", name=params["agent"]))


def _returned_to_bot(lang: str, params: Mapping[str, Any]) -> Say:
    return Say(t(lang, "You are back with the assistant. Ask for a person any time."),
               choices=[[Choice(t(lang, "Main menu"), "menu:main")]])


def _survey(lang: str, params: Mapping[str, Any]) -> Say:
    from dialogs.flows.survey import survey_question  # the survey flow owns its question and buttons

    return survey_question(lang, subject_type=str(params["subject_type"]), subject_id=int(params["subject_id"]),
                           survey_id=int(params["survey_id"]), subject=str(params.get("subject") or ""))


CUSTOMER_NOTICES: dict[str, Callable[[str, Mapping[str, Any]], Say]] = {
    "agent_joined": _agent_joined,
    "returned_to_bot": _returned_to_bot,
    "survey": _survey,
}


class Notices:
    """`storage.unit_of_work.Texts` for every entry point."""

    def staff_notice(self, kind: str, language: str, params: Mapping[str, Any]) -> Rendered:
        message = STAFF_NOTICES[kind]
        values = _staff_params(language, params)
        text = _plain(language, message, values)
        return Rendered(payload=Say(t(language, message, **values)).to_payload(), text=text)

    def customer_notice(self, kind: str, language: str, params: Mapping[str, Any]) -> Rendered:
        reply = CUSTOMER_NOTICES[kind](language, params)
        return Rendered(payload=reply.to_payload(), text=reply.text, kind="survey" if kind == "survey" else "say")


NOTICES = Notices()
