"""The customer card's work forms in a real browser (Debian's Chromium through Playwright): an agent logs a
walk-in consultation with a next step, then files a complaint for the customer and lands on the new ticket."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import Consultation, Reminder, Ticket
from tests import factories
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD

pytestmark = requires_chromium


async def test_an_agent_enters_work_from_the_customer_card(browser, console, team, sessions) -> None:
    async with transaction(sessions) as session:
        customer = await factories.customer(session)
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{console}/customers/{customer.id}")
    await page.fill("input[name=email]", "agent@example.com")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{console}/customers/{customer.id}")

    form = page.locator("#consultation-form")
    await form.locator("select[name=channel]").select_option("walk_in")
    await form.locator("select[name=topic]").select_option("renting")
    await form.locator("textarea[name=summary]").fill("Wants a 2-bedroom near the metro")
    await form.locator("input[name=next_step]").fill("Send three listings")
    await form.locator("input[name=due_day]").fill("2030-01-07")
    await form.locator("input[name=due_time]").fill("10:00")
    await form.locator("button").click()
    await page.wait_for_selector(".flash.info")
    row = page.locator("#consultation-list tbody tr").first
    assert await row.get_attribute("data-channel") == "walk_in"
    assert "Send three listings" in await row.inner_text() and "Alan Agent" in await row.inner_text()

    ticket_form = page.locator("#ticket-form")
    await ticket_form.locator("select[name=kind]").select_option("complaint")
    await ticket_form.locator("select[name=category]").select_option("service_attitude")
    await ticket_form.locator("textarea[name=description]").fill("Nobody called back")
    await ticket_form.locator("button").click()
    await page.wait_for_url(f"{console}/tickets/*")
    assert "C-20" in await page.locator("h1").inner_text()
    await context.close()
    async with sessions() as session:
        consultation = await session.scalar(select(Consultation))
        reminder = await session.scalar(select(Reminder).where(Reminder.kind == "consultation_due"))
        ticket = await session.scalar(select(Ticket))
    assert consultation is not None and consultation.staff_id == team.agent.id
    assert reminder is not None and reminder.recipient_staff_id == team.agent.id
    assert ticket is not None and ticket.kind == "complaint" and ticket.entered_by_id == team.agent.id


async def _signed_in(browser, base: str, email: str, path: str):
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}{path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{path}")
    return context, page


async def test_the_team_sees_a_transferred_chat_arrive_live_and_takes_it(browser, console, team, sessions) -> None:
    from storage.models import Staff
    from storage.services import handoff
    from tests.staff_console.helpers import waiting_customer

    async with transaction(sessions) as session:
        (await session.get(Staff, team.service.id)).team = "complaints"
    conversation = await waiting_customer(sessions, name="Grace")
    async with transaction(sessions) as session:
        await handoff.take(session, conversation.id, await session.get(Staff, team.agent.id))
    sam_context, sam = await _signed_in(browser, console, "service@example.com", "/inbox")
    await sam.wait_for_selector("#live-state.on")
    assert await sam.locator("#inbox tbody tr").count() == 0
    alan_context, alan = await _signed_in(browser, console, "agent@example.com", f"/conversations/{conversation.id}")
    await alan.locator("#transfer-team summary").click()
    await alan.locator("#transfer-team select[name=team]").select_option("complaints")
    await alan.locator("#transfer-team input[name=note]").fill("lift broken again")
    await alan.locator("#transfer-team button").click()
    await alan.wait_for_selector(".flash.info")
    row = sam.locator(f'#inbox tr[data-conversation="{conversation.id}"]')  # arrives without a reload
    await row.wait_for()
    assert await row.locator(".team").inner_text() == "customer relations"
    await row.locator("button.take").click()
    await sam.wait_for_url(f"{console}/conversations/{conversation.id}")
    await sam_context.close()
    await alan_context.close()
    async with sessions() as session:
        stored = await session.get(type(conversation), conversation.id)
    assert stored is not None and stored.mode == "human" and stored.assignee_id == team.service.id
