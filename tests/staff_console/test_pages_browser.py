"""Pages a person can read (issue 12), in a real browser (Debian's Chromium through Playwright), on a laptop
(1366×768) and on a phone (390×844): no page scrolls sideways, the Take and Send buttons are always at hand, and
an accessibility check (axe-core, installed from the npm registry for the tests only) finds nothing serious."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestServer

from staff_console.app import create_app
from storage.db import transaction
from storage.models import Listing
from storage.services import tickets
from tests import factories
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD, console_settings
from tests.staff_console.helpers import waiting_customer
from tests.workplace import SETTINGS

pytestmark = requires_chromium

SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
PAGES = ("inbox", "conversation", "tickets", "ticket", "listings", "listing", "customers", "reports", "viewings")


@pytest.fixture
async def console(sessions, bus) -> AsyncIterator[str]:
    server = TestServer(create_app(settings=console_settings(), sessions=sessions, bus=bus), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def workload(sessions, bus, team) -> dict[str, str]:
    """A waiting customer with a long message, a ticket, a listing: what each page shows, as paths."""
    words = "我想看看朝阳区的两居室公寓，" * 12 + "averyveryverylongwordwithoutspaces" * 4
    conversation = await waiting_customer(sessions, bus, name="Carol Wangwangwangwangwang", text=words)
    async with transaction(sessions) as session:
        unit = await factories.unit(session, handover=date(2025, 6, 1))
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                             unit_id=unit.id, description="Kitchen tap drips " * 20,
                                             settings=SETTINGS)
        listing = Listing(ref_code="HD-2001", deal_type="rent", property_type="apartment", city="Beijing",
                          district_name="Chaoyang", price=Decimal(12500), address="1 Guanghua Road, Tower B, 2301")
        session.add(listing)
        await session.flush()
    return {"inbox": "/inbox?view=waiting", "conversation": f"/conversations/{conversation.id}",
            "tickets": "/tickets", "ticket": f"/tickets/{ticket.id}", "listings": "/listings",
            "listing": f"/listings/{listing.id}", "customers": "/customers", "reports": "/reports",
            "viewings": "/viewings"}


async def _signed_in(browser, base: str, screen: str, email: str = "admin@example.com", **more):
    options = dict(viewport=SCREENS[screen], **more)
    if screen == "phone":
        options.update(is_mobile=True, has_touch=True)
    context = await browser.new_context(**options)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/login?next=/profile")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/profile")
    return context, page


async def _no_sideways_scrolling(page, screen: str, name: str) -> None:
    # A phone browser widens its layout to fit a page that overflows, so compare with the screen itself too.
    wide, inner = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide <= inner and inner == SCREENS[screen]["width"], f"{name} is {wide}px wide on a {inner}px screen"


async def _within_the_screen(page, selector: str, screen: str) -> None:
    """The element is visible where it is, without scrolling sideways or down."""
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    width, height = SCREENS[screen]["width"], SCREENS[screen]["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{selector} is off the side: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} is below the screen: {box}"


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("name", PAGES)
async def test_no_page_scrolls_sideways(browser, console, workload, screen, name) -> None:
    context, page = await _signed_in(browser, console, screen)
    try:
        response = await page.goto(f"{console}{workload[name]}")
        assert response is not None and response.status == 200
        await page.wait_for_selector("#live-state.on")
        await _no_sideways_scrolling(page, screen, name)
        if name == "inbox":
            assert await page.locator("#inbox button.take").count() == 1
            await page.locator("#inbox button.take").scroll_into_view_if_needed()
            await _within_the_screen(page, "#inbox button.take", screen)
    finally:
        await context.close()


@pytest.mark.parametrize("screen", SCREENS)
async def test_take_and_send_are_always_at_hand(browser, console, workload, screen) -> None:
    context, page = await _signed_in(browser, console, screen)
    try:
        await page.goto(f"{console}{workload['conversation']}")
        await _within_the_screen(page, "#take", screen)
        await page.click("#take")
        await page.wait_for_selector("#send")
        # The reply box sticks to the bottom of the screen: Send is there at the top of the page and at the end.
        await page.evaluate("window.scrollTo(0, 0)")
        await _within_the_screen(page, "#send", screen)
        await _within_the_screen(page, "#reply-text", screen)
        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        await _within_the_screen(page, "#send", screen)
        await _no_sideways_scrolling(page, screen, "conversation")
    finally:
        await context.close()


AXE = os.environ.get("AXE_CORE_JS", "")


@pytest.mark.skipif(not AXE, reason="AXE_CORE_JS is not set (.ci/run installs axe-core from npm for the tests)")
@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("name", ("inbox", "conversation", "tickets", "ticket", "listings", "listing", "viewings"))
async def test_no_serious_accessibility_violations(browser, console, workload, screen, name) -> None:
    # the console's CSP forbids injected scripts; only this test's browser context looks past it
    context, page = await _signed_in(browser, console, screen, bypass_csp=True)
    try:
        await page.goto(f"{console}{workload[name]}")
        await page.wait_for_selector("#live-state.on")
        await page.add_script_tag(path=AXE)
        violations = await page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                 .filter(v => v.impact === "serious" || v.impact === "critical")
                 .map(v => v.id + ": " + v.nodes.slice(0, 6)
                   .map(n => n.target.join(" ") + " " + (n.any[0] || {}).message).join(" | "))""")
        assert violations == [], f"{name}: {violations}"
        await page.keyboard.press("Tab")  # the keyboard's place is visible: a focus ring
        ring = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert ring == "solid"
    finally:
        await context.close()


