"""The button codec: what a flow encodes comes back typed; anything else (stale, forged, too big) is None."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dialogs.tokens import MAX_ID, Token, decode, one_of
from storage.vocabulary import TicketStatus


@dataclass(frozen=True)
class Show(Token):
    prefix = "v"
    ticket_id: int


@dataclass(frozen=True)
class Pick(Token):
    prefix = "pick:one"
    colour: str = one_of(("red", "blue"))


@dataclass(frozen=True)
class Move(Token):
    prefix = "mv"
    ticket_id: int
    to: TicketStatus


@dataclass(frozen=True)
class Back(Token):
    prefix = "back"


def test_tokens_round_trip() -> None:
    for token, text in ((Show(42), "v:42"), (Pick("red"), "pick:one:red"), (Back(), "back"),
                        (Move(7, TicketStatus.RESOLVED), "mv:7:resolved"), (Show(MAX_ID), f"v:{MAX_ID}")):
        assert token.encode() == text
        assert decode(text, Show, Pick, Move, Back) == token
    assert isinstance(Move.decode("mv:7:closed").to, TicketStatus)  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [
    "v", "v:", "v:abc", "v:0", "v:-1", "v:+1", "v: 1", "v:1.0", "v:１２", "v:²", f"v:{MAX_ID + 1}", f"v:{2**64}",
    "v:" + "9" * 5000, "v:1:2", "x:1", "pick:one:green", "pick:one:", "pick:two:red", "pick:one:red:x",
    "mv:7:done", "back:1", "",
])
def test_stale_forged_and_oversized_tokens_decode_to_none(text: str) -> None:
    assert decode(text, Show, Pick, Move, Back) is None


def test_a_flow_cannot_draw_a_button_the_codec_would_refuse() -> None:
    for bad in (Show(0), Show(MAX_ID + 1), Pick("green")):
        with pytest.raises(ValueError):
            bad.encode()
