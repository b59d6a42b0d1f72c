"""The console's owners' leads and listing checks: the lead with its intake and valuation, taking it, a draft
listing to complete and publish, and listings verified in one click (both languages)."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from sqlalchemy import select

from storage.db import transaction
from storage.models import District, Listing, ListingReport, OwnerLead, Staff
from storage.repositories import customers
from storage.services import owner_leads, verification
from storage.unit_of_work import Actor
from tests.matching.fixtures import district_rows
from tests.staff_console.conftest import sign_in
from tests.workplace import workplace_for

INTAKE = {"intent": "sell", "district": "Wangjing", "community": "望京SOHO", "area_m2": 89.0, "bedrooms": 2,
          "floor": 12, "decoration": "fine", "price": 6_000_000.0}
VALUATION = {"deal_type": "sale", "district": "Wangjing", "area_m2": 89.0, "bedrooms": 2, "count": 4,
             "low": 5_670_000.0, "high": 6_140_000.0, "estimate": 5_870_000.0, "per_m2_low": 63_750.0,
             "per_m2_high": 69_000.0, "widened": False, "shown": []}


def row(body: str, attribute: str, value: int) -> str:
    """The text of the table row `<tr data-<attribute>="value">` (tags stripped, entities decoded)."""
    found = re.search(rf'<tr data-{attribute}="{value}">(.*?)</tr>', body, re.S)
    assert found, f"no row {attribute}={value}"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def element(body: str, css_id: str) -> str:
    found = re.search(rf'<(\w+)[^>]*\bid="{css_id}"[^>]*>(.*?)</\1>', body, re.S)
    assert found, f"no #{css_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())


async def _districts(sessions) -> None:
    async with transaction(sessions) as session:
        session.add_all([District(**r) for r in district_rows()])


async def _lead(sessions, request: str = "call") -> int:
    async with transaction(sessions) as session:
        customer, _ = await customers.get_or_create(session, telegram_user_id=4242, chat_id=4242, first_name="Olga")
    async with workplace_for(sessions).open(Actor.customer(customer.id)) as work:
        customer = await work.session.get(type(customer), customer.id)
        lead = await owner_leads.create_lead(work, customer, request=request, intake=INTAKE, valuation=VALUATION,
                                             phone="13800138000", source_text="I want to sell my flat <b>now</b>")
        return lead.id


async def test_lead_list_detail_take_and_draft(client, team, sessions, frozen_clock):
    await _districts(sessions)
    lead_id = await _lead(sessions)
    token = await sign_in(client, "agent@example.com")
    body = await (await client.get("/owners")).text()
    cells = " ".join(row(body, "lead", lead_id).split())
    assert "Olga · 13800138000" in cells and "sell" in cells and "call me" in cells
    assert "Wangjing · 89 m² · 2 br" in cells and "¥5,670,000 – ¥6,140,000" in cells and "new" in cells

    body = await (await client.get(f"/owners/{lead_id}")).text()
    intake = element(body, "intake")
    assert "Wangjing · 望京SOHO" in intake and "89" in intake and "¥6,000,000" in intake
    assert "I want to sell my flat <b>now</b>" in intake and "<b>now</b>" not in body  # escaped
    assert "4 comparable listings" in element(body, "valuation")

    taken = await client.post(f"/owners/{lead_id}/take", data={"csrf_token": token}, allow_redirects=False)
    assert taken.status == 303
    drafted = await client.post(f"/owners/{lead_id}/draft", data={"csrf_token": token}, allow_redirects=False)
    assert drafted.status == 303
    async with sessions() as session:
        lead = await session.get(OwnerLead, lead_id)
        draft = await session.get(Listing, lead.listing_id)
    assert (lead.status, lead.agent_id) == ("contacted", team.agent.id)
    assert drafted.headers["Location"] == f"/listings/{draft.id}"
    assert (draft.status, draft.deal_type, draft.price, draft.area_m2, draft.bedrooms, draft.floor, draft.agent_id) \
        == ("draft", "sale", Decimal("6000000.00"), 89.0, 2, 12, team.agent.id)
    body = await (await client.get(f"/owners/{lead_id}")).text()
    assert element(body, "draft-link") == draft.ref_code
    bad = await client.post(f"/owners/{lead_id}/status", data={"csrf_token": token, "status": "sold"})
    assert bad.status == 400
    await client.post(f"/owners/{lead_id}/status", data={"csrf_token": token, "status": "listed"})
    async with sessions() as session:
        assert (await session.get(OwnerLead, lead_id)).status == "listed"


async def test_lead_pages_in_chinese(client, team, sessions, frozen_clock):
    await _districts(sessions)
    lead_id = await _lead(sessions, request="list")
    async with transaction(sessions) as session:
        (await session.get(Staff, team.agent.id)).language = "zh"
    await sign_in(client, "agent@example.com")
    body = await (await client.get("/owners")).text()
    cells = row(body, "lead", lead_id)
    assert "望京" in cells and "出售" in cells and "帮我挂牌" in cells
    body = await (await client.get(f"/owners/{lead_id}")).text()
    assert "给业主的估价" in body and "4 套可比房源" in element(body, "valuation")
    assert "OWN-" in element(body, "draft-link")  # asking for a listing made the draft at once


async def test_stale_and_reported_listing_verified_in_one_click(client, team, sessions, frozen_clock):
    await _districts(sessions)
    async with transaction(sessions) as session:
        listing = Listing(ref_code="R-OLD-1", deal_type="rent", property_type="apartment", city="Beijing",
                          district_name="Wangjing", price=Decimal(8000), area_m2=80.0, agent_id=team.agent.id)
        fresh = Listing(ref_code="R-NEW-1", deal_type="sale", property_type="apartment", city="Beijing",
                        district_name="Wangjing", price=Decimal(5_000_000), area_m2=80.0, agent_id=team.agent.id)
        session.add_all([listing, fresh])
        await session.flush()
        session.add(ListingReport(listing_id=listing.id, reason="taken"))
    frozen_clock.advance(days=15)  # past the 14 days of a rental, inside the 30 of a sale
    token = await sign_in(client, "agent@example.com")
    body = await (await client.get("/listings/checks")).text()
    cells = row(body, "listing", listing.id)
    assert "R-OLD-1" in cells and "never" in cells and "stale since" in cells and "already rented or sold" in cells
    assert f'data-listing="{fresh.id}"' not in body
    body = await (await client.get("/listings")).text()
    assert "never" in row(body, "listing", listing.id) and "stale" in row(body, "listing", listing.id)
    assert "stale" not in row(body, "listing", fresh.id)

    done = await client.post(f"/listings/{listing.id}/verify", data={"csrf_token": token, "next": "//evil.example"},
                             allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/listings/checks"
    async with sessions() as session:
        again = await session.get(Listing, listing.id)
        report = await session.scalar(select(ListingReport))
    assert again.verified_by_id == team.agent.id and again.verified_at == frozen_clock.now()
    assert report.resolved_at == frozen_clock.now() and report.resolved_by_id == team.agent.id
    body = await (await client.get("/listings/checks")).text()
    assert f'data-listing="{listing.id}"' not in body
    page = await (await client.get(f"/listings/{listing.id}")).text()
    assert "Alan Agent" in element(page, "verification")

    async with transaction(sessions) as session:
        (await session.get(Listing, listing.id)).status = "rented"
    refused = await client.post(f"/listings/{listing.id}/verify", data={"csrf_token": token,
                                                                       "next": f"/listings/{listing.id}"})
    assert refused.status == 200 and "only an active listing can be verified" in await refused.text()


async def test_the_tick_reminds_once_then_withholds(sessions, team, frozen_clock):
    from tests.workplace import SETTINGS

    async with transaction(sessions) as session:
        listing = Listing(ref_code="R-T-1", deal_type="rent", property_type="apartment", city="Beijing",
                          price=Decimal(8000), area_m2=80.0, agent_id=team.agent.id)
        session.add(listing)
    frozen_clock.advance(days=SETTINGS.verify_rent_days)
    async with workplace_for(sessions).open() as work:
        assert await verification.tick(work) == (1, 0)
    async with workplace_for(sessions).open() as work:
        assert await verification.tick(work) == (0, 0)  # reminded once
    frozen_clock.advance(days=SETTINGS.verify_grace_days)
    async with workplace_for(sessions).open() as work:
        assert await verification.tick(work) == (0, 1)
    async with sessions() as session:
        again = await session.get(Listing, listing.id)
        assert (again.withheld_reason, again.withheld_at) == ("stale", frozen_clock.now())
