"""Staff merge a web chat visitor into the same person's Telegram customer from the customer page."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import AuditLog, Conversation, Customer
from storage.repositories import conversations, customers
from tests.staff_console.conftest import sign_in


async def test_an_agent_merges_a_web_visitor_into_a_telegram_customer(client, team, sessions) -> None:
    async with transaction(sessions) as session:
        telegram, _ = await customers.get_or_create(session, telegram_user_id=77, chat_id=77, first_name="Li")
        visitor, _ = await customers.get_or_create(session, channel="web", external_id="visitor-77")
        await conversations.current(session, visitor)
    csrf = await sign_in(client, "agent@example.com")
    page = await (await client.get(f"/customers/{visitor.id}")).text()
    assert 'id="merge"' in page and "channel-web" in page
    assert 'id="merge"' not in await (await client.get(f"/customers/{telegram.id}")).text()

    wrong = await client.post(f"/customers/{telegram.id}/merge", data={"into": str(visitor.id), "csrf_token": csrf},
                              allow_redirects=False)
    assert wrong.status == 303 and wrong.headers["Location"] == f"/customers/{telegram.id}"
    merged = await client.post(f"/customers/{visitor.id}/merge", data={"into": str(telegram.id), "csrf_token": csrf},
                               allow_redirects=False)
    assert merged.status == 303 and merged.headers["Location"] == f"/customers/{telegram.id}"
    assert "Merged: web visitor" in await (await client.get(f"/customers/{telegram.id}")).text()
    async with sessions() as session:
        assert await session.get(Customer, visitor.id) is None
        owners = set((await session.scalars(select(Conversation.customer_id))).all())
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "customer_merge"))
    assert owners == {telegram.id} and audit.staff_id == team.agent.id
