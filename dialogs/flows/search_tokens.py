"""The buttons the needs intake (`need:...`) and the recommendations (`rec:...`) draw for each other: a saved
search opens its matches, and a search without matches offers to change it. Each flow's other buttons live in
the flow itself.

    rec:s:<deal>:<position> the card at that position of the matches · need:open:<deal> change a saved search
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from dialogs.replies import Choice
from dialogs.tokens import Token, button_data, number, one_of
from storage.vocabulary import DEAL_TYPES

NEEDS = "need"
RECOMMEND = "rec"
MATCHES_SHOWN = 10  # the best matches a customer can page through

Deal = Annotated[str, one_of(DEAL_TYPES)]  # which of the customer's needs (one per deal type)
Position = Annotated[int, number(0, MATCHES_SHOWN - 1)]  # which card of their matches, from the first


@dataclass(frozen=True)
class ShowMatch(Token):
    """The card at `position` of the customer's matches for their need of this deal type."""

    prefix = "s"
    deal: Deal
    position: Position


@dataclass(frozen=True)
class OpenNeed(Token):
    """One of the customer's saved searches, to change it."""

    prefix = "open"
    deal: Deal


def needs_button(label: str, token: Token) -> Choice:
    return Choice(label, button_data(NEEDS, token))


def recommend_button(label: str, token: Token) -> Choice:
    return Choice(label, button_data(RECOMMEND, token))
