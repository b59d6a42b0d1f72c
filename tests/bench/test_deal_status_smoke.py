"""bench/deal_status.py keeps working: its owners are seeded linked to their chats, and one answers in process."""

from __future__ import annotations

from sqlalchemy import func, select

from bench import deal_status as bench
from dialogs.engine import Identity, process
from dialogs.inbound import Inbound
from storage.db import session_factory
from storage.models import Customer, Deal, OutboxMessage
from storage.unit_of_work import Actor
from tests.workplace import workplace_for


async def test_seeded_owners_get_their_status(engine) -> None:
    await bench.seed(engine, 3)
    sessions = session_factory(engine)
    async with sessions() as session:
        linked = await session.scalar(select(func.count()).select_from(Deal).where(Deal.customer_id.is_not(None)))
        owners = await session.scalar(select(func.count()).select_from(Customer).where(Customer.has_deal.is_(True)))
    assert (linked, owners) == (3, 3)
    chat = bench.FIRST_CHAT + 1
    async with workplace_for(sessions).open(Actor.customer()) as work:
        await process(work, Identity("telegram", str(chat), chat, "Owner"), Inbound("text", text=bench.QUESTIONS[0]))
    async with sessions() as session:
        reply = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == chat))
    assert "Contract HT-000001" in reply.payload["text"] and "Loan: documents requested" in reply.payload["text"]
