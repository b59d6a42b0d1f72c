"""Homes in the console: service staff browse units, correct the owner and handover date, and link a customer as
the verified owner by hand (audited); the "owner not yet verified" and "warranty unknown" flags then clear."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from storage.db import transaction
from storage.models import AuditLog, CustomerUnit, Staff, Ticket, TicketEvent, Unit
from storage.repositories import customers
from storage.services import tickets
from tests import factories
from tests.staff_console.conftest import sign_in
from tests.staff_console.page_tables import rows
from tests.workplace import SETTINGS


async def _home_with_flagged_tickets(sessions):
    """A home without a handover date; its owner typed their phone in the web chat and filed a repair (owner not
    yet verified, warranty unknown) and a complaint naming no home; a stranger filed a repair on it too."""
    async with transaction(sessions) as session:
        home = await factories.unit(session, project="Lakeside", building="7", unit_no="0602", phone="13900000602",
                                    handover=None)
        await factories.unit(session, project="Hillview", building="1", unit_no="0101", phone="13900000101")
        owner, _ = await customers.get_or_create(session, channel="web", external_id="visitor-602",
                                                 first_name="Wang")
        owner.phone = "13900000602"
        stranger = await factories.customer(session)
        repair = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=owner.id,
                                             unit_id=home.id, needs_verification=True, settings=SETTINGS)
        complaint = await tickets.create_ticket(session, kind="complaint", category="service_attitude",
                                                customer_id=owner.id, needs_verification=True, settings=SETTINGS)
        other = await tickets.create_ticket(session, kind="repair", category="electrical", customer_id=stranger.id,
                                            unit_id=home.id, needs_verification=True, settings=SETTINGS)
    return home, owner, repair, complaint, other


async def _ticket(sessions, ticket_id: int) -> Ticket:
    async with sessions() as session:
        found = await session.get(Ticket, ticket_id)
        assert found is not None
        return found


async def test_service_staff_verify_an_owner_by_hand_and_set_the_handover_and_the_flags_clear(client, team,
                                                                                             sessions):
    home, owner, repair, complaint, other = await _home_with_flagged_tickets(sessions)
    assert (repair.needs_verification, repair.warranty_status) == (True, "unknown")
    csrf = await sign_in(client, "service@example.com")

    listed = rows(await (await client.get("/units")).text(), "units")
    assert [(row.cells[0], row.cells[1], row.cells[2], row.cells[6], row.cells[7]) for row in listed] == [
        ("Hillview", "1", "0101", "0", ""), ("Lakeside", "7", "0602", "0", "2")]
    flagged = rows(await (await client.get("/units?flag=flagged")).text(), "units")
    assert [row.attrs["data-unit"] for row in flagged] == [str(home.id)]
    assert [row.cells[2] for row in rows(await (await client.get("/units?q=0602")).text(), "units")] == ["0602"]

    page = await (await client.get(f"/units/{home.id}")).text()
    assert [row.cells[0].split(" ·")[0] for row in rows(page, "candidates")] == [f"Wang #{owner.id}"]
    assert rows(page, "candidates")[0].cells[0].endswith("13900000602 Link as verified owner")
    assert {row.attrs["data-ticket"]: row.cells[3] for row in rows(page, "unit-tickets")} == {
        repair.number: "owner not yet verified", complaint.number: "owner not yet verified",
        other.number: "owner not yet verified"}

    linked = await client.post(f"/units/{home.id}/owners", data={"customer_id": str(owner.id), "csrf_token": csrf},
                               allow_redirects=False)
    assert linked.status == 303 and linked.headers["Location"] == f"/units/{home.id}"
    page = await (await client.get(f"/units/{home.id}")).text()
    assert [row.attrs["data-customer"] for row in rows(page, "owners")] == [str(owner.id)]
    assert f"Customer #{owner.id} is now the verified owner of this home." in page
    assert (await _ticket(sessions, repair.id)).needs_verification is False
    assert (await _ticket(sessions, complaint.id)).needs_verification is False
    assert (await _ticket(sessions, other.id)).needs_verification is True  # someone else's word is still unchecked
    async with sessions() as session:
        link = await session.scalar(select(CustomerUnit).where(CustomerUnit.unit_id == home.id))
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "owner_verified"))
        events = (await session.scalars(select(TicketEvent).where(TicketEvent.kind == "owner_verified")
                                        .order_by(TicketEvent.ticket_id))).all()
    assert link is not None and link.customer_id == owner.id
    assert (audit.staff_id, audit.target_type, audit.target_id) == (team.service.id, "unit", home.id)
    assert audit.details["customer_id"] == owner.id and audit.details["by_hand"] is True
    assert sorted(audit.details["tickets"]) == sorted([repair.number, complaint.number])
    assert [(e.ticket_id, e.actor_staff_id) for e in events] == [(repair.id, team.service.id),
                                                                (complaint.id, team.service.id)]

    saved = await client.post(f"/units/{home.id}", data={"owner_name": "Wang Fang", "owner_phone": "+86 139 0000 0602",
                                                         "handover_date": "2025-03-01", "csrf_token": csrf},
                              allow_redirects=False)
    assert saved.status == 303
    async with sessions() as session:
        unit = await session.get(Unit, home.id)
        edit = await session.scalar(select(AuditLog).where(AuditLog.action == "unit_edit"))
    assert (unit.owner_name, unit.owner_phone, unit.handover_date) == ("Wang Fang", "13900000602", date(2025, 3, 1))
    assert edit.details == {"owner_name": ["Owner", "Wang Fang"], "handover_date": [None, "2025-03-01"]}
    assert (await _ticket(sessions, repair.id)).warranty_status == "in"
    assert (await _ticket(sessions, other.id)).warranty_status == "in"
    assert (await _ticket(sessions, complaint.id)).warranty_status == "unknown"  # complaints have no warranty
    page = await (await client.get(f"/units/{home.id}")).text()
    assert {row.attrs["data-ticket"]: row.cells[2] for row in rows(page, "unit-tickets")}[repair.number] == \
        "in warranty"
    no_handover = rows(await (await client.get("/units?flag=no_handover")).text(), "units")
    assert [row.cells for row in no_handover] == [["No homes match these filters."]]
    ticket_page = await (await client.get(f"/tickets/{repair.id}")).text()
    assert 'id="unit-link"' in ticket_page and "warranty decided" in ticket_page

    removed = await client.post(f"/units/{home.id}/owners/{owner.id}/remove", data={"csrf_token": csrf},
                                allow_redirects=False)
    assert removed.status == 303
    async with sessions() as session:
        assert await session.scalar(select(CustomerUnit).where(CustomerUnit.unit_id == home.id)) is None
        assert await session.scalar(select(AuditLog.action).where(AuditLog.action == "owner_unlinked"))


async def test_unit_forms_refuse_with_a_clear_message_in_the_staff_members_language(client, team, sessions):
    home, owner, *_ = await _home_with_flagged_tickets(sessions)
    csrf = await sign_in(client, "service@example.com")
    bad_phone = await client.post(f"/units/{home.id}", data={"owner_name": "W", "owner_phone": "12",
                                                             "handover_date": "", "csrf_token": csrf})
    assert bad_phone.status == 400
    assert "Not saved: owner_phone 12 is not a phone number (7 to 15 digits)." in await bad_phone.text()
    nobody = await client.post(f"/units/{home.id}/owners", data={"customer_id": "999999", "csrf_token": csrf})
    assert nobody.status == 400 and "Not linked: no such customer." in await nobody.text()
    empty = await client.post(f"/units/{home.id}/owners", data={"customer_id": "x", "csrf_token": csrf})
    assert empty.status == 400 and "Give the number of the customer who owns this home." in await empty.text()
    missing = await client.post("/units/999999", data={"owner_name": "W", "owner_phone": "13900000602",
                                                       "handover_date": "", "csrf_token": csrf})
    assert missing.status == 404

    async with transaction(sessions) as session:
        await session.execute(update(Staff).where(Staff.id == team.service.id).values(language="zh"))
    bad_date = await client.post(f"/units/{home.id}", data={"owner_name": "W", "owner_phone": "13900000602",
                                                            "handover_date": "2025-13-01", "csrf_token": csrf})
    page = await bad_date.text()
    assert bad_date.status == 400
    assert "未保存：交房日期为 2025-13-01；应为 YYYY-MM-DD 格式的日期。" in page
    assert 'name="handover_date" type="date" value="2025-13-01"' in page  # what was typed is kept to correct
    unlinked = await client.post(f"/units/{home.id}/owners/{owner.id}/remove", data={"csrf_token": csrf})
    assert "该客户未关联到这套房屋" in await unlinked.text()
    async with sessions() as session:
        unit = await session.get(Unit, home.id)
    assert (unit.owner_phone, unit.handover_date) == ("13900000602", None)


async def test_agents_do_not_manage_homes(client, team, sessions):
    home, *_ = await _home_with_flagged_tickets(sessions)
    await sign_in(client, "agent@example.com")
    assert (await client.get("/units", allow_redirects=False)).status == 403
    assert (await client.get(f"/units/{home.id}", allow_redirects=False)).status == 403
