"""What a customer reads when a ticket is filed or a viewing is booked, moved or cancelled — the same words
whether they did it themselves in the chat (the repair, complaint, booking and viewings flows) or a staff member
did it for them from the console (storage.services.on_behalf, through dialogs.notices). One place, so the two
can never say different things.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dialogs.i18n import t


def ticket_filed_text(lang: str, *, kind: str, number: str, needs_verification: bool = False,
                      warranty_status: str = "unknown", priority: str = "normal", call_by: datetime | None = None,
                      tz: ZoneInfo | None = None) -> str:
    """The receipt of a new repair or complaint: its number, and what happens next. An emergency's promise is
    the ticket's first-response deadline (`call_by`, from the emergency SLA policy), whatever admins set it to."""
    if kind == "complaint":
        return t(lang, "Your complaint is registered. Number: {number}. It goes to the responsible team, and a "
                       "person will talk to you here.", number=number)
    lines = [t(lang, "Your repair request is registered. Number: {number}.", number=number)]
    if needs_verification:
        lines.append(t(lang, "It is filed as \"owner not yet verified\": our staff will confirm that you own the "
                             "home before the repair is scheduled."))
    if warranty_status == "in":
        lines.append(t(lang, "Your home is within the warranty period for this, so the repair is free."))
    elif warranty_status == "out":
        lines.append(t(lang, "The warranty period for this has ended, so the repair is paid. We will send you a "
                             "quote here first; nothing is done before you accept it."))
    else:
        lines.append(t(lang, "Our staff will check the warranty and tell you whether the repair is free."))
    if priority == "emergency" and call_by is not None and tz is not None:
        from dialogs.cards import when

        lines.append(t(lang, "Marked as an emergency: we will call you by {when}. If there is danger (gas, fire), "
                             "also call the emergency services.", when=when(lang, call_by, tz)))
    elif priority == "emergency":
        lines.append(t(lang, "Marked as an emergency: we will call you within the hour. If there is danger "
                             "(gas, fire), also call the emergency services."))
    lines.append(t(lang, "You can follow it under \"My requests\"."))
    return "\n".join(lines)


def viewing_booked_text(lang: str, *, home: str, ref: str, starts_at: datetime, tz: ZoneInfo, agent: str) -> str:
    from dialogs.cards import when

    return t(lang, "Booked! Viewing of {home} ({ref}) on {when} with {agent}. I will remind you a day before and "
                   "an hour before.", home=home, ref=ref, when=when(lang, starts_at, tz), agent=agent)


def viewing_moved_text(lang: str, *, starts_at: datetime, tz: ZoneInfo) -> str:
    from dialogs.cards import when

    return t(lang, "Done: your viewing is now on {when}.", when=when(lang, starts_at, tz))
