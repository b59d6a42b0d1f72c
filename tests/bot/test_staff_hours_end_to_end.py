"""Issue 10: a department without the demo seed. Its agents have no working hours yet, so the bot says honestly
that nobody can take viewings (and offers a person) instead of offering days that lead nowhere. An admin then
creates an agent in the console and sets their working hours; the customer books that agent through Telegram
(the real aiogram channel against the offline Bot API server); time off removes the slots, in both languages.

The clock is frozen at Monday 2026-03-02 09:00 (Asia/Shanghai).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from staff_console.app import create_app
from storage.db import transaction
from storage.models import Staff, Viewing
from storage.services.staff_accounts import create_staff
from tests.bot.test_journeys_end_to_end import WORDS, translated
from tests.journey_data import seed
from tests.staff_console.conftest import PASSWORD, console_settings, sign_in

DAYS = {"en": {"wed4": "Wed 4 Mar", "wed11": "Wed 11 Mar"}, "zh": {"wed4": "3月4日 周三", "wed11": "3月11日 周三"}}
NOBODY = ("Sorry, none of our agents can take viewings in the next two weeks, so I cannot book one here. A person "
          "from our team can note your request and call you back.")


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


def labels(message: dict[str, Any]) -> list[str]:
    return [button["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for button in row]


async def test_admin_gives_a_new_agent_hours_the_customer_books_them_time_off_removes_slots(
        api, make_channel, sessions, bus, frozen_clock, lang) -> None:
    w, days = WORDS[lang], DAYS[lang]
    await seed(sessions, agent_chat_id=None)
    async with transaction(sessions) as session:
        for agent in (await session.scalars(select(Staff))).all():
            agent.working_hours = {}  # a department fresh from create-staff: nobody has hours yet
        await create_staff(session, "boss@agency.test", "Boss", "admin", PASSWORD)

    console = TestClient(TestServer(create_app(settings=console_settings(), sessions=sessions, bus=bus)))
    await console.start_server()
    try:
        async with make_channel(api):
            ann = api.customer(first_name="Ann", language_code="zh-hans" if lang == "zh" else "en")
            ann.send_text(w["sentence"])
            await ann.wait_for("R-WJ-201")
            ann.press(w["book"], search_last=3)
            honest = await ann.wait_for(translated(lang, NOBODY))
            assert labels(honest) == [translated(lang, "Talk to a person")]  # no days that lead nowhere

            # The admin creates an agent and gives them Wednesday mornings.
            token = await sign_in(console, "boss@agency.test")
            created = await console.post("/staff", data={"email": "new.agent@agency.test", "name": "Nina New",
                                                         "role": "agent", "password": "first-password",
                                                         "csrf_token": token})
            page = await created.text()
            assert created.status == 200 and 'id="created-profile"' in page
            async with sessions() as session:
                nina = await session.scalar(select(Staff).where(Staff.email == "new.agent@agency.test"))
            hours = await console.post(f"/staff/{nina.id}/hours", data={"wed": "09:00-12:00", "csrf_token": token},
                                       allow_redirects=False)
            assert hours.status == 303

            ann.press(w["book"], search_last=3)
            await ann.wait_for(translated(lang, "To book a viewing the agent needs your phone number, so they can "
                                                "reach you if something changes on the day. Tap the button below "
                                                "to share it."))
            ann.tap(w["share"])
            offered = await ann.wait_for(w["which_day"])
            assert [label for label in labels(offered) if label != translated(lang, "Cancel")] == \
                [days["wed4"], days["wed11"]]
            ann.press(days["wed4"])
            times = await ann.wait_for(w["free"])
            assert [label for label in labels(times) if ":" in label] == \
                ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
            ann.press("10:30")
            booked = await ann.wait_for(w["booked"])
            assert "Nina New" in booked["text"] and "10:30" in booked["text"]

            # Nina takes the 11th off: only the 4th is offered, and its booked time is gone.
            away = await console.post(f"/staff/{nina.id}/time-off", data={
                "first_day": "2026-03-11", "last_day": "2026-03-11", "reason": "training", "csrf_token": token},
                allow_redirects=False)
            assert away.status == 303
            ann.press(w["book"], search_last=6)
            offered = await ann.wait_for(w["which_day"])
            assert [label for label in labels(offered) if label != translated(lang, "Cancel")] == [days["wed4"]]
            ann.press(days["wed4"])
            times = await ann.wait_for(w["free"])
            # 10:30 is booked; 10:00 would run into it and 11:00 into its 30 minutes of travel.
            assert [label for label in labels(times) if ":" in label] == ["09:00", "09:30", "11:30"]

            # Away the 4th as well: nobody takes viewings any more, and the bot says so.
            await console.post(f"/staff/{nina.id}/time-off", data={
                "first_day": "2026-03-02", "last_day": "2026-03-04", "csrf_token": token}, allow_redirects=False)
            ann.press(w["book"], search_last=8)
            await ann.wait_for(translated(lang, NOBODY))
            page = await (await console.get(f"/staff/{nina.id}")).text()
            assert re.search(r'id="viewing-status" class="flash error"', page)
            assert 'id="time-off-clashes"' in page  # the booked viewing on the 4th falls in the time off
    finally:
        await console.close()
    async with sessions() as session:
        viewing = await session.scalar(select(Viewing))
        assert viewing.agent_id == nina.id and viewing.status == "booked"
