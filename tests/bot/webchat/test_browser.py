"""The web chat in a real browser (Debian's Chromium through Playwright): a visitor and an agent in separate
browser contexts, the chat served beside the console exactly as `homedesk run` serves it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.webchat import WebChatChannel
from staff_console.app import create_app
from storage.db import transaction
from storage.models import Customer, Survey, Viewing
from storage.services.staff_accounts import create_staff
from tests.bot.webchat.conftest import chat_settings
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.journey_data import seed
from tests.staff_console.conftest import PASSWORD
from tests.workplace import workplace_for

pytestmark = requires_chromium


@dataclass
class Site:
    base: str
    channel: WebChatChannel


async def serve(sessions, bus, tmp_path, **overrides) -> tuple[Site, TestServer]:
    settings = chat_settings(tmp_path, **overrides)
    workplace = workplace_for(sessions, bus, settings)
    app = create_app(settings=settings, sessions=sessions, bus=bus, workplace=workplace)
    channel = WebChatChannel(settings, workplace, poll_interval=0.2)
    channel.mount(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    await channel.start()
    return Site(str(server.make_url("")).rstrip("/"), channel), server


@pytest.fixture
async def site(sessions, bus, tmp_path) -> AsyncIterator[Site]:
    served, server = await serve(sessions, bus, tmp_path)
    try:
        yield served
    finally:
        await served.channel.stop()
        await server.close()


async def visitor_page(browser, base: str, locale: str = "en-US"):
    context = await browser.new_context(locale=locale, viewport={"width": 390, "height": 844})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    await page.goto(f"{base}/chat")
    await page.wait_for_selector("#messages li.bot .choices button")  # the bot said hello
    return context, page, errors


def last_bot(page):
    return page.locator("#messages li.bot, #messages li.agent, #messages li.system").last


async def press(page, token_prefix: str) -> None:
    await page.locator(f'#messages button[data-token^="{token_prefix}"]').last.click()


async def say(page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


SENTENCES = {
    "en-US": ("2-bedroom to rent in Wangjing under 10k", "Booked!", "(1/2)", "(2/2)"),
    "zh-CN": ("望京两居室出租 1万以内", "预约成功", "(1/2)", "(2/2)"),
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
async def test_one_sentence_to_a_booked_viewing(browser, site, sessions, frozen_clock, locale) -> None:
    ids = await seed(sessions)
    sentence, booked, first, second = SENTENCES[locale]
    context, page, errors = await visitor_page(browser, site.base, locale)
    try:
        assert await page.get_attribute("html", "lang") == ("zh-Hans" if locale == "zh-CN" else "en")
        await say(page, sentence)
        # A complete sentence shows the summary and the first card at once (no confirmation gate).
        card = page.locator('#messages li:has(button[data-token^="book:l:"])').last
        await card.wait_for()
        assert first in await card.inner_text()
        card_id = await card.get_attribute("data-id")
        await card.locator('button[data-token^="rec:s:"]').click()  # next card: the same message, edited
        await page.wait_for_function(
            "([id, text]) => document.querySelector(`#messages li[data-id='${id}']`).innerText.includes(text)",
            arg=[card_id, second])
        assert await page.locator(f'#messages li[data-id="{card_id}"]').count() == 1
        await card.locator('button[data-token^="rec:s:"]').click()  # and back
        await page.wait_for_function(
            "([id, text]) => document.querySelector(`#messages li[data-id='${id}']`).innerText.includes(text)",
            arg=[card_id, first])

        await page.locator(f'#messages li[data-id="{card_id}"] button[data-token^="book:l:"]').click()
        await page.wait_for_selector("#ask-phone:not(.hidden)")  # the web's share-contact element
        await page.fill("#phone-input", "+86 138 0013 8000")
        await page.click("#phone-send")
        await page.wait_for_selector('#messages button[data-token^="book:d:"]')
        await page.locator('#messages button[data-token^="book:d:"]').nth(2).click()
        await page.wait_for_selector('#messages button[data-token^="book:t:"]')
        await page.locator('#messages button[data-token^="book:t:"]').first.click()
        confirmation = last_bot(page)
        await page.wait_for_function("(text) => document.querySelector('#messages').innerText.includes(text)",
                                     arg=booked)
        assert booked in await confirmation.inner_text()
        assert errors == []
    finally:
        await context.close()
    async with sessions() as session:
        viewing = await session.scalar(select(Viewing))
        customer = await session.get(Customer, viewing.customer_id)
    assert customer.channel == "web" and customer.phone == "13800138000" and customer.phone_verified_at is None
    assert customer.language == ("zh" if locale == "zh-CN" else "en")
    assert viewing.listing_id in (ids["R-WJ-201"], ids["R-WJ-202"])


async def agent_page(browser, base: str, email: str):
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/inbox")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/inbox")
    await page.wait_for_selector("#live-state.on")
    return context, page


async def test_a_visitor_talks_to_an_agent_live_and_answers_the_survey(browser, site, sessions) -> None:
    async with transaction(sessions) as session:
        await create_staff(session, "agent@example.com", "Alan Agent", "agent", PASSWORD)
    agent_context, agent = await agent_page(browser, site.base, "agent@example.com")
    visitor_context, visitor, errors = await visitor_page(browser, site.base)
    try:
        assert await agent.locator('nav a[href="/chat"]').inner_text() == "Try the bot"
        await press(visitor, "handoff:start")
        row = "#inbox tr:has(.channel-web)"
        await agent.wait_for_selector(row)  # in the same queue as Telegram customers, with its channel badge
        await agent.click(f"{row} button.take")
        await agent.wait_for_url(re.compile(r".*/conversations/\d+$"))
        joined = visitor.locator("#messages li.system").last
        await joined.wait_for()
        await visitor.wait_for_function(
            "() => document.querySelector('#messages li.system:last-child')?.innerText.includes('Alan Agent')")

        await agent.fill("#reply-text", "Hello, I am Alan. <b>How</b> can I help?")
        await agent.click("#send")
        answer = visitor.locator("#messages li.agent").last
        await answer.wait_for()
        assert await answer.locator(".text").inner_text() == "Hello, I am Alan. <b>How</b> can I help?"
        assert await answer.locator(".who").inner_text() == "Alan Agent"

        await say(visitor, "<script>alert(1)</script> Saturday?")
        mine = visitor.locator("#messages li.mine").last
        assert await mine.inner_text() == "<script>alert(1)</script> Saturday?"
        incoming = agent.locator("#messages li.in").last
        await agent.wait_for_function(
            "() => [...document.querySelectorAll('#messages li.in .text')].some("
            "n => n.textContent === '<script>alert(1)</script> Saturday?')")
        assert await incoming.locator(".text").inner_text() == "<script>alert(1)</script> Saturday?"

        # A reload in the middle loses nothing: the whole transcript comes back, in order.
        before = await visitor.locator("#messages").inner_text()
        await visitor.reload()
        await visitor.wait_for_selector("#messages li.agent")
        await visitor.wait_for_function("(n) => document.querySelectorAll('#messages li').length >= n",
                                        arg=await visitor.locator("#messages li").count())
        assert await visitor.locator("#messages").inner_text() == before

        await agent.fill("#reply-text", "Saturday at 10 works.")
        await agent.click("#send")
        await visitor.wait_for_function(
            "() => document.querySelector('#messages li.agent:last-of-type .text')?.textContent === "
            "'Saturday at 10 works.'")
        agent.once("dialog", lambda dialog: dialog.accept())  # "Close this conversation?"
        await agent.click("#close")
        await visitor.wait_for_selector('#messages button[data-token^="survey:r:"]')
        await visitor.locator('#messages button[data-token$=":5"]').last.click()
        await visitor.wait_for_function(
            "() => document.querySelector('#messages').innerText.includes('You rated us 5 of 5')")
        assert errors == []
    finally:
        await visitor_context.close()
        await agent_context.close()
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
    assert survey.score == 5 and survey.subject_type == "conversation"


HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Agency</title></head>
<body><h1>Sunny Garden homes</h1>
<script src="{chat}/widget.js" async></script>
{extra}
</body></html>"""


