"""The same dialogs for a web chat visitor: replies go to the visitor's web mailbox, a typed phone is the visitor's
word (it books a viewing but never verifies an owner), and nothing of Telegram's applies to them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from dialogs.inbound import Inbound
from dialogs.replies import AskContact, Photo
from storage.models import Customer, OutboxMessage, Ticket, Viewing
from tests import factories
from tests.dialogs.helpers import FakeCustomer
from tests.journey_data import seed


def typed(phone: str) -> Inbound:
    """What the web chat's phone field sends: the visitor's own number by their word, not proven."""
    return Inbound(kind="contact", phone=phone, contact_is_own=True, contact_typed=True)


def tokens(reply) -> list[str]:
    return [c.token for row in getattr(reply, "choices", []) for c in row]


async def test_a_visitor_books_a_viewing_with_a_typed_phone(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    visitor = FakeCustomer(sessions, user_id=3001, channel="web")
    replies = await visitor.text("2-bedroom to rent near Wangjing under 8k from March")  # complete: cards at once
    assert isinstance(replies[-1], Photo) and "R-WJ-201" in replies[-1].caption
    replies = await visitor.press(f"book:l:{ids['R-WJ-201']}")
    assert isinstance(replies[0], AskContact)
    replies = await visitor.send(typed("+86 138 0013 8000"))
    replies = await visitor.press(tokens(replies[1])[2])
    replies = await visitor.press(tokens(replies[0])[2])
    assert replies[0].text.startswith("Booked!")
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.web_visitor_id == "visitor-3001"))
        viewing = await session.scalar(select(Viewing))
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer.id))).all()
    assert customer.channel == "web" and customer.chat_id is None and customer.telegram_user_id is None
    assert customer.phone == "13800138000" and customer.phone_verified_at is None  # typed: not verified
    assert viewing.customer_id == customer.id
    assert rows and {(row.channel, row.chat_id) for row in rows} == {("web", None)}


async def test_an_owner_typing_their_phone_files_an_unverified_repair(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        unit = await factories.unit(session, handover=date(2025, 6, 1))
    visitor = FakeCustomer(sessions, user_id=3002, channel="web")
    replies = await visitor.press("repair:start")
    assert isinstance(replies[0], AskContact)
    replies = await visitor.send(typed("138 0013 8000"))
    assert "owner not yet verified" in replies[0].text and "Sunny Garden 3-1201" in replies[0].text
    assert "repair:cat:plumbing" in tokens(replies[1])  # one home: straight to what needs repairing
    await visitor.press("repair:cat:plumbing")
    await visitor.text("The kitchen tap drips")
    await visitor.press("repair:photos:done")
    await visitor.press("repair:urg:normal")
    replies = await visitor.press("repair:acc:any")
    assert "R-2026-000001" in replies[0].text and "owner not yet verified" in replies[0].text
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        customer = await session.scalar(select(Customer).where(Customer.web_visitor_id == "visitor-3002"))
        linked = await session.scalar(select(Customer.phone_verified_at).where(Customer.id == customer.id))
    assert ticket.needs_verification and ticket.unit_id == unit.id and ticket.customer_id == customer.id
    assert linked is None


async def test_a_typed_phone_of_nobody_is_offered_a_complaint(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        await factories.unit(session)
    visitor = FakeCustomer(sessions, user_id=3003, channel="web")
    await visitor.press("repair:start")
    replies = await visitor.send(typed("13900000000"))
    assert "could not find" in replies[0].text


async def test_another_homes_unit_button_stays_refused_for_an_unverified_visitor(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        await factories.unit(session)
        other = await factories.unit(session, unit_no="0808", phone="13911112222")
    visitor = FakeCustomer(sessions, user_id=3004, channel="web")
    await visitor.press("repair:start")
    await visitor.send(typed("13800138000"))
    replies = await visitor.press(f"repair:unit:{other.id}")
    assert replies[0].text.startswith("This button has expired")


async def test_a_visitor_cannot_record_a_viewing_outcome_for_an_agent_without_telegram(sessions, frozen_clock):
    ids = await seed(sessions, agent_chat_id=None)
    async with sessions() as session, session.begin():
        session.add(Customer(telegram_user_id=2105, chat_id=2105, first_name="Hui", phone="13900002105"))
    hui = FakeCustomer(sessions, user_id=2105)
    replies = await hui.press(f"book:d:{ids['R-WJ-201']}:20260302")
    await hui.press(tokens(replies[0])[0])
    async with sessions() as session:
        viewing = await session.scalar(select(Viewing))
    frozen_clock.advance(hours=3)
    visitor = FakeCustomer(sessions, user_id=3005, channel="web")
    replies = await visitor.press(f"vw:o:{viewing.id}:offer")
    assert replies[0].text.startswith("This button has expired")