async def test_ticket_page_offers_only_allowed_moves_marks_what_the_customer_saw_and_updates_live(
        browser, console, team, sessions, bus) -> None:
    from storage import events
    from storage.models import Staff, Ticket

    async with transaction(sessions) as session:
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                             description="Leaking pipe", settings=SETTINGS)
        service = await session.get(Staff, team.service.id)
        await tickets.add_note(session, ticket, "We will come on Monday", staff=service, to_customer=True,
                               settings=SETTINGS)
        await tickets.add_note(session, ticket, "Check the riser first", staff=service, settings=SETTINGS)
        await tickets.set_quote(session, ticket, "300", staff=service, settings=SETTINGS)
        ticket_id, customer_id = ticket.id, person.id
    context, page = await _signed_in(browser, console, "laptop", "service@example.com")
    try:
        await page.goto(f"{console}/tickets/{ticket_id}")
        await page.wait_for_selector("#live-state.on")
        moves = await page.eval_on_selector_all("#status-form button[name=to]", "bs => bs.map(b => b.value)")
        assert "in_progress" not in moves and "assigned" not in moves  # no accepted quote, nobody assigned
        assert "resolved" in moves and "cancelled" in moves
        assert await page.inner_text("#ticket-status") == "waiting for the customer"
        seen = page.locator("#history li.seen")
        assert await seen.count() == 1 and "We will come on Monday" in await seen.inner_text()
        assert "the customer saw this" in await seen.inner_text()
        internal = page.locator("#history li:has-text('Check the riser first')")
        assert await internal.locator(".seen-by-customer").count() == 0

        async with transaction(sessions) as session:  # the customer accepts the quote in the bot
            row = await session.get(Ticket, ticket_id)
            await tickets.accept_quote(session, row, customer_id, settings=SETTINGS)
        await bus.publish(events.ticket_changed(row))
        await page.wait_for_function("() => document.getElementById('ticket-status').textContent === 'new'")
        await page.wait_for_selector("#status-form button[value=in_progress]")
        assert "(accepted)" in await page.inner_text("#ticket-facts")
        await page.click("#status-form button[value=in_progress]")
        await page.wait_for_selector("#ticket-status:has-text('in progress')")
    finally:
        await context.close()


# The server's `datetime` filter and the live page write a moment the same way (Mar 2, 2026, 09:05).
ONE_FORMAT = r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2}"


