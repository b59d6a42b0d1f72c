"""Pure pieces of the channel: the send limiter (with a virtual clock), text splitting, callback data."""

from __future__ import annotations

import asyncio

import pytest

from bot.callbacks import pack_token, unpack_token
from bot.limits import SendLimiter
from bot.render import render, split_text, utf16_length
from dialogs.replies import Choice, Say
from storage.updates import chat_key


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def limiter(clock: VirtualClock, **kwargs) -> SendLimiter:
    return SendLimiter(monotonic=clock.monotonic, sleep=clock.sleep, **kwargs)


async def grant_times(limiter_: SendLimiter, clock: VirtualClock, chats: list[int]) -> list[float]:
    times: list[float] = []

    async def one(chat: int) -> None:
        await limiter_.acquire(chat)
        times.append(clock.now)

    for chat in chats:  # sequential: the virtual clock only moves forward
        await one(chat)
    return times


async def test_global_rate_never_exceeds_thirty_in_any_second():
    clock = VirtualClock()
    times = await grant_times(limiter(clock, global_rate=29), clock, list(range(1, 200)))
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 1.0) <= 29
    assert len(times) / times[-1] >= 28.5  # and not much slower than the limit allows


async def test_one_message_per_second_per_private_chat_and_twenty_a_minute_per_group():
    clock = VirtualClock()
    times = await grant_times(limiter(clock, global_rate=None), clock, [7, 7, 7, -100, -100, -100])
    assert times[:3] == [0.0, 1.0, 2.0]
    group = times[3:]
    assert group[1] - group[0] >= 3.0 and group[2] - group[1] >= 3.0


async def test_pauses_after_429_hold_the_chat_and_a_flood_wait_holds_everyone():
    clock = VirtualClock()
    pacing = limiter(clock, global_rate=None, per_chat_seconds=0)
    pacing.pause_chat(5, 7)
    await pacing.acquire(6)
    assert clock.now == 0.0  # other chats are not held by one chat's pause
    await pacing.acquire(5)
    assert clock.now == 7.0
    pacing.pause_all(4)
    await pacing.acquire(6)
    assert clock.now == 11.0


def test_split_text_keeps_every_character_on_line_boundaries():
    text = "\n".join(f"{n}: " + "房" * (n % 90) for n in range(600))
    parts = split_text(text)
    assert len(parts) > 1
    assert "\n".join(parts) == text
    assert all(utf16_length(part) <= 4096 for part in parts)


def test_a_very_long_line_is_cut_outside_markup():
    text = ("word &amp; <b>bold</b> " * 400).strip()
    parts = split_text(text)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    for part in parts:
        assert part.count("<b>") == part.count("</b>") and "&am" not in part.replace("&amp;", "")


def test_long_say_puts_the_keyboard_on_the_last_part_only():
    calls = render(Say("line\n" * 3000, choices=[[Choice("OK", "menu:main")]]), chat_id=1)
    assert len(calls) == 4
    assert [c.method.reply_markup is not None for c in calls] == [False, False, False, True]


def test_callback_data_round_trip_and_rejections():
    data = pack_token("menu:lang:zh")
    assert data == "r|menu:lang:zh" and len(data.encode()) <= 64
    assert unpack_token(data) == "menu:lang:zh"
    for forged in (None, "", "menu:lang:zh", "x|menu", "r|a|b"):
        assert unpack_token(forged) is None
    with pytest.raises(ValueError):
        pack_token("x" * 49)


def test_chat_key_finds_the_chat_of_each_update_kind():
    assert chat_key({"update_id": 1, "message": {"chat": {"id": 5}}}) == 5
    pressed = {"from": {"id": 6}, "message": {"chat": {"id": 7}}}
    assert chat_key({"update_id": 1, "callback_query": pressed}) == 7
    assert chat_key({"update_id": 1, "callback_query": {"from": {"id": 6}}}) == 6
    assert chat_key({"update_id": 1, "my_chat_member": {"chat": {"id": -9}}}) == -9
    assert chat_key({"update_id": 1}) == 0
