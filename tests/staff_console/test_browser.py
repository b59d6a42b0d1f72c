"""A real browser (Debian's Chromium through Playwright) using the console: two agents watch the queue live,
one takes the conversation, replies, sees the customer's answer and the delivery status arrive, and closes;
the other sees it leave the queue."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from staff_console.app import create_app
from storage.events import message_status
from storage.models import Conversation, OutboxMessage, Survey
from tests.conftest import TIMEOUT_MS, requires_chromium
from tests.staff_console.conftest import PASSWORD, console_settings
from tests.staff_console.helpers import customer_writes, waiting_customer

pytestmark = requires_chromium


async def signed_in_page(browser, base: str, email: str):
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{base}/inbox")
    assert "/login" in page.url
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/inbox")
    await page.wait_for_selector("#live-state.on")  # the live channel is open
    return context, page


async def test_agents_take_over_live_in_a_real_browser(browser, console, team, sessions, bus):
    alan_context, alan = await signed_in_page(browser, console, "agent@example.com")
    bea_context, bea = await signed_in_page(browser, console, "agent2@example.com")
    try:
        conversation = await waiting_customer(sessions, bus, name="Carol <b>Chen</b>", text="Is the flat free?")
        row = f'#inbox tr[data-conversation="{conversation.id}"]'
        for page in (alan, bea):  # appears without reloading
            await page.wait_for_selector(row)
            assert await page.inner_text(f"{row} td:first-child a") == "Carol <b>Chen</b>"

        await alan.click(f"{row} button.take")
        await alan.wait_for_url(f"{console}/conversations/{conversation.id}")
        await bea.wait_for_selector(row, state="detached")  # gone from the other agent's queue

        await alan.fill("#reply-text", "Yes, it is. <i>Want to visit?</i>")
        await alan.click("#send")
        sent = alan.locator("#messages li.out.agent").last
        await sent.wait_for()
        assert await sent.locator(".text").inner_text() == "Yes, it is. <i>Want to visit?</i>"
        async with sessions() as session:
            outbox = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        assert outbox[-1].payload["text"] == "Yes, it is. &lt;i&gt;Want to visit?&lt;/i&gt;"
        agent_message_id = outbox[-1].message_id

        await bus.publish(message_status(outbox_id=outbox[-1].id, message_id=agent_message_id,
                                         conversation_id=conversation.id, customer_id=conversation.customer_id,
                                         chat_id=outbox[-1].chat_id, status="sent", telegram_message_id=1))
        await alan.wait_for_selector(f'li[data-message-id="{agent_message_id}"] .delivery-sent')

        answer = await customer_writes(sessions, bus, conversation.id, "<script>alert(1)</script> Saturday?")
        incoming = alan.locator(f'#messages li[data-message-id="{answer.id}"] .text')
        await incoming.wait_for()
        assert await incoming.inner_text() == "<script>alert(1)</script> Saturday?"

        dialogs: list[str] = []  # a script that ran would open one; Close asks for a confirmation

        async def answer(dialog) -> None:
            dialogs.append(f"{dialog.type}: {dialog.message}")
            await (dialog.accept() if dialog.type == "confirm" else dialog.dismiss())

        alan.on("dialog", answer)
        await alan.click("#close")
        await alan.wait_for_selector("text=Closed; the satisfaction survey is on its way.")
        assert dialogs == ["confirm: Close this conversation?"]
        async with sessions() as session:
            survey = await session.scalar(select(Survey))
            last = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))).one()
            closed = await session.get(Conversation, conversation.id)
        assert survey.staff_id == team.agent.id and closed.status == "closed"
        assert last.payload["choices"][0][0]["token"] == f"survey:r:{survey.id}:1"
    finally:
        await alan_context.close()
        await bea_context.close()


@pytest.fixture
def office_always_open() -> dict[str, str]:
    """The customer-side flow reads business hours from the channel's settings."""
    return {"business_hours": "00:00-23:59", "business_days": "mon,tue,wed,thu,fri,sat,sun"}


