"""The inbox an agent lives in all day, in a real browser (Debian's Chromium through Playwright):

- on a laptop (1366×768) the work list and the chosen conversation sit side by side: a row opens in the right
  pane without leaving the list (its address in the history, Back works, a reload shows both), and everything
  the conversation page does keeps working there (take, reply, live messages of the conversation shown and only
  of it, unread badges of the others); on a phone (390×844) one pane at a time, as before;
- the customer hears the transfer and the requeue notices in their language: a Telegram customer (through the
  offline Bot API server and the real aiogram channel) with the agent on a laptop, a web chat visitor with the
  agent on a phone. The "went silent" pass runs with an injected time (`requeue_silent(now=...)`), never a sleep;
- the web chat visitor typing shows "Customer is typing…" on the agent's conversation, which goes away by itself
  (the page's clock is Playwright's, fast-forwarded).
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from staff_console.app import create_app
from storage import clock
from storage.models import Conversation, Customer
from storage.services import handoff
from storage.unit_of_work import Workplace
from tests.bot.webchat.conftest import make_chat  # noqa: F401 - the web chat on the console's web server
from tests.conftest import requires_chromium
from tests.staff_console.conftest import PASSWORD, console_settings
from tests.staff_console.helpers import customer_writes, sign_in, waiting_customer
from tests.workplace import SETTINGS, workplace_for

pytestmark = requires_chromium

SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
TRANSFERRED_ZH = "您的对话已转给 Bea Agent，将由其在此为您解答。"
REQUEUED_ZH = "抱歉让您久等：下一位有空的同事会在此为您解答，您的排队顺序保持不变。"


async def _signed_in(browser, base: str, screen: str, path: str, email: str = "agent@example.com", *,
                     fake_clock: bool = False):
    options: dict = {"viewport": SCREENS[screen]}
    if screen == "phone":
        options.update(is_mobile=True, has_touch=True)
    context = await browser.new_context(**options)
    if fake_clock:  # the page's timers run on Playwright's clock, moved on by the test
        await context.clock.install()
    return context, await sign_in(context, base, email, path, PASSWORD)


async def _no_sideways_scrolling(page, screen: str) -> None:
    wide, inner = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide <= inner == SCREENS[screen]["width"], f"{wide}px wide on a {inner}px screen"


async def _requeue_the_silent(workplace: Workplace) -> list[int]:
    """The periodic pass, run as if HANDOFF_REASSIGN_MINUTES (+1) had passed since the chat was assigned."""
    minutes = SETTINGS.handoff_reassign_minutes
    async with workplace.open() as work:
        requeued = await handoff.requeue_silent(work, minutes=minutes, now=clock.now() + timedelta(minutes=minutes + 1))
    return [conversation.id for conversation, _ in requeued]


async def test_list_and_conversation_side_by_side_on_a_laptop(browser, console, team, sessions, bus) -> None:
    ann = await waiting_customer(sessions, bus, name="Ann", text="Is the flat on Guanghua Road free?")
    ben = await waiting_customer(sessions, bus, name="Ben", text="I need a plumber")
    context, page = await _signed_in(browser, console, "laptop", "/inbox?view=waiting")
    try:
        assert await page.locator(".pane-empty").is_visible()  # nothing chosen yet
        await page.click(f'#inbox tr[data-conversation="{ann.id}"] td:first-child a')
        await page.wait_for_selector(f'#pane #conversation[data-conversation="{ann.id}"]')
        assert page.url == f"{console}/conversations/{ann.id}?view=waiting"  # pushState: the list never left
        assert await page.locator("#inbox").is_visible()
        assert await page.get_attribute(f'#inbox tr[data-conversation="{ann.id}"]', "class") == "selected"
        pane = await page.locator("#pane").bounding_box()
        listed = await page.locator("#work-list").bounding_box()
        assert listed["x"] + listed["width"] <= pane["x"]  # side by side, list at the left
        await page.click("#take")  # the pane's own form: a full page load of the conversation beside the same list
        await page.wait_for_url(f"{console}/conversations/{ann.id}?view=waiting")
        await page.wait_for_selector("#live-state.on")
        assert await page.locator("#work-list").is_visible() and await page.locator("#send").is_visible()

        await page.fill("#reply-text", "Yes, it is free.")
        await page.keyboard.press("Control+Enter")
        await page.locator("#messages li.out.agent .text", has_text="Yes, it is free.").wait_for()

        # Another row opens beside the list (the waiting list: Ben).
        await page.click(f'#inbox tr[data-conversation="{ben.id}"] td:first-child a')
        await page.wait_for_selector(f'#pane #conversation[data-conversation="{ben.id}"]')
        assert page.url == f"{console}/conversations/{ben.id}?view=waiting"

        # All open chats: Ann beside the list; the live channel follows the conversation shown, and only it.
        await page.click("nav.tabs a[data-view=open]")
        await page.wait_for_url(f"{console}/inbox?view=open")
        await page.wait_for_selector("#live-state.on")
        await page.click(f'#inbox tr[data-conversation="{ann.id}"] td:first-child a')
        await page.wait_for_selector(f'#pane #conversation[data-conversation="{ann.id}"]')
        said = await customer_writes(sessions, bus, ann.id, "Can I see it at 6?")
        await page.wait_for_selector(f'#messages li[data-message-id="{said.id}"]')
        elsewhere = await customer_writes(sessions, bus, ben.id, "Kitchen tap, today please")
        await page.wait_for_selector(f'#inbox tr[data-conversation="{ben.id}"] .badge.unread:not(.hidden)')
        assert await page.locator(f'#messages li[data-message-id="{elsewhere.id}"]').count() == 0
        await _no_sideways_scrolling(page, "laptop")

        await page.click(f'#inbox tr[data-conversation="{ben.id}"] td:first-child a')  # reading it reads it
        await page.wait_for_selector(f'#pane #messages li[data-message-id="{elsewhere.id}"]')
        await page.wait_for_selector(f'#inbox tr[data-conversation="{ben.id}"] .badge.unread.hidden', state="attached")
        assert page.url == f"{console}/conversations/{ben.id}?view=open"
        await page.go_back()  # Back shows the conversation before, beside the list
        await page.wait_for_selector(f'#pane #conversation[data-conversation="{ann.id}"]')
        assert page.url == f"{console}/conversations/{ann.id}?view=open"
        await page.reload()  # and a full load of that address shows the same list and conversation
        await page.wait_for_selector(f'#inbox tr[data-conversation="{ben.id}"]')
        assert await page.get_attribute(f'#inbox tr[data-conversation="{ann.id}"]', "class") == "selected"
        assert await page.locator("#send").is_visible()
    finally:
        await context.close()


async def test_one_pane_at_a_time_on_a_phone(browser, console, team, sessions, bus) -> None:
    ann = await waiting_customer(sessions, bus, name="Ann", text="Hello?")
    context, page = await _signed_in(browser, console, "phone", "/inbox?view=waiting")
    try:
        assert not await page.locator("#pane").is_visible()
        await page.click(f'#inbox tr[data-conversation="{ann.id}"] td:first-child a')
        await page.wait_for_url(f"{console}/conversations/{ann.id}?view=waiting")  # an ordinary link
        await page.wait_for_selector("#live-state.on")
        assert not await page.locator("#work-list").is_visible()
        assert await page.locator("#take").is_visible()
        await _no_sideways_scrolling(page, "phone")
    finally:
        await context.close()


async def test_a_telegram_customer_hears_the_transfer_and_the_requeue_in_chinese(browser, team, sessions, bus) -> None:
    """Laptop: the agent opens the chat beside the list, takes it and transfers it to Bea; Carol (Chinese) is told
    who answers now; Bea stays silent and Carol is told she keeps her place in line; Alan sees her back."""
    from bot.channel import ChannelOptions, TelegramChannel
    from tests.bot.conftest import TOKEN, fast_limiter, settings_for
    from tests.botapi import BotApiServer

    async with BotApiServer(token=TOKEN, limits=None) as api:
        channel = TelegramChannel(
            settings_for(api, business_hours="00:00-23:59", business_days="mon,tue,wed,thu,fri,sat,sun"),
            sessions, bus, ChannelOptions(sender={"poll_interval": 0.05, "backoff_base": 0.01, "backoff_cap": 0.05},
                                          limiter=fast_limiter(), poll_timeout=1))
        await channel.start()
        server = TestServer(create_app(settings=console_settings(), sessions=sessions, bus=bus), host="127.0.0.1")
        await server.start_server()
        console = str(server.make_url("")).rstrip("/")
        context, alan = await _signed_in(browser, console, "laptop", "/inbox?view=waiting")
        try:
            carol = api.customer(first_name="Carol", language_code="zh-hans")
            carol.send_text("/agent")
            await carol.wait_for("人工客服队列", timeout=10)
            async with sessions() as session:
                conversation = await session.scalar(select(Conversation).where(Conversation.mode == "waiting"))
            row = f'#inbox tr[data-conversation="{conversation.id}"]'
            await alan.click(f"{row} td:first-child a")
            await alan.wait_for_selector(f'#pane #conversation[data-conversation="{conversation.id}"]')
            await alan.click("#take")
            await alan.wait_for_url(f"{console}/conversations/{conversation.id}?view=waiting")
            await carol.wait_for("Alan Agent", timeout=10)

            await alan.click("#pane summary:has-text('Transfer to another agent')")
            await alan.select_option("select[name=to_staff_id]", str(team.agent2.id))
            await alan.click("form:has(select[name=to_staff_id]) button")
            await alan.wait_for_selector(".flash:has-text('Transferred.')")
            told = await carol.wait_for("您的对话已转给", timeout=10)
            assert told["text"] == TRANSFERRED_ZH

            await alan.wait_for_selector("#live-state.on")
            assert await _requeue_the_silent(workplace_for(sessions, bus)) == [conversation.id]
            told = await carol.wait_for("抱歉让您久等", timeout=10)
            assert told["text"] == REQUEUED_ZH
            await alan.wait_for_selector(".toast:has-text('Carol is back in the queue (no answer).')")
            await alan.wait_for_selector(f"{row} button.take")  # waiting again, in the list beside the chat
            await _no_sideways_scrolling(alan, "laptop")
        finally:
            await context.close()
            await server.close()
            await channel.stop()


async def test_a_web_visitor_typing_is_shown_and_hears_the_transfer_and_the_requeue(
        browser, team, sessions, make_chat) -> None:  # noqa: F811 - the fixture imported above
    """Phone: a web chat visitor (Chinese) asks for a person; the agent takes the chat, sees "Customer is
    typing…" while the visitor types (gone by itself a few seconds later), transfers it to Bea; the visitor is told
    who answers now, then, Bea staying silent, that they keep their place in line."""
    chat = await make_chat()
    visitor = chat.visitor(lang="zh")
    await visitor.connect()
    await visitor.say("/agent")
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.web_visitor_id == visitor.welcome["visitor"]))
        conversation = await session.scalar(select(Conversation).where(Conversation.customer_id == customer.id))
    assert conversation.mode == "waiting"
    path = f"/conversations/{conversation.id}"
    context, alan = await _signed_in(browser, chat.origin, "phone", path, fake_clock=True)
    try:
        await alan.click("#take")
        await alan.wait_for_selector("#send")
        await alan.wait_for_selector("#live-state.on")
        await visitor.next("message", lambda f: "Alan Agent" in f["reply"]["html"])

        await visitor.send({"type": "typing"})
        typing = alan.locator("#typing")
        await typing.wait_for(state="visible")
        assert await typing.inner_text() == "Customer is typing…"
        await alan.clock.fast_forward(7000)
        await typing.wait_for(state="hidden")
        await _no_sideways_scrolling(alan, "phone")

        await alan.click("summary:has-text('Transfer to another agent')")
        await alan.select_option("select[name=to_staff_id]", str(team.agent2.id))
        await alan.click("form:has(select[name=to_staff_id]) button")
        await alan.wait_for_selector(".flash:has-text('Transferred.')")
        told = await visitor.next("message", lambda f: "转给" in f["reply"]["html"])
        assert told["reply"]["html"] == TRANSFERRED_ZH

        assert await _requeue_the_silent(chat.workplace) == [conversation.id]
        told = await visitor.next("message", lambda f: "久等" in f["reply"]["html"])
        assert told["reply"]["html"] == REQUEUED_ZH
        await alan.wait_for_selector("#changed-notice:not(.hidden)")  # the agent's page knows it changed
        await _no_sideways_scrolling(alan, "phone")
    finally:
        await context.close()
        await visitor.close()

