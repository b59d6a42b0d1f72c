"""Customers by channel identity: Telegram users and web chat visitors live side by side."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import Customer
from storage.repositories import customers


async def test_a_web_visitor_is_a_customer_without_a_telegram_identity(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        visitor, created = await customers.get_or_create(session, channel="web", external_id="v-abc", language="zh")
        again, created_again = await customers.get_or_create(session, channel="web", external_id="v-abc")
    assert created and not created_again and again.id == visitor.id
    assert (visitor.channel, visitor.web_visitor_id, visitor.telegram_user_id, visitor.chat_id) == (
        "web", "v-abc", None, None)
    assert visitor.language == "zh"


async def test_telegram_customers_keep_working_by_user_id_and_by_the_channel_neutral_form(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        old_style, _ = await customers.get_or_create(session, telegram_user_id=77, chat_id=77, first_name="Li")
        neutral, created = await customers.get_or_create(session, channel="telegram", external_id="77", address=770)
        visitor, _ = await customers.get_or_create(session, channel="web", external_id="77")
    assert not created and neutral.id == old_style.id and neutral.chat_id == 770
    assert old_style.channel == "telegram" and old_style.web_visitor_id is None
    assert visitor.id != old_style.id  # a visitor id that looks like a Telegram id is someone else
    async with any_sessions() as session:
        assert len((await session.scalars(select(Customer))).all()) == 2


async def test_an_identity_needs_its_key(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        with pytest.raises(ValueError):
            await customers.get_or_create(session, channel="web", external_id="")
        with pytest.raises(ValueError):
            await customers.get_or_create(session, channel="fax", external_id="1")
