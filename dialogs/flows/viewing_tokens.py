"""The buttons of booking a viewing (`book:...`) and of my viewings (`vw:...`), in one place because each flow
draws some of the other's: rescheduling from my viewings picks a day in the booking flow, and a booking tells the
agent with the outcome buttons my viewings answers.

    book:l:<listing> open · book:d:<listing>:<day> · book:t:<listing>:<time> · book:rd:<viewing>:<day> ·
    book:rt:<viewing>:<time> · book:x cancel
    vw:r:<viewing> reschedule · vw:c:<viewing> ask to cancel · vw:cy:<viewing> cancel ·
    vw:o:<viewing>:<outcome> the agent's outcome · vw:i:<viewing>:<y|n> still interested after the viewing
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from dialogs.replies import Choice
from dialogs.tokens import Token, button_data, one_of
from storage.vocabulary import VIEWING_OUTCOMES

BOOK = "book"
VIEWINGS = "vw"
# What the agent records after a viewing: how it went (done, no-show) or how the customer took it.
AGENT_OUTCOMES = ("done", "no_show", *VIEWING_OUTCOMES)


@dataclass(frozen=True)
class OpenListing(Token):
    prefix = "l"
    listing_id: int


@dataclass(frozen=True)
class PickDay(Token):
    prefix = "d"
    listing_id: int
    day: date


@dataclass(frozen=True)
class PickTime(Token):
    prefix = "t"
    listing_id: int
    starts_at: datetime


@dataclass(frozen=True)
class RescheduleDay(Token):
    prefix = "rd"
    viewing_id: int
    day: date


@dataclass(frozen=True)
class RescheduleTime(Token):
    prefix = "rt"
    viewing_id: int
    starts_at: datetime


@dataclass(frozen=True)
class CancelBooking(Token):
    prefix = "x"


class ViewingAction(StrEnum):
    RESCHEDULE = "r"
    ASK_CANCEL = "c"
    CANCEL = "cy"


@dataclass(frozen=True)
class ViewingButton(Token):
    """A customer's button about one of their viewings; whose viewing it is, is checked on every press."""

    prefix = ""
    action: ViewingAction
    viewing_id: int


@dataclass(frozen=True)
class AgentOutcome(Token):
    prefix = "o"
    viewing_id: int
    outcome: Annotated[str, one_of(AGENT_OUTCOMES)]


class Interest(StrEnum):
    YES = "y"
    NO = "n"


@dataclass(frozen=True)
class StillInterested(Token):
    prefix = "i"
    viewing_id: int
    answer: Interest


def booking_button(label: str, token: Token) -> Choice:
    return Choice(label, button_data(BOOK, token))


def viewings_button(label: str, token: Token) -> Choice:
    return Choice(label, button_data(VIEWINGS, token))