async def test_telegram_round_trip_through_the_bot_and_the_console(browser, team, sessions, bus, office_always_open):
    """The customer writes in Telegram (offline Bot API server, real aiogram channel); the agent answers from
    the browser; every message crosses through the database, the outbox and the event bus."""
    from bot.channel import ChannelOptions, TelegramChannel
    from tests.bot.conftest import TOKEN, fast_limiter, settings_for
    from tests.botapi import BotApiServer

    async with BotApiServer(token=TOKEN, limits=None) as api:
        channel = TelegramChannel(settings_for(api, **office_always_open), sessions, bus, ChannelOptions(
            sender={"poll_interval": 0.05, "backoff_base": 0.01, "backoff_cap": 0.05}, limiter=fast_limiter(),
            poll_timeout=1))
        await channel.start()
        # the console knows the token too: it fetches customer photos through the Bot API
        server = TestServer(create_app(settings=console_settings(telegram_bot_token=TOKEN,
                                                                 telegram_api_base=api.base_url),
                                       sessions=sessions, bus=bus), host="127.0.0.1")
        await server.start_server()
        console = str(server.make_url("")).rstrip("/")
        alan_context, alan = await signed_in_page(browser, console, "agent@example.com")
        bea_context, bea = await signed_in_page(browser, console, "agent2@example.com")
        try:
            carol = api.customer(first_name="Carol", language_code="en")
            carol.send_text("I want to talk to a human")
            await carol.wait_for("You are in line to talk to a person: number 1", timeout=10)
            async with sessions() as session:
                conversation = await session.scalar(select(Conversation).where(Conversation.mode == "waiting"))
            row = f'#inbox tr[data-conversation="{conversation.id}"]'
            await alan.wait_for_selector(row)
            await bea.wait_for_selector(row)

            await alan.click(f"{row} button.take")
            await alan.wait_for_url(f"{console}/conversations/{conversation.id}")
            await carol.wait_for("Alan Agent from our team is here", timeout=10)
            await bea.wait_for_selector(row, state="detached")

            await alan.fill("#reply-text", "Hi Carol, the flat is free <b>today</b>.")
            await alan.click("#send")
            delivered = await carol.wait_for("Hi Carol, the flat is free", timeout=10)
            # what the agent typed arrives as the customer sees it: literal text, no bold formatting
            assert delivered["text"] == "Hi Carol, the flat is free <b>today</b>."
            assert not [e for e in delivered.get("entities", []) if e.get("type") == "bold"]
            await alan.wait_for_selector("#messages li.out.agent .delivery-sent")

            carol.send_text("Great, can I see it at 6?")
            await alan.wait_for_selector("#messages li.in >> text=Great, can I see it at 6?")
            carol.send_text("hello?")  # the bot stays silent while a person owns the conversation
            await alan.wait_for_selector("#messages li.in >> text=hello?")
            photo = carol.send_photo(caption="the balcony")
            image = alan.locator("#messages li.in img.photo").last
            await image.wait_for()
            assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
            served = await alan.request.get(console + await image.get_attribute("src"))
            largest = photo["message"]["photo"][-1]["file_id"]
            assert served.ok and await served.body() == api.file_bytes(largest)

            alan.once("dialog", lambda dialog: dialog.accept())  # "Close this conversation?"
            await alan.click("#close")
            await alan.wait_for_selector("text=Closed; the satisfaction survey is on its way.")
            await carol.wait_for("How satisfied are you", timeout=10)
            carol.press("5")
            await carol.wait_for("You rated us 5 of 5", timeout=10)
            async with sessions() as session:
                survey = await session.scalar(select(Survey))
            assert (survey.score, survey.staff_id) == (5, team.agent.id)
            bot_texts = [m for m in carol.texts() if "did not understand" in m]
            assert bot_texts == []
        finally:
            await alan_context.close()
            await bea_context.close()
            await server.close()
            await channel.stop()
