"""Customers staff enter themselves (storage.services.customer_records) on every backend: created and edited with
their details checked, and merged into the record the same person later writes from (Telegram or the web chat)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import AuditLog, Customer, CustomerUnit, Ticket
from storage.repositories import customers
from storage.services import customer_records, tickets
from storage.services.customer_merge import MergeError, merge_customer, mergeable
from storage.services.customer_records import CustomerError, check_details
from tests import factories
from tests.workplace import SETTINGS, staff_work


async def _walk_in(session, staff_id: int, **changes: str) -> Customer:
    details = check_details(**{"first_name": "Mei", "last_name": "Chen", "phone": "139 0000 0777",
                               "gender": "female", "language": "zh", **changes})
    return await customer_records.create_customer(staff_work(session, staff_id), details, source="walk_in")


async def test_a_walk_in_merges_into_a_web_visitor_and_the_web_chat_becomes_their_channel(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        agent = await factories.staff(session, role="agent", team=None)
        home = await factories.unit(session, unit_no="0777", phone="13900000777")
        mei = await _walk_in(session, agent.id)
        session.add(CustomerUnit(customer_id=mei.id, unit_id=home.id))
        ticket = await tickets.create_ticket(session, kind="complaint", category="other", customer_id=mei.id,
                                             settings=SETTINGS)
        visitor, _ = await customers.get_or_create(session, channel="web", external_id="visitor-777")
        telegram = await factories.customer(session)
        assert mergeable(mei) and mergeable(visitor) and not mergeable(telegram)
        work = staff_work(session, agent.id)
        with pytest.raises(MergeError, match="only a web chat visitor or a customer entered by staff"):
            await merge_customer(work, telegram.id, mei.id)
        kept = await merge_customer(work, visitor.id, mei.id)
        assert kept.id == mei.id
    async with any_sessions() as session:
        mei = await session.get(Customer, mei.id)
        assert await session.get(Customer, visitor.id) is None
        assert (mei.channel, mei.web_visitor_id, mei.source, mei.phone) == ("web", "visitor-777", "walk_in",
                                                                            "13900000777")
        back, created = await customers.get_or_create(session, channel="web", external_id="visitor-777")
        assert not created and back.id == mei.id
        assert (await session.get(Ticket, ticket.id)).customer_id == mei.id
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "customer_merge"))
        assert audit.details == {"web_visitor": visitor.id, "conversations": 0}


async def test_details_are_checked_and_changes_audited(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        agent = await factories.staff(session, role="agent", team=None)
        mei = await _walk_in(session, agent.id, phone="")
        assert mei.phone is None and mei.language_chosen
        await customer_records.update_customer(staff_work(session, agent.id), mei.id,
                                               check_details(first_name="Mei", last_name="Chen", phone="",
                                                             gender="female", language="zh"))
        assert await session.scalar(select(AuditLog.id).where(AuditLog.action == "customer_edit")) is None
        with pytest.raises(CustomerError, match="no such customer"):
            await customer_records.update_customer(staff_work(session, agent.id), 10**9,
                                                   check_details(first_name="X"))
    for fields, reason in (({"first_name": "", "last_name": " "}, "a customer needs a name"),
                           ({"first_name": "M" * 129}, "a name is longer than 128 characters"),
                           ({"first_name": "M", "phone": "12-34"}, "12-34 is not a phone number (7 to 15 digits)"),
                           ({"first_name": "M", "gender": "other"}, "unknown gender other"),
                           ({"first_name": "M", "language": "fr"}, "unknown language fr")):
        with pytest.raises(CustomerError) as refused:
            check_details(**fields)
        assert str(refused.value) == reason
