"""The inbox's attention in a real browser (Debian's Chromium through Playwright), on a laptop and on a phone:
live tab counters and unread badges, the title counter and a desktop notification in a second tab, and the
Available / Away switch deciding auto-assignment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Conversation, Staff
from storage.services import handoff
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD
from tests.staff_console.helpers import customer_writes, sign_in, waiting_customer
from tests.workplace import workplace_for

pytestmark = requires_chromium

SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
# Desktop notifications are recorded instead of shown, and the page believes it is in the background (a
# notification is only raised for a tab the agent is not looking at).
SPY = """
window.__notes = [];
window.Notification = class { constructor(title, options) { window.__notes.push(title); }
  static get permission() { return "granted"; } static requestPermission() { return Promise.resolve("granted"); } };
Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
"""


async def _sign_in(context, base: str, email: str, path: str):
    return await sign_in(context, base, email, path, PASSWORD)


async def _no_sideways_scrolling(page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("screen", SCREENS)
async def test_counters_unread_badges_title_and_notification_change_live(browser, console, team, sessions, bus,
                                                                         screen):
    context = await browser.new_context(viewport=SCREENS[screen])
    try:
        inbox = await _sign_in(context, console, "agent@example.com", "/inbox?view=mine")
        other = await context.new_page()  # a second tab, on another console page, in the background
        other.set_default_timeout(TIMEOUT_MS)
        await other.add_init_script(SPY)
        await other.goto(f"{console}/tickets")
        await other.wait_for_selector("#live-state.on")
        assert await inbox.inner_text("#count-waiting") == "0"

        conversation = await waiting_customer(sessions, bus, name="Carol", text="<b>丰台公寓</b> please")
        await inbox.wait_for_function("() => document.getElementById('count-waiting').textContent === '1'")
        await other.wait_for_function("() => document.title.startsWith('(1) ')")
        await other.wait_for_selector(".toast:has-text('New customer waiting: Carol')")
        assert await other.evaluate("window.__notes") == ["New customer waiting: Carol"]

        await inbox.goto(f"{console}/inbox?view=waiting")
        row = f'#inbox tr[data-conversation="{conversation.id}"]'
        assert await inbox.inner_text(f"{row} td.last") == "<b>丰台公寓</b> please"  # the words, as text
        await _no_sideways_scrolling(inbox)
        await inbox.click(f"{row} button.take")
        await inbox.wait_for_url(f"{console}/conversations/{conversation.id}")
        await other.wait_for_function("() => document.title.startsWith('(') === false")  # taken and read: nothing left

        await inbox.goto(f"{console}/inbox?view=mine")
        await inbox.wait_for_selector("#live-state.on")
        assert await inbox.inner_text("#count-mine") == "1"
        await customer_writes(sessions, bus, conversation.id, "Is it still free?")
        badge = f"{row} .badge.unread"
        await inbox.wait_for_selector(f"{badge}:not(.hidden)")
        assert await inbox.inner_text(badge) == "1"
        assert await inbox.inner_text(f"{row} td.last") == "Is it still free?"
        await other.wait_for_function("() => document.title.startsWith('(1) ')")
        await other.wait_for_selector(".toast:has-text('New message from Carol')")
        assert "New message from Carol" in await other.evaluate("window.__notes")
        await _no_sideways_scrolling(inbox)

        # reading the conversation clears the badge and the counters elsewhere; on a laptop it opens beside the
        # list (the address keeps the list's view), on a phone as its own page
        await inbox.click(f"{row} a")
        await inbox.wait_for_url(f"{console}/conversations/{conversation.id}?view=mine")
        await other.wait_for_function("() => !document.title.startsWith('(')")
        assert await inbox.locator("#send").is_visible()
    finally:
        await context.close()


@pytest.mark.parametrize("screen", SCREENS)
async def test_away_stops_auto_assignment_and_available_assigns_at_once(browser, console, team, sessions, bus,
                                                                        screen):
    context = await browser.new_context(viewport=SCREENS[screen])
    try:
        page = await _sign_in(context, console, "agent@example.com", "/inbox")
        assert await page.inner_text("#availability-state") == "Available"
        await page.click("#availability button")
        await page.wait_for_selector("#availability-state.away")

        conversation = await waiting_customer(sessions, bus, name="Dora")
        async with workplace_for(sessions, bus).open() as work:  # the periodic assignment pass
            _, assigned = await handoff.assignment_tick(work)
        assert assigned == 0  # the agent's console is open, but she is Away
        await page.wait_for_function("() => document.getElementById('count-waiting').textContent === '1'")

        await page.click("#availability button")
        await page.wait_for_selector("#availability-state.available")
        async with sessions() as session:
            owner = await session.scalar(select(Conversation.assignee_id).where(Conversation.id == conversation.id))
            me = await session.scalar(select(Staff).where(Staff.email == "agent@example.com"))
        assert owner == me.id  # at once, without waiting for the next pass
        await page.wait_for_function("() => document.getElementById('count-waiting').textContent === '0'")
        await _no_sideways_scrolling(page)  # the header's switch fits a phone too
    finally:
        await context.close()
