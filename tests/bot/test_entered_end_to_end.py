"""Staff file a repair for a walk-in customer in the console; the customer, who also chats with us in Telegram,
gets the ticket number there: the console (HTTP, signed in, CSRF) -> storage.services.on_behalf -> the outbox ->
the real aiogram channel's sender -> the offline Bot API server (tests/botapi)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from staff_console.app import create_app
from storage.db import transaction
from storage.models import Customer, CustomerUnit, Message, Ticket
from storage.services.staff_accounts import create_staff
from tests import factories
from tests.staff_console.conftest import PASSWORD, console_settings, sign_in


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher

    from storage.services import staff_accounts

    monkeypatch.setattr(staff_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


async def test_a_repair_filed_at_the_desk_reaches_the_customer_in_telegram(api, make_channel, sessions, bus,
                                                                           frozen_clock) -> None:
    async with transaction(sessions) as session:
        await create_staff(session, "desk@example.com", "Dana Desk", "agent", PASSWORD)
        home = await factories.unit(session, phone="13800138000")
    console = TestClient(TestServer(create_app(settings=console_settings(), sessions=sessions, bus=bus)))
    await console.start_server()
    try:
        async with make_channel(api):
            ann = api.customer(first_name="Ann")
            ann.send_command("start")
            await ann.wait_for("Hello")
            async with transaction(sessions) as session:  # she walks in; the desk checks her deed (w-10-records)
                customer = await session.scalar(select(Customer).where(Customer.chat_id == ann.chat_id))
                assert customer is not None
                session.add(CustomerUnit(customer_id=customer.id, unit_id=home.id))
            token = await sign_in(console, "desk@example.com")
            page = await (await console.get(f"/customers/{customer.id}")).text()
            assert f'<option value="{home.id}" selected>Sunny Garden 3-1201</option>' in page  # her only home
            response = await console.post(f"/customers/{customer.id}/tickets", data={
                "csrf_token": token, "kind": "repair", "category": "plumbing", "unit_id": str(home.id),
                "priority": "normal", "description": "Kitchen tap leaks", "access_window": "after 18:00"},
                allow_redirects=False)
            assert response.status == 303
            receipt = await ann.wait_for("Your repair request is registered")
            assert "Number: R-2026-000001." in receipt["text"] and "free" in receipt["text"]
            assert [b["text"] for row in receipt["reply_markup"]["inline_keyboard"] for b in row] == [
                "My requests", "Main menu"]
            ann.press("My requests")  # the bot's own button works on it: the ticket is hers
            await ann.wait_for("Your requests:")
            assert any("R-2026-000001" in label for label in ann.buttons())
    finally:
        await console.close()
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        sent = await session.scalar(select(Message).where(Message.text.contains("R-2026-000001")))
    assert ticket is not None and ticket.customer_id == customer.id and ticket.entered_by_id is not None
    assert sent is not None and sent.delivery_status == "sent"
