"""The customers search filters tags in the database on every backend, so paging covers every customer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from storage import clock
from storage.db import transaction
from storage.models import Customer
from storage.repositories import customers


async def test_tag_filter_and_paging_in_sql(any_sessions) -> None:
    now = clock.now()
    async with transaction(any_sessions) as session:
        await session.execute(insert(Customer), [
            {"telegram_user_id": 800_000 + n, "chat_id": 800_000 + n, "first_name": f"P{n}", "phone": f"1390000{n:04d}",
             "tags": ["vip", "lead"] if n % 200 == 199 else ["lead"] if n % 2 else [], "language": "en",
             "channel": "telegram", "last_seen_at": now - timedelta(minutes=n), "created_at": now, "updated_at": now}
            for n in range(700)])
    async with any_sessions() as session:
        vip, total = await customers.search(session, tag="vip", per_page=2)
        assert total == 3 and [c.first_name for c in vip] == ["P199", "P399"]
        rest, _ = await customers.search(session, tag="vip", page=2, per_page=2)
        assert [c.first_name for c in rest] == ["P599"]
        leads, total = await customers.search(session, tag="lead", page=4, per_page=100)
        assert total == 350 and len(leads) == 50 and leads[-1].first_name == "P699"
        assert (await customers.search(session, tag="le"))[1] == 0  # a whole tag, not a fragment
        found, total = await customers.search(session, query="13900000599", tag="vip")
        assert total == 1 and found[0].first_name == "P599"
        assert (await customers.search(session, query="13900000598", tag="vip"))[1] == 0


async def test_a_search_reads_percent_and_underscore_literally(any_sessions) -> None:
    async with any_sessions() as session, session.begin():
        session.add_all([Customer(first_name="Li_Na", tags=[]), Customer(first_name="LiXNa", tags=[]),
                         Customer(first_name="Wang", tags=[])])
    async with any_sessions() as session:
        found, total = await customers.search(session, query="li_n")
        assert [c.first_name for c in found] == ["Li_Na"] and total == 1  # "_" is not "any one character"
        assert (await customers.search(session, query="%"))[1] == 0  # "%" is not "anything"
