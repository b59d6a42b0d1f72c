"""The tickets board and reports in a real browser (Debian's Chromium through Playwright), including a
phone-sized screen for service staff."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.db import transaction
from storage.models import Staff, Ticket
from storage.services import tickets
from tests import factories
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD
from tests.workplace import SETTINGS

pytestmark = requires_chromium


async def sign_in(browser, base: str, email: str, path: str, **context_options):
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login?next={path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{path}")
    return context, page


async def _tickets(sessions, team) -> tuple[int, int]:
    async with transaction(sessions) as session:
        me = await session.get(Staff, team.service.id)
        me.skills, me.service_areas = ["plumbing"], ["Sunny Garden"]
        unit = await factories.unit(session, handover=date(2025, 6, 1))
        person = await factories.customer(session)
        mine = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                           unit_id=unit.id, description="Kitchen tap <script>x</script>",
                                           settings=SETTINGS)
        other = await tickets.create_ticket(session, kind="complaint", category="service_attitude",
                                            customer_id=person.id, description="Rude on the phone", settings=SETTINGS)
        return mine.id, other.id


async def test_service_staff_work_a_ticket_on_a_phone_screen(browser, console, team, sessions) -> None:
    mine, other = await _tickets(sessions, team)
    context, page = await sign_in(browser, console, "service@example.com", "/tickets",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        await page.wait_for_selector(f'article[data-ticket="{mine}"]')
        assert await page.evaluate("document.documentElement.scrollWidth") <= 392  # no sideways scrolling
        await page.click(f'article[data-ticket="{mine}"] a.number')
        await page.wait_for_url(f"{console}/tickets/{mine}")
        assert "<script>x</script>" in await page.inner_text(".description")  # shown as text, not run
        suggested = await page.inner_text("#assign-form select option:first-child")
        assert suggested.startswith("★ Sam Service") and "covers Sunny Garden" in suggested
        await page.click("#assign-form button")
        await page.wait_for_selector("p.flash:has-text('Assigned.')")
        assert await page.inner_text("#assignee") == "Sam Service"
        assert await page.inner_text("#ticket-status") == "assigned"
        await page.click("#status-form button[value=in_progress]")
        await page.wait_for_selector("#ticket-status:has-text('in progress')")  # the word, not the stored code
        await page.fill("#note-form textarea", "Parts ordered")
        await page.click("#note-form button")
        await page.wait_for_selector("#history li:has-text('Parts ordered')")
        await page.goto(f"{console}/tickets?assignee=me")
        await page.wait_for_selector(f'article[data-ticket="{mine}"].mine')
        assert await page.locator(f'article[data-ticket="{other}"]').count() == 0
    finally:
        await context.close()
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.id == mine))
    assert ticket.status == "in_progress" and ticket.assignee_id == team.service.id


async def test_reports_show_charts_and_export_csv(browser, console, team, sessions) -> None:
    mine, _ = await _tickets(sessions, team)
    async with transaction(sessions) as session:
        ticket = await session.get(Ticket, mine)
        await tickets.assign(session, ticket, team.service.id, by=team.admin, settings=SETTINGS)
        await tickets.change_status(session, ticket, "resolved", staff=team.service, settings=SETTINGS)
    context, page = await sign_in(browser, console, "admin@example.com", "/reports")
    try:
        await page.fill("input[name=from]", "2020-01-01")
        await page.fill("input[name=to]", "2030-12-31")
        await page.click("#period button")
        await page.wait_for_url("**/reports?from=2020-01-01&to=2030-12-31")
        charts = page.locator("svg.chart")
        assert await charts.count() == 5  # types, categories, projects, statuses, funnel (no surveys yet)
        assert await page.locator("svg.chart[aria-label='Tickets by type'] rect.bar").count() == 2
        assert "Sam Service" in await page.inner_text("#workload")
        async with page.expect_download() as download_info:
            await page.click("#csv")
        download = await download_info.value
        body = open(await download.path(), encoding="utf-8").read()  # noqa: ASYNC230 - a small local file
        assert "tickets by category,Plumbing,1" in body and download.suggested_filename.endswith(".csv")
    finally:
        await context.close()


async def test_the_board_searches_pages_and_refreshes_live(browser, console, team, sessions, bus) -> None:
    from storage import events
    from storage.repositories import ticket_board

    mine, other = await _tickets(sessions, team)
    async with transaction(sessions) as session:
        walk_in = await factories.customer(session)
        walk_in.first_name, walk_in.phone = "Zhou", "+8613900001111"
        for n in range(ticket_board.PAGE_SIZE):  # one page and a bit more, so the board has a second page
            await tickets.create_ticket(session, kind="repair", category="electrical", customer_id=walk_in.id,
                                        description=f"socket {n}", settings=SETTINGS)
    context, page = await sign_in(browser, console, "service@example.com", "/tickets")
    try:
        await page.wait_for_selector("#tickets nav.pager")
        assert await page.locator("#tickets article.ticket-card").count() == ticket_board.PAGE_SIZE
        assert "52" in await page.inner_text("#tickets-total")
        await page.click("#tickets nav.pager a[rel=next]")
        await page.wait_for_url("**/tickets?page=2")
        assert await page.locator("#tickets article.ticket-card").count() == 2
        # Search by phone finds only the walk-in's tickets; by number, exactly one ticket.
        await page.goto(f"{console}/tickets")
        await page.fill("#ticket-filters input[name=q]", "13900001111")
        await page.click("#ticket-filters button")
        await page.wait_for_url("**/tickets?q=13900001111**")
        assert await page.locator(f'article[data-ticket="{mine}"]').count() == 0
        async with sessions() as session:
            number = (await session.get(Ticket, other)).number
        await page.fill("#ticket-filters input[name=q]", number)
        await page.click("#ticket-filters button")
        await page.wait_for_selector(f'article[data-ticket="{other}"]')
        assert await page.locator("#tickets article.ticket-card").count() == 1
        # Another person resolves it: the open board drops it without a reload, keeping the search.
        await page.wait_for_selector("#live-state.on")
        async with transaction(sessions) as session:
            ticket = await session.get(Ticket, other)
            await tickets.change_status(session, ticket, "cancelled", staff=team.admin, settings=SETTINGS)
        await bus.publish(events.ticket_changed(ticket))
        await page.wait_for_selector(f'article[data-ticket="{other}"]', state="detached")
        assert await page.input_value("#ticket-filters input[name=q]") == number
        assert "0" in await page.inner_text("#tickets-total")
    finally:
        await context.close()
