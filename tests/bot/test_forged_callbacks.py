"""Forged button presses (ids beyond 64 bits, signs, other scripts' digits, huge data) are answered as an
expired button, never with a traceback and "something went wrong"."""

from __future__ import annotations

import logging

import pytest

from bot.callbacks import pack_token, unpack_token

BIG = str(2**64)
# One forged press per flow that reads a number from its token, by hand or through dialogs/tokens.py.
FORGED = [
    f"r|survey:r:{BIG}:5", f"r|survey:r:{2**63}:5", f"r|revisit:good:{BIG}", f"r|revisit:help:{BIG}",
    f"r|vw:o:{BIG}:done", f"r|rec:d:{BIG}", f"r|book:l:{BIG}", f"r|tickets:ok:{BIG}", f"r|need:open:{BIG}",
    f"r|viewings:c:{BIG}", f"r|book:{BIG}", f"r|book:-{BIG}",
    f"r|rec:rp:{BIG}", f"r|rec:rr:{BIG}:taken", "r|rec:rr:1:stolen", "r|owner:a:district:99", "r|owner:r:call",
    "r|owner:a:nosuchstep:1", "r|owner:r:sue",
    "r|survey:r:-1:5", "r|revisit:good:-1", "r|book:-1",
    "r|survey:r:²:5", "r|revisit:good:١٢", "r|survey:r:１２:5",
    "r|" + "9" * 5000, "r|survey:r:" + "9" * 60, "x" * 10_000, "r|", "r||",
]


def test_unpack_accepts_what_we_pack_and_nothing_a_database_id_cannot_be():
    for token in ("menu:lang:zh", f"survey:r:{2**63 - 1}:5", "vw:o:12:done", "book:-1", "need:s:rent:0"):
        assert unpack_token(pack_token(token)) == token
    for data in FORGED:
        token = unpack_token(data)
        assert token is None or not any(part.lstrip("+-").isdigit() and int(part) >= 2**63
                                        for part in token.split(":")), data
    assert unpack_token(f"r|survey:r:{BIG}:5") is None
    assert unpack_token("r|survey:r:²:5") is None
    assert unpack_token("r|" + "a" * 100) is None  # longer than Telegram's 64 bytes: not ours


async def test_forged_presses_are_answered_as_expired_without_a_traceback(api, make_any_channel, caplog):
    with caplog.at_level(logging.ERROR):
        async with make_any_channel(api):
            ann = api.customer(first_name="Ann")
            ann.send_command("start")
            await ann.wait_for("Hello Ann")
            for data in FORGED:
                answered = len(api.answered_callbacks)
                ann.press_data(data)
                reply = await ann.wait_for(lambda m: True, timeout=20)
                assert "This button has expired" in reply["text"], (data[:40], reply["text"][:80])
                await ann.wait_for_callback_answer()
                assert len(api.answered_callbacks) == answered + 1
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]


@pytest.mark.parametrize("data", ["r|survey:r:18446744073709551616:5", "r|rec:d:18446744073709551616"])
def test_big_ids_never_reach_a_flow(data):
    assert unpack_token(data) is None
