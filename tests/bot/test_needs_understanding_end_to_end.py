"""Issue 15 §1 through the real aiogram channel and the offline Bot API server, in both languages: an impossible
budget is asked again quoting the customer, and a deal type read from the budget's size is said back."""

from __future__ import annotations

import pytest

from tests.bot.test_journeys_end_to_end import translated
from tests.journey_data import seed

SENTENCES = {
    "en": ("rent a 2-bedroom in Wangjing, budget -5000", "2 bedrooms near Wangjing, 8000 max"),
    "zh": ("望京 租房 两居 预算-5000", "望京 两居 8000以内"),
}


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


async def test_impossible_budget_then_inferred_deal(api, make_channel, sessions, frozen_clock, lang) -> None:
    await seed(sessions)
    questioned, inferred = SENTENCES[lang]
    async with make_channel(api):
        cai = api.customer(first_name="Cai", language_code="zh-hans" if lang == "zh" else "en")
        cai.send_text(questioned)
        ask = await cai.wait_for(translated(lang, "You wrote “{words}” for the budget, which is far from what homes "
                                                  "here cost (or not a number I can read). What is your budget?")
                                 .split("{words}")[0] + "-5000")
        buttons = [b["text"] for row in ask["reply_markup"]["inline_keyboard"] for b in row]
        assert translated(lang, "Any / skip") in buttons  # the budget question's own buttons
        cai.send_text("8000")
        summary = await cai.wait_for(translated(lang, "Here is what you are looking for:"))
        assert ("¥8k" if lang == "en" else "¥8000") in summary["text"]
        cai.press(translated(lang, "✅ Show matches"))
        await cai.wait_for("R-WJ-201")

        dan = api.customer(first_name="Dan", language_code="zh-hans" if lang == "zh" else "en")
        dan.send_text(inferred)
        summary = await dan.wait_for(translated(lang, "No rent or buy word, so I took it as renting from the size of "
                                                      "the budget; tap “Edit: Rent or buy” if you want to buy.")[:12])
        buttons = [b["text"] for row in summary["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == [translated(lang, "Edit my search")]
