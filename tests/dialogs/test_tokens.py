"""The button codec: what a flow encodes comes back typed; anything else (stale, forged, too big) is None."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs.flows.describe import PhotosDone, PickCategory
from dialogs.flows.recommend import Reject
from dialogs.flows.repair import PickUnit, PickUrgency
from dialogs.flows.search_tokens import ShowMatch
from dialogs.flows.survey import Rate
from dialogs.flows.tickets import BackToList, TicketAction, TicketButton
from dialogs.flows.viewing_tokens import AgentOutcome, Interest, PickDay, PickTime, RescheduleTime, StillInterested
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


# Days, times, positions and scores: the kinds the booking, viewings, recommend and survey buttons carry.
WHEN_KINDS = (PickDay, PickTime, RescheduleTime, Rate, ShowMatch, Reject, StillInterested, AgentOutcome)


def test_days_times_positions_and_scores_round_trip() -> None:
    at = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    for token, text in ((PickDay(7, date(2026, 3, 4)), "d:7:20260304"), (PickTime(7, at), "t:7:29543160"),
                        (RescheduleTime(3, at), "rt:3:29543160"), (Rate(9, 5), "r:9:5"),
                        (ShowMatch("rent", 0), "s:rent:0"), (Reject("sale", 9, 4, "too_far"), "nr:sale:9:4:too_far"),
                        (StillInterested(5, Interest.NO), "i:5:n"), (AgentOutcome(5, "no_show"), "o:5:no_show")):
        assert token.encode() == text
        assert decode(text, *WHEN_KINDS) == token
    local = PickTime.decode("t:7:29543160")
    assert local is not None and local.starts_at == at.astimezone(ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize("text", [
    "d:7:20260230", "d:7:2026034", "d:7:２0260304", "d:7:-2026030", "t:7:-1", "t:7:99999999999999999999",
    f"t:7:{2**64}", "t:7:1e9", "r:9:0", "r:9:6", "r:9:²", "r:²:1", "s:lease:0", "s:rent:10", "s:rent:-1",
    "nr:sale:9:4:ugly", f"nr:sale:9:{2**64}:too_far", "i:5:maybe", "o:5:sold", "o:5:",
])
def test_forged_days_times_positions_and_scores_decode_to_none(text: str) -> None:
    assert decode(text, *WHEN_KINDS) is None


def test_a_flow_cannot_draw_a_time_that_is_not_a_whole_minute_in_a_known_zone() -> None:
    for bad in (PickTime(7, datetime(2026, 3, 4, 2, 0, 30, tzinfo=UTC)), PickTime(7, datetime(2026, 3, 4, 2, 0)),
                PickDay(7, datetime(2026, 3, 4, tzinfo=UTC)), Rate(9, 6), ShowMatch("rent", 10),
                TicketButton("qa", 1)):  # a plain string where the enum belongs
        with pytest.raises(ValueError):
            bad.encode()
