"""The tickets board and reports in the console (HTTP level; the browser suite is test_browser.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from sqlalchemy import select

from storage.db import transaction
from storage.models import AuditLog, Reminder, Ticket, TicketEvent
from storage.services import tickets
from tests import factories
from tests.staff_console.conftest import sign_in
from tests.staff_console.structure import Page
from tests.workplace import SETTINGS


async def _ticket(sessions, *, handover: date = date(2025, 6, 1), category: str = "plumbing") -> int:
    async with transaction(sessions) as session:
        unit = await factories.unit(session, handover=handover)
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="repair", category=category, customer_id=person.id,
                                             unit_id=unit.id, description="Tap <b>drips</b>", settings=SETTINGS)
        return ticket.id


async def test_service_staff_work_a_ticket_from_the_board(client, team, sessions) -> None:
    ticket_id = await _ticket(sessions, handover=date(2019, 1, 1))
    async with transaction(sessions) as session:
        me = await session.get(type(team.service), team.service.id)
        me.skills, me.service_areas = ["plumbing"], ["Sunny Garden"]
    token = await sign_in(client, "service@example.com")
    board = await (await client.get("/tickets")).text()
    assert f'data-ticket="{ticket_id}"' in board
    page = await (await client.get(f"/tickets/{ticket_id}")).text()
    assert "Tap &lt;b&gt;drips&lt;/b&gt;" in page and "★ Sam Service" in page
    response = await client.post(f"/tickets/{ticket_id}/assign", data={"staff_id": team.service.id,
                                                                      "csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    await client.post(f"/tickets/{ticket_id}/status", data={"to": "in_progress", "csrf_token": token})
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket.status == "assigned"  # out of warranty: no work before the quote is accepted
    await client.post(f"/tickets/{ticket_id}/quote", data={"amount": "280", "csrf_token": token})
    await client.post(f"/tickets/{ticket_id}/note", data={"text": "Bring a new cartridge", "csrf_token": token})
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        kinds = [e.kind for e in (await session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id))).all()]
        quote = await session.scalar(select(Reminder).where(Reminder.kind == "ticket_update",
                                                            Reminder.payload["what"].as_string() == "quote"))
        audits = (await session.scalars(select(AuditLog.action).where(AuditLog.target_type == "ticket"))).all()
    assert ticket.assignee_id == team.service.id and ticket.status == "waiting_customer"
    assert ticket.first_responded_at is not None
    assert {"assigned", "quote", "note"} <= set(kinds)
    assert quote is not None and set(audits) >= {"ticket_assign", "ticket_quote", "ticket_note"}
    mine = await (await client.get("/tickets?assignee=me")).text()
    assert f'data-ticket="{ticket_id}"' in mine


async def test_reports_page_and_csv(client, team, sessions) -> None:
    ticket_id = await _ticket(sessions)
    async with transaction(sessions) as session:
        ticket = await session.get(Ticket, ticket_id)
        await tickets.assign(session, ticket, team.service.id, by=team.admin, settings=SETTINGS)
        await tickets.change_status(session, ticket, "resolved", staff=team.service, settings=SETTINGS)
    await sign_in(client, "admin@example.com")
    page = await (await client.get("/reports?from=2020-01-01&to=2030-12-31")).text()
    assert "<svg" in page and "Tickets by category" in page and "Sam Service" in page
    response = await client.get("/reports.csv?from=2020-01-01&to=2030-12-31")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert ["tickets by category", "Plumbing", "1", ""] in rows  # words, not stored codes
    assert any(r[0] == "staff" and r[1] == "Sam Service" for r in rows)


async def test_reports_are_for_admins(client, team) -> None:
    await sign_in(client, "service@example.com")
    response = await client.get("/reports", allow_redirects=False)
    assert response.status == 403  # signed in with the wrong role: refused, never sent to the sign-in page


async def test_admin_edits_warranty_sla_and_holidays(client, team, sessions, frozen_clock) -> None:
    from storage.models import Holiday, SlaPolicy, WarrantyPeriod

    token = await sign_in(client, "admin@example.com")
    html = await (await client.get("/tickets/settings")).text()
    page = Page(html)
    # The page's frame holds no form: the title is text, the body's data attribute a name, the head only links.
    [title] = page.find_all("title")
    assert title.text == "Service settings · Homedesk console" and not title.children
    [body] = page.find_all("body")
    assert body.attrs["data-page"] == "service-settings"
    [head] = page.find_all("head")
    assert not head.find_all("form") and not head.find_all("input")
    assert "&lt;form" not in html and "<form" not in html.split("<body", 1)[0]
    # Each form once, in its own section.
    for action, section in (("/tickets/settings/revisits", "periodic-revisits"),
                            ("/tickets/settings/sla", "sla-policies"), ("/tickets/settings/holidays", "holidays")):
        [form] = page.forms(action)
        assert form.ancestor_ids[-1] == section, action
        assert [i.attrs["value"] for i in form.find_all("input", type="hidden")] == [token]
    [revisit] = page.forms("/tickets/settings/revisits")
    assert [i.attrs.get("name") for i in revisit.find_all("input")] == ["csrf_token", "day", "tag"]
    rows = {tr.find_all("td")[0].text: tr for tr in page.by_id("warranty-periods").find_all("tr") if tr.find_all("td")}
    assert {"Waterproofing / leak (default)", "Structure (design life) (default)"} <= set(rows)
    assert [o.attrs["value"] for o in page.by_id("sla-form").find_all("select")[0].find_all("option")] == [
        "repair", "complaint", "suggestion", "chat"]
    await client.post("/tickets/settings/warranty", data={"category": "plumbing", "months": "36", "csrf_token": token})
    await client.post("/tickets/settings/sla", data={
        "kind": "repair", "category": "electrical", "priority": "", "first_response_minutes": "120",
        "resolve_minutes": "1080", "business_hours": "1", "csrf_token": token})
    await client.post("/tickets/settings/holidays", data={"day": "2026-03-07", "name": "make-up",
                                                          "is_workday": "1", "csrf_token": token})
    bad = await client.post("/tickets/settings/sla", data={
        "kind": "repair", "category": "nope", "first_response_minutes": "1", "resolve_minutes": "1",
        "csrf_token": token})
    assert "unknown category" in await bad.text()
    chat_policy = {"kind": "chat", "category": "web", "priority": "", "first_response_minutes": "60",
                   "resolve_minutes": "600", "business_hours": "1", "csrf_token": token}
    await client.post("/tickets/settings/sla", data=chat_policy)
    bad = await client.post("/tickets/settings/sla", data={**chat_policy, "category": "plumbing"})
    assert "unknown category for this type" in await bad.text()
    async with sessions() as session:
        assert (await session.get(WarrantyPeriod, "plumbing")).months == 36
        chat = await session.scalar(select(SlaPolicy).where(SlaPolicy.kind == "chat"))
        assert (chat.category, chat.first_response_minutes) == ("web", 60)
        await session.delete(chat)
        await session.commit()
    async with sessions() as session:
        policy = await session.scalar(select(SlaPolicy))
        assert (policy.category, policy.priority, policy.resolve_minutes) == ("electrical", None, 1080)
        assert (await session.get(Holiday, date(2026, 3, 7))).is_workday
    async with transaction(sessions) as session:
        person = await factories.customer(session)
        ticket = await tickets.create_ticket(session, kind="repair", category="electrical", customer_id=person.id,
                                             settings=SETTINGS)
    assert ticket.resolve_due_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # 1080 business minutes: Tue 18:00
    await client.post("/tickets/settings/holidays/2026-03-07/delete", data={"csrf_token": token})
    async with sessions() as session:
        assert await session.get(Holiday, date(2026, 3, 7)) is None


async def test_service_settings_are_for_admins(client, team) -> None:
    token = await sign_in(client, "service@example.com")
    assert (await client.get("/tickets/settings", allow_redirects=False)).status == 403
    response = await client.post("/tickets/settings/warranty", data={"category": "plumbing", "months": "1",
                                                                     "csrf_token": token}, allow_redirects=False)
    assert response.status == 403


async def test_lead_sees_and_finishes_a_follow_up(client, team, sessions, frozen_clock) -> None:
    from storage.models import FollowUpTask, Revisit
    from storage.services import surveys

    async with transaction(sessions) as session:
        lead = await session.get(type(team.service), team.service.id)
        lead.is_team_lead = True
        person = await factories.customer(session)
        survey = await surveys.create_survey(session, subject_type="ticket", subject_id=1, customer_id=person.id)
        result = await surveys.answer(session, survey.id, score=1)
        assert result.follow_up is not None and result.follow_up.assignee_id == lead.id
    token = await sign_in(client, "service@example.com")
    page = await (await client.get("/tickets/follow-ups")).text()
    assert f'data-follow-up="{result.follow_up.id}"' in page and "Score 1/5" in page
    await client.post(f"/tickets/follow-ups/{result.follow_up.id}/done", data={"note": "Called, fixed",
                                                                              "csrf_token": token})
    async with sessions() as session:
        task = await session.get(FollowUpTask, result.follow_up.id)
    assert task.status == "done" and "Called, fixed" in task.note

    admin = await sign_in(client, "admin@example.com")
    await client.post("/tickets/settings/revisits", data={"day": "2026-04-01", "tag": "", "csrf_token": admin})
    async with sessions() as session:
        rows = (await session.scalars(select(Revisit))).all()
    assert [(r.reason, r.subject_id) for r in rows] == [("periodic", 20260401)]


async def test_an_id_beyond_64_bits_in_the_address_is_not_found(client, team) -> None:
    await sign_in(client, "service@example.com")
    response = await client.get(f"/tickets/{2**64}", allow_redirects=False)
    assert response.status == 404