async def host_site(extra: str = "") -> tuple[TestServer, dict]:
    """A company's page on another local port (another origin)."""
    holder: dict = {}

    async def page(request: web.Request) -> web.Response:
        chat = holder["chat"]
        return web.Response(text=HOST_PAGE.format(chat=chat, extra=extra.replace("{chat}", chat)),
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, holder


async def test_a_site_that_is_not_allowed_cannot_embed_the_chat(browser, site) -> None:
    host, holder = await host_site(extra='<iframe id="forced" src="{chat}/chat" title="forced"></iframe>')
    holder["chat"] = site.base
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        await page.goto(str(host.make_url("/")))
        await page.click("#homedesk-chat-bubble")
        refused = page.locator("#homedesk-chat-refused")
        await refused.wait_for()
        assert "not allowed" in await refused.inner_text()
        assert await page.locator("#homedesk-chat-frame").count() == 0
        # The chat page itself refuses to be framed there (CSP frame-ancestors): the forced frame shows an error.
        await page.wait_for_function("() => document.querySelector('#forced') !== null")
        frames = [frame for frame in page.frames if frame != page.main_frame]
        assert len(frames) == 1
        await frames[0].wait_for_load_state()
        assert frames[0].url.startswith("chrome-error://")  # Chromium refused to render it
        assert await frames[0].query_selector("#chat") is None
        assert site.channel.hub.connections == set()  # no socket was opened from that site
    finally:
        await context.close()
        await host.close()


async def test_an_allowed_site_embeds_the_chat_and_the_visitor_is_kept_across_reloads(
        browser, sessions, bus, tmp_path) -> None:
    host, holder = await host_site()
    served, server = await serve(sessions, bus, tmp_path, webchat_origins=str(host.make_url("")).rstrip("/"))
    holder["chat"] = served.base
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        await page.goto(str(host.make_url("/")))
        await page.click("#homedesk-chat-bubble")
        frame = page.frame_locator("#homedesk-chat-frame")
        await frame.locator("#messages li.bot .choices button").first.wait_for()
        assert "您好" in await frame.locator("#messages").inner_text()
        answered = await frame.locator("#messages li.bot").count()
        await frame.locator("#text").fill("我想找人工客服")
        await frame.locator("#text").press("Enter")
        await frame.locator("#messages li.mine").wait_for()
        await frame.locator("#messages li.bot").nth(answered).wait_for()  # the bot answered: it was handled
        await page.reload()
        await page.click("#homedesk-chat-bubble")
        await frame.locator("#messages li.mine").wait_for()  # the same visitor: the transcript is back
        assert "我想找人工客服" in await frame.locator("#messages").inner_text()
        async with sessions() as session:
            visitors = (await session.scalars(select(Customer).where(Customer.channel == "web"))).all()
        assert len(visitors) == 1
    finally:
        await context.close()
        await served.channel.stop()
        await server.close()
        await host.close()
