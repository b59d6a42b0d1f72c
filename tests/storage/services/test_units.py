"""Homes kept by staff (storage.services.units) on every backend: an owner verified by hand clears "owner not yet
verified" on their open tickets for the home, a handover date (from the unit page or the units import) decides
"warranty unknown" as of the day each repair was filed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage import clock
from storage.db import transaction
from storage.importers import import_units
from storage.models import AuditLog, CustomerUnit, Revisit, Ticket, TicketEvent
from storage.services import tickets, units
from storage.services.units import UnitError, check_unit
from tests import factories
from tests.workplace import SETTINGS, staff_work


async def test_verified_by_hand_then_handover_known(any_sessions, frozen_clock) -> None:
    frozen_clock.set(clock.now().replace(year=2026, month=3, day=10))
    async with transaction(any_sessions) as session:
        tech = await factories.staff(session)
        home = await factories.unit(session, unit_no="2201", phone="13900002201", handover=None)
        owner = await factories.customer(session)
        finished = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=owner.id,
                                               unit_id=home.id, needs_verification=True, settings=SETTINGS)
        finished.status = "cancelled"
        waterproofing = await tickets.create_ticket(session, kind="repair", category="waterproofing",
                                                    customer_id=owner.id, unit_id=home.id, needs_verification=True,
                                                    settings=SETTINGS)
        plumbing = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=owner.id,
                                               unit_id=home.id, settings=SETTINGS)
    async with transaction(any_sessions) as session:
        work = staff_work(session, tech.id)
        await units.link_owner(work, home.id, owner.id)
        await units.link_owner(work, home.id, owner.id)  # twice: still one link, nothing cleared twice
        assert len([event for event in work.events if event.kind == "ticket.changed"]) == 1
    async with any_sessions() as session:
        links = (await session.scalars(select(CustomerUnit).where(CustomerUnit.unit_id == home.id))).all()
        cleared = {t.id: t.needs_verification for t in (await session.scalars(select(Ticket))).all()}
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "owner_verified")
                                        .order_by(AuditLog.id))).all()
    assert len(links) == 1 and cleared == {finished.id: True, waterproofing.id: False, plumbing.id: False}
    assert [a.details["already_linked"] for a in audits] == [False, True] and audits[0].staff_id == tech.id

    # Handed over on 2023-06-01, the repairs filed on 2026-03-10: waterproofing (5 years) is covered until 2028,
    # plumbing (2 years) ended on 2025-06-01.
    frozen_clock.set(clock.now().replace(year=2026, month=3, day=11))
    async with transaction(any_sessions) as session:
        work = staff_work(session, tech.id)
        await units.update_unit(work, home.id, check_unit(owner_name="Ms Owner", owner_phone="13900002201",
                                                          handover_date="2023-06-01"))
    async with any_sessions() as session:
        decided = {t.id: t.warranty_status for t in (await session.scalars(select(Ticket))).all()}
        events = (await session.scalars(select(TicketEvent).where(TicketEvent.kind == "warranty"))).all()
        revisit = await session.scalar(select(Revisit).where(Revisit.subject_id == home.id))
    assert decided == {finished.id: "unknown", waterproofing.id: "in", plumbing.id: "out"}
    assert sorted(e.ticket_id for e in events) == [waterproofing.id, plumbing.id]
    assert {e.actor_staff_id for e in events} == {tech.id}
    assert revisit is None  # the home had no handover date when the owner was linked


async def test_the_units_import_decides_the_warranty_it_was_missing(any_sessions) -> None:
    async with transaction(any_sessions) as session:
        home = await factories.unit(session, project="Riverside", building="2", unit_no="0303",
                                    phone="13900000303", handover=None)
        owner = await factories.customer(session)
        repair = await tickets.create_ticket(session, kind="repair", category="electrical", customer_id=owner.id,
                                             unit_id=home.id, settings=SETTINGS)
    assert repair.warranty_status == "unknown"
    handed_over = clock.now().date().replace(year=clock.now().year - 3).isoformat()
    report = await import_units(any_sessions, (
        "project,building,unit_no,owner_name,owner_phone,handover_date\n"
        f"Riverside,2,0303,Zhao,13900000303,{handed_over}\n").encode())
    assert report.updated == 1 and not report.errors
    async with any_sessions() as session:
        assert (await session.get(Ticket, repair.id)).warranty_status == "out"  # electrical: 2 years


def test_unit_details_are_checked() -> None:
    assert check_unit(owner_name=" Wang ", owner_phone="+86 139 0000 0303", handover_date="2024-02-29") == \
        units.UnitDetails("Wang", "13900000303", date(2024, 2, 29))
    for phone, day, reason in (("123", "", "owner_phone 123 is not a phone number (7 to 15 digits)"),
                               ("13900000303", "29/02/2024", "handover_date is 29/02/2024; expected a date as "
                                                             "YYYY-MM-DD"),
                               ("13900000303", "1900-01-01", "the handover date 1900-01-01 is not plausible")):
        with pytest.raises(UnitError) as refused:
            check_unit(owner_name="W", owner_phone=phone, handover_date=day)
        assert str(refused.value) == reason
