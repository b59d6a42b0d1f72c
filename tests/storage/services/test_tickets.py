"""Ticket rules: numbers under concurrency, transitions, warranty, routing and assignment suggestions."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import select

from storage.models import Project, Ticket, TicketEvent
from storage.services import tickets, warranty
from tests import factories
from tests.workplace import SETTINGS, workplace_for


async def test_numbers_are_unique_and_sequential_under_concurrency(any_sessions, frozen_clock) -> None:
    async with any_sessions() as session, session.begin():
        person = await factories.customer(session)

    async def create(n: int) -> str:
        async with any_sessions() as session, session.begin():
            ticket = await tickets.create_ticket(session, kind="repair" if n % 4 else "complaint",
                                                 category="other", customer_id=person.id, settings=SETTINGS)
            return ticket.number

    numbers = await asyncio.gather(*(create(n) for n in range(24)))
    repairs = sorted(n for n in numbers if n.startswith("R-"))
    complaints = sorted(n for n in numbers if n.startswith("C-"))
    assert repairs == [f"R-2026-{i:06d}" for i in range(1, 19)]
    assert complaints == [f"C-2026-{i:06d}" for i in range(1, 7)]


async def test_transitions_table_is_enforced_and_every_change_is_an_event(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        tech = await factories.staff(session)
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="complaint", category="service_attitude",
                                             customer_id=person.id, settings=SETTINGS)
        with pytest.raises(tickets.TicketError):
            await tickets.change_status(session, ticket, "closed", staff=tech, settings=SETTINGS)
        await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)
        await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)
        with pytest.raises(tickets.TicketError, match="verify the complaint"):
            await tickets.change_status(session, ticket, "resolved", staff=tech, settings=SETTINGS)
        await tickets.verify(session, ticket, "unsubstantiated", staff=tech, note="CCTV shows a polite exchange")
        await tickets.change_status(session, ticket, "resolved", staff=tech, settings=SETTINGS)
        await tickets.change_status(session, ticket, "closed", staff=tech, settings=SETTINGS)
        with pytest.raises(tickets.TicketError):
            await tickets.change_status(session, ticket, "in_progress", staff=tech, settings=SETTINGS)
        events = (await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                        .order_by(TicketEvent.id))).all()
    moves = [(e.from_status, e.to_status, e.actor_staff_id) for e in events if e.kind == "status"]
    assert moves == [("new", "assigned", tech.id), ("assigned", "in_progress", tech.id),
                     ("in_progress", "resolved", tech.id), ("resolved", "closed", tech.id)]
    assert all(e.at is not None for e in events)
    assert ticket.team == "complaints" and ticket.closed_at is not None


async def test_warranty_periods(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        assert await warranty.ensure_defaults(session) == len(warranty.DEFAULT_MONTHS)
        assert await warranty.ensure_defaults(session) == 0
        today = date(2026, 3, 2)
        assert await warranty.status(session, date(2021, 6, 1), "waterproofing", today) == "in"  # 5 years
        assert await warranty.status(session, date(2021, 3, 1), "waterproofing", today) == "out"
        assert await warranty.status(session, date(2024, 3, 2), "plumbing", today) == "in"
        assert await warranty.status(session, date(2024, 3, 1), "plumbing", today) == "out"
        assert await warranty.status(session, date(1990, 1, 1), "structure", today) == "in"
        assert await warranty.status(session, None, "plumbing", today) == "unknown"
    assert warranty.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


async def test_complaints_route_to_the_responsible_team(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        person = await factories.customer(session)
        made = {c: await tickets.create_ticket(session, kind="complaint", category=c, customer_id=person.id,
                                               settings=SETTINGS)
                for c in ("contract_sales", "property_management", "product_quality")}
    assert {c: t.team for c, t in made.items()} == {"contract_sales": "sales", "property_management": "property",
                                                   "product_quality": "repair"}


async def test_suggestions_weigh_area_skill_level_and_load(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        unit = await factories.unit(session)
        project = await session.scalar(select(Project))
        project.district_name = "Chaoyang"
        person = await factories.customer(session)
        expert = await factories.staff(session, name="Expert", skills=["plumbing"], areas=["Sunny Garden"], level=3)
        busy = await factories.staff(session, name="Busy", skills=["plumbing"], areas=["Sunny Garden"], level=3)
        await factories.staff(session, name="District", skills=["plumbing"], areas=["Chaoyang"])
        await factories.staff(session, name="Elsewhere", skills=["electrical"], areas=["Haidian"])
        for _ in range(3):
            other = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                                settings=SETTINGS)
            other.assignee_id = busy.id
        ticket = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                             unit_id=unit.id, settings=SETTINGS)
        ranked = await tickets.suggest_assignees(session, ticket)
    names = [s.staff.name for s in ranked]
    assert names[:4] == ["Expert", "District", "Busy", "Elsewhere"]  # three open tickets cost Busy a place
    assert any("covers Sunny Garden" in r for r in ranked[0].reasons)
    assert ranked[names.index("Busy")].load == 3
    assert expert.id != busy.id and isinstance(ticket, Ticket)


async def test_new_ticket_tells_the_team_leads(sessions, frozen_clock) -> None:
    from dialogs.reminders import tick
    from storage.models import StaffNotification

    async with sessions() as session, session.begin():
        lead = await factories.staff(session, name="Sales lead", team="sales", lead=True, language="zh")
        await factories.staff(session, name="Repair lead", team="repair", lead=True)
        person = await factories.customer(session)
        await tickets.create_ticket(session, kind="complaint", category="contract_sales", customer_id=person.id,
                                    settings=SETTINGS)
    assert await tick(workplace_for(sessions)) == 1
    async with sessions() as session:
        note = await session.scalar(select(StaffNotification))
    assert note.staff_id == lead.id and note.text.startswith("新工单 C-2026-000001：合同/销售，优先级 普通")


async def test_quote_on_an_unassigned_ticket_returns_it_to_new_when_accepted(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        admin = await factories.staff(session, role="admin", team=None)
        unit = await factories.unit(session, handover=date(2018, 1, 1))
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                             unit_id=unit.id, settings=SETTINGS)
        await tickets.set_quote(session, ticket, "99", staff=admin, settings=SETTINGS)
        assert ticket.status == "waiting_customer" and ticket.warranty_status == "out"
        await tickets.accept_quote(session, ticket, person.id, settings=SETTINGS)
        assert ticket.status == "new" and ticket.quote_accepted_at is not None and ticket.sla_paused_at is None


async def test_suggestions_put_whoever_is_on_time_off_last(sessions, frozen_clock) -> None:
    from datetime import timedelta

    from storage import clock
    from storage.models import StaffTimeOff

    async with sessions() as session, session.begin():
        unit = await factories.unit(session)
        person = await factories.customer(session)
        expert = await factories.staff(session, name="Expert", skills=["plumbing"], areas=["Sunny Garden"], level=5)
        await factories.staff(session, name="Junior", skills=["plumbing"], areas=["Sunny Garden"], level=1)
        ticket = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                             unit_id=unit.id, settings=SETTINGS)
        before = [s.staff.name for s in await tickets.suggest_assignees(session, ticket)]
        now = clock.now()
        session.add(StaffTimeOff(staff_id=expert.id, starts_at=now - timedelta(hours=2),
                                 ends_at=now + timedelta(days=2)))
        await session.flush()
        during = await tickets.suggest_assignees(session, ticket)
        after = [s.staff.name for s in await tickets.suggest_assignees(session, ticket,
                                                                       now=now + timedelta(days=3))]
    assert before[:2] == ["Expert", "Junior"] and after[:2] == ["Expert", "Junior"]
    assert [s.staff.name for s in during][:2] == ["Junior", "Expert"]
    assert "on time off now" in during[1].reasons


async def test_only_the_moves_allowed_now_are_offered_and_accepted(sessions, frozen_clock) -> None:
    async with sessions() as session, session.begin():
        person = await factories.customer(session)
        agent = await factories.staff(session)
        complaint = await tickets.create_ticket(session, kind="complaint", category="service_attitude",
                                                customer_id=person.id, needs_verification=True, settings=SETTINGS)
        # from waiting_customer "assigned" is a transition, but nobody is assigned
        await tickets.change_status(session, complaint, "waiting_customer", staff=agent, settings=SETTINGS)
        assert "assigned" not in tickets.allowed_next(complaint)
        assert "resolved" not in tickets.allowed_next(complaint)  # the complaint is not handled yet
        with pytest.raises(tickets.TicketError, match="assign someone first"):
            await tickets.change_status(session, complaint, "assigned", staff=agent, settings=SETTINGS)
        with pytest.raises(tickets.TicketError, match="verify the complaint"):  # handled first (issue 10 §4)
            await tickets.change_status(session, complaint, "resolved", staff=agent, settings=SETTINGS)
        complaint.verification, complaint.responsible_party, complaint.root_cause = "verified", "sales", "process"
        assert "resolved" in tickets.allowed_next(complaint)

        repair = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                             settings=SETTINGS)
        assert "in_progress" in tickets.allowed_next(repair)
        await tickets.set_quote(session, repair, "200", staff=agent, settings=SETTINGS)
        assert "in_progress" not in tickets.allowed_next(repair)  # a quote waits for the customer
        with pytest.raises(tickets.TicketError, match="not accepted the quote"):
            await tickets.change_status(session, repair, "in_progress", staff=agent, settings=SETTINGS)
        await tickets.accept_quote(session, repair, person.id, settings=SETTINGS)
        assert repair.status == "new" and "in_progress" in tickets.allowed_next(repair)
        assert set(tickets.allowed_next(repair)) <= set(tickets.TRANSITIONS["new"])
