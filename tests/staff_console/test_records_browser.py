"""The records pages in a real browser (Debian's Chromium through Playwright): a technician verifies a home's
owner and sets its handover date with the page's own forms (a date picker), and an agent enters a walk-in."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import Customer, Ticket
from storage.repositories import customers
from storage.services import tickets
from tests import factories
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD
from tests.workplace import SETTINGS

pytestmark = requires_chromium


async def _signed_in(browser, base: str, email: str, start: str):
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}{start}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{start}")
    return context, page


async def test_a_technician_verifies_an_owner_and_sets_the_handover_in_the_browser(browser, console, team,
                                                                                    sessions):
    async with transaction(sessions) as session:
        home = await factories.unit(session, project="Lakeside", building="7", unit_no="1101", phone="13900001101",
                                    handover=None)
        owner, _ = await customers.get_or_create(session, channel="web", external_id="visitor-1101",
                                                 first_name="Zhou <i>Min</i>")
        owner.phone = "13900001101"
        repair = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=owner.id,
                                             unit_id=home.id, needs_verification=True, settings=SETTINGS)
    context, page = await _signed_in(browser, console, "service@example.com", "/units")
    try:
        await page.click(f'#units tr[data-unit="{home.id}"] a')
        await page.wait_for_url(f"{console}/units/{home.id}")
        assert await page.inner_text("#candidates li") == f"Zhou <i>Min</i> #{owner.id} · 13900001101 " \
                                                          "Link as verified owner"
        await page.click("#candidates button")
        await page.wait_for_selector(f'#owners tr[data-customer="{owner.id}"]')
        assert "is now the verified owner" in await page.inner_text("p.flash")
        row = f'#unit-tickets tr[data-ticket="{repair.number}"]'
        assert await page.inner_text(f"{row} td.verification") == "owner verified"
        assert await page.inner_text(f"{row} td.warranty") == "warranty unknown"

        await page.fill("#unit-edit input[name=handover_date]", "2025-05-20")
        await page.click("#unit-edit button.primary")
        await page.wait_for_selector("p.flash")
        assert await page.inner_text(f"{row} td.warranty") == "in warranty"
        await page.fill("#unit-edit input[name=owner_phone]", "not a phone")
        await page.click("#unit-edit button.primary")
        assert "is not a phone number" in await page.inner_text("p.flash.error")
    finally:
        await context.close()
    async with sessions() as session:
        ticket = await session.get(Ticket, repair.id)
    assert (ticket.needs_verification, ticket.warranty_status) == (False, "in")


async def test_an_agent_enters_a_walk_in_in_the_browser(browser, console, team, sessions):
    context, page = await _signed_in(browser, console, "agent@example.com", "/customers")
    try:
        await page.click("#new-customer")
        await page.wait_for_url(f"{console}/customers/new")
        await page.select_option("#customer-new select[name=source]", "phone")
        await page.fill("#customer-new input[name=first_name]", "Sun")
        await page.fill("#customer-new input[name=phone]", "139 0000 1202")
        await page.select_option("#customer-new select[name=gender]", "male")
        await page.click("#customer-new button.primary")
        await page.wait_for_selector("#owned-units")
        assert await page.inner_text("#entered-by-staff") == "phone call"
        await page.goto(f"{console}/customers")
        assert (await page.inner_text("#customers tbody tr td:first-child")).startswith("Sun")
    finally:
        await context.close()
    async with sessions() as session:
        sun = await session.scalar(select(Customer).where(Customer.first_name == "Sun"))
    assert (sun.phone, sun.gender, sun.source) == ("13900001202", "male", "phone")
