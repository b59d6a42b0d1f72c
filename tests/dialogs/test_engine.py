"""The engine's routing rules, without Telegram."""

from __future__ import annotations

from sqlalchemy import select

from dialogs.flow import DialogContext, Flow, Registry
from dialogs.flows import REGISTRY
from dialogs.inbound import Inbound
from dialogs.replies import Say
from storage.models import Conversation, Customer
from tests.dialogs.helpers import FakeCustomer


async def test_start_greets_in_telegram_language(sessions) -> None:
    replies = await FakeCustomer(sessions, language_code="zh-hans", first_name="李<b>").command("start")
    assert len(replies) == 1 and isinstance(replies[0], Say)
    assert replies[0].text.startswith("李&lt;b&gt;，您好")
    labels = [c.label for row in replies[0].choices for c in row]
    assert "语言" in labels and "帮助" in labels


async def test_language_choice_sticks_over_telegram_language(sessions) -> None:
    customer = FakeCustomer(sessions, language_code="en")
    await customer.command("language")
    replies = await customer.press("menu:lang:zh")
    assert replies[0].text == "语言已设置为简体中文。"
    assert replies[0].edit and replies[0].edit_message_id == 1
    replies = await customer.command("help")
    assert replies[0].text.startswith("我可以为您做这些")


async def test_forged_and_unknown_buttons_expire(sessions) -> None:
    customer = FakeCustomer(sessions)
    for token in ("nosuchflow:x", "menu:lang:fr", "garbage"):
        replies = await customer.press(token)
        assert replies[0].text == "This button has expired. Here is the menu."
        assert customer.last and customer.last.button_answer is not None


async def test_forged_numbers_in_buttons_expire_instead_of_failing(sessions) -> None:
    """Unicode digits and ids beyond 64 bits once reached int() or the database; now the codec refuses them."""
    customer = FakeCustomer(sessions)
    for token in ("survey:r:²:1", f"survey:r:{2**64}:5", "revisit:good:²", f"revisit:help:{2**64}", "vw:r:１",
                  f"vw:c:{2**64}", f"rec:d:{2**64}", "book:d:1:20260230", "handoff:later", "menu:lang:",
                  f"need:dym:{2**64}"):
        replies = await customer.press(token)
        assert replies[0].text == "This button has expired. Here is the menu.", token


async def test_unsupported_message_gets_a_polite_line(sessions) -> None:
    replies = await FakeCustomer(sessions).send(Inbound(kind="unsupported", unsupported_type="sticker"))
    assert "Stickers, voice" in replies[0].text


async def test_bot_is_silent_while_a_person_owns_the_conversation(sessions) -> None:
    customer = FakeCustomer(sessions)
    await customer.command("start")
    async with sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        conversation.mode = "human"
    assert await customer.text("hello?") == []
    assert await customer.command("start") == []


class _Exploding(Flow):
    name = "boom"
    commands = ("boom",)

    async def start(self, ctx: DialogContext, event: Inbound):
        ctx.goto("boom", "half-way", collected="should be rolled back")
        ctx.customer.phone = "123"
        raise RuntimeError("flow bug")


async def test_a_failing_flow_apologises_and_keeps_what_was_collected(sessions) -> None:
    with_bomb = Registry((*REGISTRY.flows, _Exploding()), REGISTRY.fallbacks, REGISTRY.deep_links)
    customer = FakeCustomer(sessions, flows=with_bomb)
    await customer.command("start")
    async with sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        conversation.slots = {"budget": 8000}
    replies = await customer.command("boom")
    assert replies[0].text.startswith("Sorry, something went wrong")
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation))
        customer_row = await session.scalar(select(Customer))
        assert conversation.slots == {"budget": 8000}
        assert conversation.flow is None
        assert customer_row.phone is None


async def test_two_misunderstandings_in_a_row_count(sessions) -> None:
    customer = FakeCustomer(sessions)
    await customer.text("qwertyuiop")
    await customer.text("asdfghjkl")
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation.misunderstandings == 2
