"""Owners and listings kept true, end to end: the real aiogram channel against the offline Bot API server.

- an owner describes the home in one sentence, gets a valuation with comparables (English and Chinese), asks
  for a call, and the lead appears in the console;
- a stale listing stops being recommended after the grace period and comes back when an agent verifies it in the
  console; its card then says how fresh it is (frozen clock);
- a customer's "already rented" report reaches the listing's agent, and a second report pauses the listing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from dialogs.i18n import t
from homedesk.app import verification_tick
from staff_console.app import create_app
from storage.db import transaction
from storage.models import Listing, ListingReport, OwnerLead
from storage.services.staff_accounts import create_staff
from tests.journey_data import seed
from tests.owner_data import seed_comparables
from tests.staff_console.conftest import PASSWORD, console_settings, sign_in
from tests.workplace import SETTINGS, workplace_for

SENTENCE = {
    "en": "I want to sell my 2-bedroom flat in Wangjing, 89 m², 12th floor, renovated, expect 6 million",
    "zh": "我想卖房 望京 两居 89平 12楼 精装 600万",
}
SEARCH = {"en": "2-bedroom to rent near Wangjing under 8k", "zh": "想在望京租两居室 月租8000以内"}


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


def head(lang: str, message: str) -> str:
    """The customer-visible text before its first parameter."""
    return t(lang, message).split("{")[0]


@asynccontextmanager
async def console(sessions, bus) -> AsyncIterator[tuple[TestClient, str]]:
    async with transaction(sessions) as session:
        await create_staff(session, "agent@example.com", "Alan Agent", "agent", PASSWORD)
    app = create_app(settings=console_settings(), sessions=sessions, bus=bus)
    async with TestClient(TestServer(app)) as client:
        token = await sign_in(client, "agent@example.com")
        yield client, token


async def test_owner_gets_a_valuation_and_asks_for_a_call(api, make_channel, sessions, bus, frozen_clock,
                                                        lang) -> None:
    agent = api.customer(first_name="Wang", language_code="en")
    await seed(sessions, agent_chat_id=agent.chat_id)
    await seed_comparables(sessions)
    async with make_channel(api):
        olga = api.customer(first_name="Olga", language_code="zh-hans" if lang == "zh" else "en")
        olga.send_text(SENTENCE[lang])
        question = await olga.wait_for(t(lang, "When is it available?"))
        assert t(lang, "Here is what I understood:") in question["text"]
        olga.press(t(lang, "Skip"))
        await olga.wait_for(t(lang, "Send photos of the home if you like, then press Done."))
        olga.send_photo()
        await olga.wait_for(head(lang, "Photo received ({n}). Send more, or press Done."))
        olga.press(t(lang, "Done"))
        valuation = await olga.wait_for(t(lang, "Based on {n} comparable listings.", n=4))
        assert "¥5,670,000" in valuation["text"] and "¥6,140,000" in valuation["text"]
        assert head(lang, "How: the asking prices per m² of active listings in {place} (and its neighbours when "
                          "needed) within 30% of your area and one bedroom of yours; the range is their middle "
                          "half times your area.") in valuation["text"]
        for ref in ("S-WJ-501", "S-WJ-502", "S-WJ-503"):
            card = await olga.wait_for(ref, since_last_action=False)
            assert "photo" in card
        await olga.wait_for(t(lang, "What would you like to do next?"), since_last_action=False)
        olga.press(t(lang, "📞 Ask an agent to call me"))
        await olga.wait_for(t(lang, "So the agent can call you, please share your phone number with the button "
                                    "below, or type it."))
        olga.tap(t(lang, "📱 Share my phone number"))
        await olga.wait_for(head(lang, "Thank you! An agent will call you soon about your home (request #{n})."))
        note = await agent.wait_for("New owner lead from Olga", since_last_action=False)
        assert "to sell" in note["text"] and "an agent's call" in note["text"]
    async with sessions() as session:
        lead = await session.scalar(select(OwnerLead))
    assert (lead.intent, lead.request, lead.phone, len(lead.intake["photos"])) == ("sell", "call", "13800138000", 1)
    async with console(sessions, bus) as (client, _token):
        page = await (await client.get("/owners")).text()
        assert f'<tr data-lead="{lead.id}">' in page and "Olga" in page
        detail = await (await client.get(f"/owners/{lead.id}")).text()
        assert "¥5,670,000 – ¥6,140,000" in detail and "S-WJ-501" in detail


async def test_stale_listing_leaves_the_matches_and_comes_back_when_verified(api, make_channel, sessions, bus,
                                                                            frozen_clock, lang) -> None:
    ids = await seed(sessions)
    async with make_channel(api):
        ann = api.customer(first_name="Ann", language_code="zh-hans" if lang == "zh" else "en")
        ann.send_text(SEARCH[lang])
        card = await ann.wait_for("R-WJ-201")
        assert t(lang, "Listed today") in card["caption"]

        frozen_clock.advance(days=SETTINGS.verify_rent_days)
        assert await verification_tick(workplace_for(sessions, bus)) == (4, 0)  # the four rentals: reminded
        ann.send_text(SEARCH[lang])
        await ann.wait_for("R-WJ-201")  # flagged, still recommended during the grace period
        frozen_clock.advance(days=SETTINGS.verify_grace_days)
        assert await verification_tick(workplace_for(sessions, bus)) == (0, 4)
        ann.send_text(SEARCH[lang])
        await ann.wait_for(t(lang, "No home matches all of that right now."))

        async with console(sessions, bus) as (client, token):
            done = await client.post(f"/listings/{ids['R-WJ-201']}/verify", data={"csrf_token": token},
                                     allow_redirects=False)
            assert done.status == 303
        frozen_clock.advance(days=3)
        ann.send_text(SEARCH[lang])
        card = await ann.wait_for("R-WJ-201")
        assert t(lang, "Verified {n} days ago", n=3) in card["caption"]
    async with sessions() as session:
        assert (await session.get(Listing, ids["R-WJ-202"])).withheld_reason == "stale"


async def test_already_rented_report_reaches_the_agent(api, make_channel, sessions, bus, frozen_clock,
                                                      lang) -> None:
    agent = api.customer(first_name="Wang", language_code="en")
    ids = await seed(sessions, agent_chat_id=agent.chat_id)
    async with make_channel(api):
        for n, name in enumerate(("Ann", "Ben")):
            who = api.customer(first_name=name, language_code="zh-hans" if lang == "zh" else "en")
            who.send_text(SEARCH[lang])
            await who.wait_for("R-WJ-201")
            who.press(t(lang, "⚠️ Report a problem"))
            await who.wait_for(head(lang, "What is wrong with {ref}? The agent will check it."))
            who.press(t(lang, "Already rented or sold"))
            await who.wait_for(head(lang, "Thank you for telling us. The agent of {ref} will check it."))
            if n == 0:
                note = await agent.wait_for("A customer reported listing R-WJ-201", since_last_action=False)
                assert "already rented or sold" in note["text"]
        paused = await agent.wait_for("Listing R-WJ-201 was reported 2 times", since_last_action=False)
        assert "no longer recommended until you verify it" in paused["text"]
        carl = api.customer(first_name="Carl", language_code="en")
        carl.send_text(SEARCH["en"])
        await carl.wait_for("No home matches all of that right now.")  # R-WJ-201 was the only one that fits
        assert not any("R-WJ-201" in (m.get("caption") or m.get("text") or "") for m in carl.messages())
        async with sessions() as session:
            listing = await session.get(Listing, ids["R-WJ-201"])
            reports = (await session.scalars(select(ListingReport.reason))).all()
        assert listing.withheld_reason == "reports" and reports == ["taken", "taken"]

        # Someone else's press on the agent's button does nothing; the agent's own press verifies in one click.
        carl.press_data(paused["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        await carl.wait_for("This button has expired")
        agent.press("✔ Verify: still available as shown")
        answer = await agent.wait_for_callback_answer()
        assert answer.get("text") == "R-WJ-201 verified."
        carl.send_text(SEARCH["en"])
        await carl.wait_for("R-WJ-201")
    async with sessions() as session:
        listing = await session.get(Listing, ids["R-WJ-201"])
        open_reports = (await session.scalars(select(ListingReport).where(ListingReport.resolved_at.is_(None)))).all()
    assert listing.withheld_at is None and listing.verified_by_id == ids["agent"] and open_reports == []