async def test_keyboard_confirmations_one_timestamp_format_and_favicon(browser, console, team, sessions, bus) -> None:
    import re

    from storage.models import Conversation
    from tests.staff_console.helpers import customer_writes

    conversation = await waiting_customer(sessions, bus, name="Dora", text="Hello")
    context, page = await _signed_in(browser, console, "laptop", "agent@example.com")
    try:
        await page.goto(f"{console}/inbox")
        await page.wait_for_selector("#live-state.on")
        icon = await page.get_attribute("link[rel=icon]", "href")
        answer = await page.request.get(f"{console}{icon}")
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")

        await page.keyboard.press("?")  # the help overlay lists the shortcuts
        await page.wait_for_selector("dialog#shortcuts[open]")
        keys = await page.eval_on_selector_all("#shortcuts table.keys tr", "rows => rows.map(r => r.innerText)")
        assert len(keys) == 7 and any("next waiting chat" in k for k in keys)
        await page.keyboard.press("?")
        await page.wait_for_selector("dialog#shortcuts:not([open])", state="attached")

        await page.keyboard.press("n")  # the next waiting chat
        await page.wait_for_url(f"{console}/conversations/{conversation.id}")
        await page.wait_for_selector("#live-state.on")
        await page.keyboard.press("t")  # take it
        await page.wait_for_selector("#send")
        await page.wait_for_selector("#live-state.on")
        await page.keyboard.press("c")
        assert await page.evaluate("document.activeElement.id") == "canned-search"
        await page.keyboard.press("Escape")
        await page.evaluate("document.activeElement.blur()")
        await page.keyboard.press("r")
        assert await page.evaluate("document.activeElement.id") == "reply-text"
        await page.keyboard.type("Hi Dora, on my way")
        await page.keyboard.press("Control+Enter")  # send
        await page.wait_for_selector("#messages li.out:has-text('Hi Dora, on my way')")
        await page.wait_for_selector("#live-state.on")
        await customer_writes(sessions, bus, conversation.id, "Thanks")
        await page.wait_for_selector("#messages li.in:has-text('Thanks')")
        stamps = await page.eval_on_selector_all("#messages li .meta", "ms => ms.map(m => m.innerText)")
        assert len(stamps) >= 3 and all(re.search(ONE_FORMAT, s) for s in stamps), stamps

        # Close asks first: dismissed, nothing happens; accepted, the chat is closed.
        page.once("dialog", lambda dialog: dialog.dismiss())
        await page.click("#close")
        await page.wait_for_timeout(300)
        async with sessions() as session:
            assert (await session.get(Conversation, conversation.id)).status == "open"
        questions: list[str] = []

        async def accept(dialog) -> None:
            questions.append(dialog.message)
            await dialog.accept()

        page.once("dialog", accept)
        await page.keyboard.press("Shift+X")
        await page.wait_for_selector("p.flash")
        assert questions == ["Close this conversation?"]
        async with sessions() as session:
            assert (await session.get(Conversation, conversation.id)).status == "closed"

        await page.click("form.lang-switch button[value=zh]")  # the overlay in Chinese
        await page.wait_for_selector("html[lang^=zh]")
        await page.click("#shortcuts-open")
        await page.wait_for_selector("dialog#shortcuts[open]")
        assert await page.inner_text("#shortcuts-title") == "键盘快捷键"
        assert "打开下一个等待中的对话" in await page.inner_text("#shortcuts")
    finally:
        await context.close()


async def test_listings_sort_by_column_and_every_filter_has_a_label(browser, console, team, sessions) -> None:
    async with transaction(sessions) as session:
        for ref, price, rooms in (("S-1", 9000, 3), ("S-2", 4000, 1), ("S-3", 15000, 2)):
            session.add(Listing(ref_code=ref, deal_type="rent", property_type="apartment", city="Beijing",
                                district_name="Chaoyang", price=Decimal(price), bedrooms=rooms))
    context, page = await _signed_in(browser, console, "laptop", "agent@example.com")
    try:
        await page.goto(f"{console}/listings?deal_type=rent")
        fields = page.locator("#listing-filters input:not([type=hidden]), #listing-filters select")
        assert await fields.count() == 8
        unlabelled = await fields.evaluate_all("fs => fs.filter(f => !f.labels || !f.labels.length).map(f => f.name)")
        assert unlabelled == []
        await page.click("th[data-sort=price] a")
        await page.wait_for_selector("th[data-sort=price][aria-sort=ascending]")

        def refs():
            return page.eval_on_selector_all("tbody tr[data-listing] td:first-child", "cs => cs.map(c => c.innerText)")

        assert await refs() == ["S-2", "S-1", "S-3"]
        assert "deal_type=rent" in page.url  # the filters stay
        await page.click("th[data-sort=price] a")
        await page.wait_for_selector("th[data-sort=price][aria-sort=descending]")
        assert await refs() == ["S-3", "S-1", "S-2"]
        await page.click("th[data-sort=bedrooms] a")
        await page.wait_for_selector("th[data-sort=bedrooms][aria-sort=ascending]")
        assert await refs() == ["S-2", "S-3", "S-1"]
        await page.select_option("#listing-filters select[name=property_type]", "apartment")
        await page.click("#listing-filters button")
        await page.wait_for_selector("th[data-sort=bedrooms][aria-sort=ascending]")  # the order stays too
        assert await refs() == ["S-2", "S-3", "S-1"]
    finally:
        await context.close()
