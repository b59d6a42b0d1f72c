"""A web chat visitor merged into the same person's Telegram customer: one history, one open conversation, and the
visitor's token opens the merged customer (replies go where they last wrote from)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.db import transaction
from storage.models import Conversation, Customer, Need, OutboxMessage
from storage.repositories import conversations, customers
from storage.services.customer_merge import MergeError, merge_web_visitor
from tests.workplace import work_on


async def _pair(session):
    telegram, _ = await customers.get_or_create(session, telegram_user_id=501, chat_id=501, first_name="Li")
    visitor, _ = await customers.get_or_create(session, channel="web", external_id="visitor-501")
    visitor.phone, visitor.tags, telegram.tags = "13800138000", ["vip"], ["owner"]
    old = await conversations.current(session, telegram)
    old.status = "closed"
    await conversations.current(session, telegram)  # an open one on each side
    web_open = await conversations.current(session, visitor)
    session.add_all([Need(customer_id=telegram.id, deal_type="rent", criteria={"districts": ["Haidian"]}),
                     Need(customer_id=visitor.id, deal_type="rent", criteria={"districts": ["Wangjing"]}),
                     Need(customer_id=visitor.id, deal_type="sale", criteria={})])
    session.add(OutboxMessage(channel="web", customer_id=visitor.id, method="say", payload={"kind": "say"}))
    await session.flush()
    return telegram, visitor, web_open


async def test_the_visitors_history_moves_and_the_kept_record_wins_where_both_have_one(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        telegram, visitor, web_open = await _pair(session)
        await merge_web_visitor(work_on(session), visitor.id, telegram.id)
    async with any_sessions() as session:
        merged = await session.get(Customer, telegram.id)
        assert await session.get(Customer, visitor.id) is None
        rows = (await session.scalars(select(Conversation).where(Conversation.customer_id == merged.id)
                                      .order_by(Conversation.id))).all()
        needs = {n.deal_type: n.criteria for n in (await session.scalars(select(Need))).all()}
        outbox_owner = await session.scalar(select(OutboxMessage.customer_id))
    assert merged.web_visitor_id == "visitor-501" and merged.phone == "13800138000"
    assert merged.tags == ["owner", "vip"] and merged.channel == "telegram"
    assert len(rows) == 3 and [c.status for c in rows].count("open") == 1
    assert next(c for c in rows if c.status == "open").id == web_open.id  # the one used last stays open
    assert needs == {"rent": {"districts": ["Haidian"]}, "sale": {}} and outbox_owner == merged.id


async def test_the_visitors_token_opens_the_merged_customer_and_replies_follow_the_channel(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        telegram, visitor, _ = await _pair(session)
        await merge_web_visitor(work_on(session), visitor.id, telegram.id)
    async with transaction(any_sessions) as session:
        back, created = await customers.get_or_create(session, channel="web", external_id="visitor-501")
        assert not created and back.id == telegram.id and back.channel == "web" and back.chat_id == 501
    async with transaction(any_sessions) as session:
        again, _ = await customers.get_or_create(session, telegram_user_id=501, chat_id=501)
        assert again.channel == "telegram"


async def test_only_a_web_visitor_is_merged_and_only_once(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        telegram, visitor, _ = await _pair(session)
        other, _ = await customers.get_or_create(session, telegram_user_id=502, chat_id=502)
        with pytest.raises(MergeError):
            await merge_web_visitor(work_on(session), telegram.id, other.id)
        with pytest.raises(MergeError):
            await merge_web_visitor(work_on(session), visitor.id, visitor.id)
        await merge_web_visitor(work_on(session), visitor.id, telegram.id)
        second, _ = await customers.get_or_create(session, channel="web", external_id="visitor-502")
        with pytest.raises(MergeError):
            await merge_web_visitor(work_on(session), second.id, telegram.id)
        assert await session.scalar(select(func.count()).select_from(Customer)) == 3
