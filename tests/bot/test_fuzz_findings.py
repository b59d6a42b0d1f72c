"""What the update fuzz (test_fuzz_pipeline.py) found, each pinned by a small deterministic test."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import DeadLetter, InboundUpdate
from storage.updates import beyond_64_bits
from tests.bot.conftest import eventually

BEYOND_INT64 = 2**64 + 1
FAST_RETRIES = {"retry_base": 0.01, "retry_cap": 0.05}


async def test_a_sender_id_beyond_64_bits_in_a_normal_chat_is_dead_lettered_at_once(api, make_any_channel,
                                                                                   any_sessions):
    """Found by the fuzz: only the chat's id was checked, so a sender's id beyond 64 bits reached the flows and
    overflowed the customers table three times over (a traceback each, and a press answered three times: Telegram
    refuses all but the first answer). Now any number beyond 64 bits sends the update to the dead letters before
    anything runs, and the press is answered once."""
    async with make_any_channel(api, intake=FAST_RETRIES) as channel:
        ann = api.customer(first_name="Ann")
        ann.send_command("start")
        menu = await ann.wait_for("Hello Ann")
        forger = {"id": BEYOND_INT64, "is_bot": False, "first_name": "Forger", "language_code": "en"}
        text = api.incoming_message(ann.chat_id, forger, {"text": "hello"})
        press = api.callback_query(ann.chat_id, forger, menu, menu["reply_markup"]["inline_keyboard"][0][0][
            "callback_data"])
        ann.send_command("help")
        await ann.wait_for("Here is what I can do")
        await eventually(lambda: any(a["callback_query_id"] == press["callback_query"]["id"]
                                     for a in api.answered_callbacks), what="the press answered")
        await channel.sender.drain()
        assert channel.pipeline.stats.failed_attempts == 0, "nothing was tried that could only overflow"
    assert [a["callback_query_id"] for a in api.answered_callbacks].count(press["callback_query"]["id"]) == 1
    assert not [call for call in api.calls if call.status == 400]
    async with any_sessions() as session:
        letters = {letter.update_id: letter for letter in await session.scalars(select(DeadLetter))}
        stored = await session.scalar(select(InboundUpdate).where(InboundUpdate.update_id == text["update_id"]))
    assert stored is None
    for update in (text, press):
        letter = letters[update["update_id"]]
        assert letter.stage == "store" and letter.chat_id == ann.chat_id
        assert "beyond 64 bits" in letter.error and ".from.id" in letter.error
        assert str(BEYOND_INT64) in letter.raw


def test_beyond_64_bits_names_where_the_number_is() -> None:
    assert beyond_64_bits({"update_id": 1, "message": {"chat": {"id": -(2**63)}, "from": {"id": 2**63 - 1}}}) is None
    assert beyond_64_bits({"message": {"from": {"id": 2**63}}}) == "update.message.from.id"
    assert beyond_64_bits({"poll": {"options": [{"n": 1}, {"n": -(2**63) - 1}]}}) == "update.poll.options[1].n"
    assert beyond_64_bits({"a": [1.5e300, "9" * 40, True, None]}) is None
