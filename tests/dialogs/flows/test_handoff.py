"""The customer's side of the handoff, through the engine: asking for a person, the queue message, silence
while waiting, leaving a message outside business hours, going back to the bot, and the survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import Conversation, FollowUpTask, Staff, Survey
from storage.services import handoff
from storage.settings import load_settings
from tests.dialogs.helpers import FakeCustomer
from tests.workplace import staff_work

# Mon-Fri 09:00-18:00 Shanghai, whatever the environment says.
OFFICE_HOURS = load_settings(business_hours="09:00-18:00", business_days="mon,tue,wed,thu,fri",
                             timezone="Asia/Shanghai")


@pytest.mark.parametrize("words", ["I want to talk to a human", "agent please", "转人工", "我要找客服", "人工"])
async def test_intent_words_put_customer_in_line(sessions, frozen_clock, words):
    customer = FakeCustomer(sessions, settings=OFFICE_HOURS)
    replies = await customer.text(words)
    if words == "我要找客服":  # clearly Chinese from an English app: answered in Chinese (issue 16)
        assert "您已进入人工客服队列：当前排第 1 位" in replies[0].text and "预计等待约 4 分钟" in replies[0].text
    else:
        assert "You are in line to talk to a person: number 1" in replies[0].text
        assert "Expected wait: about 4 min" in replies[0].text
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation.mode == "waiting" and conversation.handoff_reason == "asked"
    events = [e.kind for e in customer.events]
    assert "conversation.changed" in events


async def test_position_and_chinese_text(sessions, frozen_clock):
    await FakeCustomer(sessions, settings=OFFICE_HOURS, user_id=1).press("handoff:start")
    replies = await FakeCustomer(sessions, settings=OFFICE_HOURS, user_id=2, language_code="zh-hans").command("agent")
    assert "当前排第 2 位" in replies[0].text and "预计等待约 8 分钟" in replies[0].text
    # What a waiting customer can still do, and the way out of the queue (issue 16).
    assert [c.label for row in replies[0].choices for c in row] == ["我的工单", "主菜单", "取消人工请求"]


async def test_menu_shows_talk_to_a_person(sessions, frozen_clock):
    replies = await FakeCustomer(sessions, settings=OFFICE_HOURS).command("start")
    tokens = [c.token for row in replies[0].choices for c in row]
    assert "handoff:start" in tokens


async def test_bot_silent_while_waiting_but_queue_button_answers(sessions, frozen_clock):
    customer = FakeCustomer(sessions, settings=OFFICE_HOURS)
    await customer.text("human")
    assert await customer.text("hello? are you there") == []
    menu = await customer.command("start")  # self-service still answers (issue 16), with the way out of the queue
    assert "handoff:cancel" in [c.token for row in menu[0].choices for c in row]
    again = await customer.press("handoff:start")
    assert "number 1" in again[0].text


async def test_outside_business_hours_offers_to_leave_a_message(sessions, frozen_clock):
    frozen_clock.advance(hours=12)  # Monday 21:00 in Shanghai
    customer = FakeCustomer(sessions, settings=OFFICE_HOURS)
    replies = await customer.text("人工")
    assert "will reply from Tue 3 Mar, 09:00" in replies[0].text  # times read alike everywhere (issue 16)
    labels = [c.label for row in replies[0].choices for c in row]
    assert labels == ["Leave a message", "My requests", "Main menu", "Cancel my request for a person"]
    prompt = await customer.press_label("Leave a message")
    assert "write your message" in prompt[0].text
    assert await customer.text("Please call me about the flat on Monday") == []


async def test_second_misunderstanding_offers_person_and_records_reason(sessions, frozen_clock):
    customer = FakeCustomer(sessions, settings=OFFICE_HOURS)
    await customer.text("qwerty")
    replies = await customer.text("asdfgh")
    assert "handoff:start" in [c.token for row in replies[0].choices for c in row]
    await customer.press("handoff:start")
    async with sessions() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation.handoff_reason == "misunderstood"


async def test_back_to_the_assistant_leaves_the_queue(sessions, frozen_clock):
    customer = FakeCustomer(sessions, settings=OFFICE_HOURS)
    await customer.text("human")
    replies = await customer.press_label("Cancel my request for a person")
    assert replies[0].text.startswith("You are back with the assistant")
    async with sessions() as session:
        assert (await session.scalar(select(Conversation))).mode == "bot"
    menu = await customer.command("start")
    assert menu and menu[0].text.startswith("Hello")


async def test_survey_after_close_then_fresh_conversation(sessions, frozen_clock):
    customer = FakeCustomer(sessions, settings=OFFICE_HOURS)
    await customer.text("human")
    async with sessions() as session, session.begin():
        agent = Staff(email="a@example.com", name="Agent Ada", role="agent", password_hash="x")
        session.add(agent)
        await session.flush()
        conversation = await session.scalar(select(Conversation))
        await handoff.take(session, conversation.id, agent)
        _, survey = await handoff.close(staff_work(session, agent.id), conversation.id)  # queues the survey too
    frozen_clock.advance(minutes=1)
    replies = await customer.press(f"survey:r:{survey.id}:2")
    assert replies[0].text.startswith("How satisfied are you")  # the survey itself, queued by the close
    assert "A team lead will contact you" in replies[-1].text
    replies = await customer.text("The agent was late")
    assert replies[0].text == "Thank you for your feedback!"
    async with sessions() as session:
        stored = await session.get(Survey, survey.id)
        assert (stored.score, stored.comment, stored.staff_id) == (2, "The agent was late", agent.id)
        assert (await session.scalar(select(FollowUpTask))).survey_id == survey.id
        open_ones = (await session.scalars(select(Conversation).where(Conversation.status == "open"))).all()
        assert len(open_ones) == 1 and open_ones[0].id != conversation.id and open_ones[0].mode == "bot"


async def test_forged_survey_button_is_rejected(sessions, frozen_clock):
    await FakeCustomer(sessions, settings=OFFICE_HOURS, user_id=77).command("start")
    async with sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation))
        session.add(Survey(subject_type="conversation", subject_id=conversation.id,
                           customer_id=conversation.customer_id, sent_at=frozen_clock.now() - timedelta(hours=1)))
    intruder = FakeCustomer(sessions, settings=OFFICE_HOURS, user_id=78)
    replies = await intruder.press("survey:r:1:5")
    assert replies[0].text == "This button has expired. Here is the menu."


async def test_staff_deep_link_links_the_chat_once(sessions, frozen_clock):
    from storage.services import staff_link

    async with sessions() as session, session.begin():
        agent = Staff(email="link@example.com", name="Lin <Agent>", role="agent", password_hash="x")
        session.add(agent)
        await session.flush()
        token = await staff_link.create_link_token(session, agent)
    phone = FakeCustomer(sessions, settings=OFFICE_HOURS, user_id=555, language_code="zh-hans")
    replies = await phone.command("start", f"link_{token}")
    assert replies[0].text == "已完成：此聊天已绑定到 Lin &lt;Agent&gt; 的 Homedesk 控制台账号，提醒将发送到这里。"
    async with sessions() as session:
        assert (await session.get(Staff, agent.id)).telegram_chat_id == 555
    again = await FakeCustomer(sessions, settings=OFFICE_HOURS, user_id=556).command("start", f"link_{token}")
    assert again[0].text.startswith("This link is invalid or has expired")
