"""The suggestion flow (a light third kind of ticket), the repair flow's design-life "structure" category, and the
emergency promise that follows the emergency SLA policy instead of a fixed hour."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from dialogs.inbound import Inbound
from dialogs.replies import Say
from storage.db import transaction
from storage.models import Conversation, Ticket
from storage.services import sla
from tests import factories
from tests.dialogs.helpers import FakeCustomer


async def test_a_suggestion_is_filed_in_two_steps_without_the_queue(sessions, frozen_clock) -> None:
    customer = FakeCustomer(sessions, user_id=7301)
    replies = await customer.press("suggestion:start")
    assert [c.token for row in replies[0].choices for c in row] == [
        "suggestion:cat:service", "suggestion:cat:homes", "suggestion:cat:community", "suggestion:cat:online",
        "suggestion:cat:other", "menu:main"]
    assert await customer.text("too early") != []  # free text before a topic is not filed
    await customer.press("suggestion:start")
    await customer.press("suggestion:cat:community")
    await customer.press("suggestion:cat:service")  # a stale topic button changes nothing
    replies = await customer.text("A bicycle shelter near gate 2, please")
    assert "S-2026-000001" in replies[0].text and replies[0].receipt
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        conversation = await session.scalar(select(Conversation))
    assert (ticket.kind, ticket.category, ticket.team, ticket.warranty_status) == (
        "suggestion", "community", "complaints", "unknown")
    assert ticket.description == "A bicycle shelter near gate 2, please"
    assert conversation.mode == "bot" and conversation.flow is None  # nobody is fetched for a suggestion
    # a suggestion is answered within a business day and settled within ten (storage.services.sla defaults)
    assert ticket.first_response_due_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Mon 18:00 in Shanghai
    assert ticket.resolve_due_at == datetime(2026, 3, 13, 10, 0, tzinfo=UTC)  # Fri 13 Mar 18:00


async def _owner(sessions) -> None:
    async with transaction(sessions) as session:
        await factories.unit(session, handover=date(2010, 6, 1))  # long out of the 2- and 5-year warranties


async def _report(customer: FakeCustomer, category: str, urgency: str, chinese: bool = False) -> list:
    await customer.press("repair:start")
    await customer.send(Inbound(kind="contact", phone="13800138000", contact_is_own=True))
    await customer.press(f"repair:cat:{category}")
    await customer.text("客厅墙上有一条裂缝" if chinese else "A crack runs across the living room wall")
    await customer.press("repair:photos:done")
    await customer.press(f"repair:urg:{urgency}")
    return await customer.text("随时可以" if chinese else "any time")


async def test_the_repair_flow_files_the_design_life_structure_category(sessions, frozen_clock) -> None:
    await _owner(sessions)
    customer = FakeCustomer(sessions, user_id=7302)
    replies = await _report(customer, "structure", "normal")
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
    assert ticket.category == "structure" and ticket.warranty_status == "in"  # design life: always in warranty
    assert "the repair is free" in replies[0].text


async def test_the_emergency_promise_follows_the_emergency_policy(sessions, frozen_clock) -> None:
    await _owner(sessions)
    customer = FakeCustomer(sessions, user_id=7303)
    replies = await _report(customer, "plumbing", "emergency")
    assert "we will call you by Mon 2 Mar, 10:00" in replies[0].text  # the built-in hour, around the clock
    async with transaction(sessions) as session:
        await sla.upsert_policy(session, kind="repair", category=None, priority="emergency",
                                first_response_minutes=30, resolve_minutes=480, business_hours=False)
    other = FakeCustomer(sessions, user_id=7304, language_code="zh-hans")
    replies = await _report(other, "plumbing", "emergency", chinese=True)
    text = next(r.text for r in replies if isinstance(r, Say))
    assert "我们将在 3月2日 周一 09:30 之前联系您" in text and "within the hour" not in text
