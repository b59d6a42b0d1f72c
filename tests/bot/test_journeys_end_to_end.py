"""Customer journeys end to end: the real aiogram channel against the offline Bot API server, both languages.

The clock is frozen at Monday 2026-03-02 09:00 (Asia/Shanghai) so the free viewing times are known; the
reminder tick is run by hand after moving the clock, as the scheduler would.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from dialogs import reminders as reminder_tick
from storage.models import Viewing
from tests.journey_data import seed
from tests.workplace import workplace_for

WORDS = {
    "en": {
        "sentence": "2-bedroom to rent near Wangjing under 8k from March",
        "summary": "Here is what you are looking for", "show": "✅ Show matches", "details": "Details",
        "book": "Book a viewing", "share": "📱 Share my phone number", "which_day": "Which day",
        "wed": "Wed 4 Mar", "thu": "Thu 5 Mar", "free": "Free times", "booked": "Booked!",
        "find": "Find a home", "rent": "Rent", "apartment": "Apartment", "districts": "Which districts",
        "typo": "Wangjng", "budget": "What is your budget", "rooms": "How many bedrooms", "skip": "Any / skip",
        "done": "Done", "my_viewings": "My viewings", "reschedule": "Reschedule #1", "moved": "now on Thu 5 Mar",
        "cancel": "Cancel #1", "yes_cancel": "Yes, cancel it", "cancelled": "Your viewing is cancelled",
        "no_match": "No home matches all of that", "relax": "Relaxing your budget",
        "taken": "someone has just taken that time",
        "cheap": "2-bedroom to rent in Wangjing under 3000",
    },
    "zh": {
        "sentence": "想在望京租两居室 月租8000以内 3月入住",
        "summary": "您的找房需求", "show": "✅ 查看匹配房源", "details": "详情", "book": "预约看房",
        "share": "📱 分享我的手机号", "which_day": "您哪天方便", "wed": "3月4日 周三", "thu": "3月5日 周四",
        "free": "可预约的时间", "booked": "预约成功", "find": "找房", "rent": "租房", "apartment": "公寓",
        "districts": "想在哪些区域", "typo": "Wangjng", "budget": "您的预算", "rooms": "需要几居室",
        "skip": "不限 / 跳过", "done": "完成", "my_viewings": "我的看房", "reschedule": "改期 #1",
        "moved": "改为3月5日 周四", "cancel": "取消 #1", "yes_cancel": "确定取消", "cancelled": "看房已取消",
        "no_match": "目前没有完全符合", "relax": "放宽预算", "taken": "刚刚被别人约走了",
        "cheap": "望京租两居室 月租3000以内",
    },
}


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


def translated(lang: str, english: str) -> str:
    """The customer-visible text in `lang` for an English msgid, straight from the catalogue."""
    from dialogs.i18n import t

    return t(lang, english)


async def test_sentence_results_details_booking_reminder_feedback(api, make_channel, sessions, frozen_clock,
                                                                   bus, lang) -> None:
    w = WORDS[lang]
    agent = api.customer(first_name="Wang", language_code="en")
    await seed(sessions, agent_chat_id=agent.chat_id)
    async with make_channel(api):
        ann = api.customer(first_name="Ann", language_code="zh-hans" if lang == "zh" else "en")
        ann.send_text(w["sentence"])
        await ann.wait_for(w["summary"])  # a complete sentence: its matches at once, no gate (issue 16)
        card = await ann.wait_for("R-WJ-201")
        assert "photo" in card
        ann.press(w["details"])
        details = await ann.wait_for("Test Road")
        assert "&lt;b&gt;" not in details["text"] and "<b>R-WJ-201</b> & more" in details["text"]
        ann.press(w["book"])
        ask = await ann.wait_for(translated(lang, "To book a viewing the agent needs your phone number, so they "
                                                  "can reach you if something changes on the day. Tap the button "
                                                  "below to share it."))
        assert ask and ann.reply_keyboard() is not None
        ann.tap(w["share"])
        await ann.wait_for(w["which_day"])
        ann.press(w["wed"])
        await ann.wait_for(w["free"])
        ann.press("10:00")
        booked = await ann.wait_for(w["booked"])
        assert "10:00" in booked["text"]
        note = await agent.wait_for("New viewing booked", since_last_action=False)
        assert "13800138000" in note["text"]

        # A day before: both get the reminder. Then the viewing happens and the survey comes.
        frozen_clock.set(frozen_clock.now().replace(day=3, hour=2))  # Tue 10:00 in Shanghai
        assert await reminder_tick.tick(workplace_for(sessions, bus)) == 2
        await ann.wait_for(translated(lang, "Reminder: your viewing is tomorrow at {when}: {address}.")
                           .split("{")[0], since_last_action=False)
        await agent.wait_for("Viewing at", since_last_action=False)
        frozen_clock.set(frozen_clock.now().replace(day=4, hour=4))  # Wed 12:00, the viewing is over
        await reminder_tick.tick(workplace_for(sessions, bus))
        survey = await ann.wait_for(translated(lang, "How was your viewing? 1 = very unsatisfied, "
                                                     "5 = very satisfied."), since_last_action=False)
        assert [b["text"] for row in survey["reply_markup"]["inline_keyboard"] for b in row] == list("12345")
        interest = await ann.wait_for(translated(lang, "Are you interested in this home after the viewing?"),
                                      since_last_action=False)
        assert interest
        ann.press(translated(lang, "Yes, I am interested"))
        await ann.wait_for(translated(lang, "Thank you! Your agent will get in touch."))
        ann.press("4", search_last=5)
        await ann.wait_for(translated(lang, "Thank you! You rated us {score} of 5. Anything you would like to add? "
                                            "Write it here, or skip.").split("{")[0])
        ann.send_text("Nice flat <b>really</b>")
        await ann.wait_for(translated(lang, "Thank you for your feedback!"))
        agent.press("Interested", search_last=5)
        answer = await agent.wait_for_callback_answer()
        assert answer.get("text") == "Recorded: Interested"
    async with sessions() as session:
        viewing = await session.scalar(select(Viewing))
        assert viewing.outcome == "interested" and viewing.customer_interested is True


async def test_step_by_step_with_a_misspelled_district(api, make_channel, sessions, frozen_clock, lang) -> None:
    w = WORDS[lang]
    await seed(sessions)
    async with make_channel(api):
        bob = api.customer(first_name="Bob", language_code="zh-hans" if lang == "zh" else "en")
        bob.send_command("start")
        await bob.wait_for(translated(lang, "Hello {name}! I am the Homedesk assistant. What can I do for you?")
                           .split("{name}")[-1][:8])
        bob.press(w["find"])
        await bob.wait_for(translated(lang, "Do you want to rent or to buy?"))
        bob.press(w["rent"])
        await bob.wait_for(translated(lang, "What kind of property?"))
        bob.press(w["apartment"])
        await bob.wait_for(w["districts"])
        bob.send_text(w["typo"])
        await bob.wait_for(w["budget"])
        bob.send_text("9000")
        await bob.wait_for(w["rooms"])
        bob.press("2")
        for _ in range(3):  # size, move-in, must-haves
            await asyncio.sleep(0)
            message = await bob.wait_for(lambda m: bool(m.get("reply_markup")))
            bob.press(w["skip"] if w["skip"] in [b["text"] for r in message["reply_markup"]["inline_keyboard"]
                                                  for b in r] else w["done"])
        summary = await bob.wait_for(w["summary"])
        assert ("望京" if lang == "zh" else "Wangjing") in summary["text"]
        bob.press(w["show"])
        card = await bob.wait_for("R-WJ-")
        assert "photo" in card


async def test_reschedule_and_cancel(api, make_channel, sessions, frozen_clock, lang) -> None:
    w = WORDS[lang]
    agent = api.customer(first_name="Wang", language_code="en")
    ids = await seed(sessions, agent_chat_id=agent.chat_id)
    async with make_channel(api):
        fay = api.customer(first_name="Fay", language_code="zh-hans" if lang == "zh" else "en")
        fay.send_text(w["sentence"])
        await fay.wait_for(w["summary"])  # matches at once (issue 16)
        await fay.wait_for("R-WJ-201")
        fay.press(w["book"])
        await fay.wait_for(lambda m: True)
        fay.tap(w["share"])
        await fay.wait_for(w["which_day"])
        fay.press(w["wed"])
        await fay.wait_for(w["free"])
        fay.press("10:00")
        await fay.wait_for(w["booked"])
        fay.send_command("viewings")
        await fay.wait_for("R-WJ-201")
        fay.press(w["reschedule"])
        await fay.wait_for(lambda m: any(b["text"] == w["thu"] for r in m.get("reply_markup", {})
                                         .get("inline_keyboard", []) for b in r))
        fay.press(w["thu"])
        await fay.wait_for(w["free"])
        fay.press("15:00")
        await fay.wait_for(w["moved"])
        fay.send_command("viewings")
        await fay.wait_for("15:00")
        fay.press(w["cancel"])
        await fay.wait_for(lambda m: any(b["text"] == w["yes_cancel"] for r in m.get("reply_markup", {})
                                         .get("inline_keyboard", []) for b in r))
        fay.press(w["yes_cancel"])
        await fay.wait_for(w["cancelled"])
        await agent.wait_for("Viewing moved", since_last_action=False)
        await agent.wait_for("Viewing cancelled by the customer", since_last_action=False)
    assert ids


async def test_no_match_offers_to_relax_the_blocker(api, make_channel, sessions, frozen_clock, lang) -> None:
    w = WORDS[lang]
    await seed(sessions)
    async with make_channel(api):
        dan = api.customer(first_name="Dan", language_code="zh-hans" if lang == "zh" else "en")
        dan.send_text(w["cheap"])
        await dan.wait_for(w["summary"])  # answered at once (issue 16)
        verdict = await dan.wait_for(w["no_match"])
        relax = [b["text"] for r in verdict["reply_markup"]["inline_keyboard"] for b in r
                 if b["text"].startswith(w["relax"])]
        assert relax
        dan.press(relax[0])
        card = await dan.wait_for("R-WJ-")
        assert "photo" in card and "(1/2)" in card["caption"]
        first_ref, first_id = card["caption"].split("·")[1].split()[0], card["message_id"]
        first_photo = card["photo"][-1]["file_id"]
        dan.press("Next ▶" if lang == "en" else "下一套 ▶")
        edited = await dan.wait_for("(2/2)")
        assert edited["message_id"] == first_id  # the same message, edited in place
        assert edited["photo"][-1]["file_id"] != first_photo  # with the next listing's picture
        assert edited["caption"].split("·")[1].split()[0] != first_ref


async def test_expired_button_and_unsupported_message(api, make_channel, sessions, frozen_clock, lang) -> None:
    await seed(sessions)
    async with make_channel(api):
        eve = api.customer(first_name="Eve", language_code="zh-hans" if lang == "zh" else "en")
        eve.send_command("start")
        await eve.wait_for(lambda m: bool(m.get("reply_markup")))
        eve.press_data("r|need:budget:5000-8000")  # a button of an intake that is not running
        await eve.wait_for(translated(lang, "This button has expired. Here is the menu."))
        await eve.wait_for_callback_answer()
        eve.press_data("garbage that was never ours")
        await eve.wait_for(translated(lang, "This button has expired. Here is the menu."))
        eve.send_sticker()
        await eve.wait_for(translated(lang, "I can read text, buttons, photos, locations and contacts. Stickers, "
                                            "voice and other messages I cannot read yet."))
        eve.send_voice()
        await eve.wait_for(translated(lang, "I can read text, buttons, photos, locations and contacts. Stickers, "
                                            "voice and other messages I cannot read yet."))


async def test_concurrent_double_booking_through_telegram(api, make_channel, sessions, frozen_clock, lang) -> None:
    w = WORDS[lang]
    await seed(sessions)
    async with make_channel(api, handler_concurrency=8):
        people = [api.customer(first_name=n, language_code="zh-hans" if lang == "zh" else "en")
                  for n in ("Kim", "Lee")]
        for person in people:
            person.send_text(w["sentence"])
        for person in people:  # matches at once (issue 16)
            await person.wait_for("R-WJ-201", since_last_action=False)
            person.press(w["book"])
        for person in people:
            await person.wait_for(lambda m: True)
            person.tap(w["share"])
        for person in people:
            await person.wait_for(w["which_day"])
            person.press(w["wed"])
        for person in people:
            await person.wait_for(w["free"])
        for person in people:  # both press 10:00 before either is handled
            person.press("10:00")
        outcomes = []
        for person in people:
            message = await person.wait_for(lambda m: w["booked"] in (m.get("text") or "")
                                            or w["taken"] in (m.get("text") or ""))
            outcomes.append("won" if w["booked"] in message["text"] else "taken")
    assert sorted(outcomes) == ["taken", "won"]
    async with sessions() as session:
        assert len((await session.scalars(select(Viewing))).all()) == 1
