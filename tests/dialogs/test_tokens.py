"""The button codec: what a flow encodes comes back typed; anything else (stale, forged, too big) is None."""

from __future__ import annotations

import pytest

from dialogs.flows.describe import PhotosDone, PickCategory
from dialogs.flows.repair import PickUnit, PickUrgency
from dialogs.flows.tickets import BackToList, TicketAction, TicketButton
from dialogs.tokens import MAX_ID, decode

KINDS = (TicketButton, BackToList, PhotosDone, PickUnit, PickUrgency, PickCategory)


def test_tokens_round_trip() -> None:
    for token, text in ((TicketButton(TicketAction.ACCEPT_QUOTE, 42), "qa:42"), (BackToList(), "list"),
                        (PhotosDone(), "photos:done"), (PickUnit(MAX_ID), f"unit:{MAX_ID}"),
                        (PickUrgency("emergency"), "urg:emergency"), (PickCategory("plumbing"), "cat:plumbing")):
        assert token.encode() == text
        assert decode(text, *KINDS) == token
    pressed = decode("ok:7", *KINDS)
    assert isinstance(pressed, TicketButton) and pressed.action is TicketAction.CONFIRM_FIXED


@pytest.mark.parametrize("text", [
    "qa", "qa:", "qa:abc", "qa:0", "qa:-1", "qa:+1", "qa: 1", "qa:1.0", "qa:１２", "qa:²", f"qa:{MAX_ID + 1}",
    f"qa:{2**64}", "qa:" + "9" * 5000, "qa:1:2", "zz:1", "urg:low", "urg:", "unit:1:x", "photos:later",
    "photos:done:1", "list:1", "cat:", "cat:a:b", "",
])
def test_stale_forged_and_oversized_tokens_decode_to_none(text: str) -> None:
    assert decode(text, *KINDS) is None


def test_a_flow_cannot_draw_a_button_the_codec_would_refuse() -> None:
    for bad in (TicketButton(TicketAction.SHOW, 0), PickUnit(MAX_ID + 1), PickUrgency("low"), PickCategory("a:b")):
        with pytest.raises(ValueError):
            bad.encode()
