"""The staff page in a real browser (Debian's Chromium through Playwright): an admin creates an agent on the staff
page, opens their page from the confirmation, sets working hours (a mistake comes back with the reason and what
was typed), adds a day off and sees it listed; a service lead sets a technician's areas, skills and level."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import Staff, StaffTimeOff
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD

pytestmark = requires_chromium


async def signed_in(browser, base: str, email: str):
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    return context, page


async def test_admin_creates_an_agent_and_sets_hours_and_time_off(browser, console, team, sessions, frozen_clock):
    context, page = await signed_in(browser, console, "admin@example.com")
    try:
        await page.goto(f"{console}/staff")
        create = page.locator("form[action='/staff']")
        await create.locator("input[name=email]").fill("nina@example.com")
        await create.locator("input[name=name]").fill("Nina New")
        await create.locator("select[name=role]").select_option("agent")
        await create.locator("button.primary").click()
        await page.click("#created-profile")
        await page.wait_for_selector("#hours-form")
        assert "flash error" in (await page.get_attribute("#viewing-status", "class") or "")

        await page.fill("#hours-form input[name=mon]", "09:00-12:00, 13:00-18:00")
        await page.fill("#hours-form input[name=tue]", "18:00-09:00")
        await page.click("#hours-form button.primary")
        assert await page.inner_text("#form-error") == "Tuesday: 18:00-09:00 ends before it starts"
        assert await page.input_value("#hours-form input[name=mon]") == "09:00-12:00, 13:00-18:00"
        await page.fill("#hours-form input[name=tue]", "09:00-17:00")
        await page.click("#hours-form button.primary")
        await page.wait_for_selector("#viewing-status.muted")
        assert await page.input_value("#hours-form input[name=tue]") == "09:00-17:00"

        await page.fill("#time-off-form input[name=first_day]", "2026-03-10")
        await page.fill("#time-off-form input[name=last_day]", "2026-03-12")
        await page.fill("#time-off-form input[name=reason]", "Family <b>trip</b>")
        await page.click("#time-off-form button.primary")
        cells = page.locator("#time-off-table tbody tr:first-child td")
        await cells.first.wait_for()
        assert [await cells.nth(i).inner_text() for i in range(3)] == ["Mar 10, 2026", "Mar 12, 2026",
                                                                       "Family <b>trip</b>"]
    finally:
        await context.close()
    async with sessions() as session:
        nina = await session.scalar(select(Staff).where(Staff.email == "nina@example.com"))
        assert nina.working_hours == {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "17:00"]]}
        assert await session.scalar(select(StaffTimeOff.reason)) == "Family <b>trip</b>"


async def test_a_service_lead_sets_a_technicians_areas_skills_and_level(browser, console, team, sessions,
                                                                        frozen_clock):
    async with transaction(sessions) as session:
        (await session.get(Staff, team.service.id)).is_team_lead = True
        tech = Staff(email="tech@example.com", name="Tian Tech", role="service", password_hash="x")
        session.add(tech)
    context, page = await signed_in(browser, console, "service@example.com")
    try:
        await page.goto(f"{console}/technicians")
        await page.click("#technicians a:text('Tian Tech')")
        await page.wait_for_selector("#technician-form")
        assert await page.locator("#hours-form").count() == 0  # hours are the admins'
        await page.fill("#technician-form input[name=areas]", "Sunny Garden; Chaoyang")
        await page.check("#technician-form input[value=plumbing]")
        await page.check("#technician-form input[value=waterproofing]")
        await page.select_option("#technician-form select[name=level]", "4")
        await page.click("#technician-form button.primary")
        await page.wait_for_selector("#unknown-areas")
        assert await page.is_checked("#technician-form input[value=plumbing]")
        await page.goto(f"{console}/technicians")
        row = page.locator(f"#technicians tr[data-id='{tech.id}'] td")
        assert [await row.nth(i).inner_text() for i in (2, 3, 4)] == ["Sunny Garden, Chaoyang",
                                                                     "Plumbing, Waterproofing / leak", "4"]
    finally:
        await context.close()
