"""Complaint handling in a real browser on a phone-sized screen (Debian's Chromium through Playwright): the
verification, responsibility and cause forms work by touch, refusals show in the page, nothing scrolls sideways."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import Ticket
from storage.services import tickets
from tests import factories
from tests.conftest import requires_chromium
from tests.staff_console.test_tickets_browser import sign_in
from tests.workplace import SETTINGS

pytestmark = requires_chromium


async def test_a_complaint_is_handled_on_a_phone(browser, console, team, sessions) -> None:  # noqa: F811
    async with transaction(sessions) as session:
        person = await factories.customer(session)
        complaint = await tickets.create_ticket(session, kind="complaint", category="property_management",
                                                customer_id=person.id, description="Rude on the phone",
                                                settings=SETTINGS)
    context, page = await sign_in(browser, console, "service@example.com", f"/tickets/{complaint.id}",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        assert await page.evaluate("document.documentElement.scrollWidth") <= 392
        await page.select_option("#reclassify-form select", "service_attitude")
        await page.click("#reclassify-form button")
        await page.wait_for_selector("p.flash:has-text('Reclassified as Service attitude')")
        await page.check("#verify-form input[value=unsubstantiated]")
        await page.click("#verify-form button")  # no reason given: refused, nothing recorded
        await page.wait_for_selector("p.flash.error:has-text('say why the complaint is not substantiated')")
        assert await page.inner_text("#verification") == "not yet verified"
        await page.check("#verify-form input[value=verified]")
        await page.fill("#verify-form input[name=note]", "Call recording")
        await page.click("#verify-form button")
        await page.wait_for_selector("#verification:has-text('verified · Sam Service')")
        await page.select_option("#responsibility-form select[name=party]", "sales")
        await page.select_option("#responsibility-form select[name=cause]", "communication")
        await page.fill("#responsibility-form textarea", "Phone etiquette refresher")
        await page.click("#responsibility-form button")
        await page.wait_for_selector("#root-cause:has-text('communication')")
        assert await page.locator("#complaint-missing").count() == 0
        assert await page.evaluate("document.documentElement.scrollWidth") <= 392
    finally:
        await context.close()
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
    assert (ticket.category, ticket.verification, ticket.responsible_party, ticket.root_cause) == (
        "service_attitude", "verified", "sales", "communication")
