"""A staff member's page: working hours and time off (admins), a technician's areas, skills and level (admins and
service team leads), work history; the technicians' list. Forms refuse bad values with a reason in the staff
member's language and change nothing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import select

from storage.db import transaction
from storage.models import AuditLog, Customer, Project, Staff, StaffTimeOff, Survey, Ticket
from storage.services import viewings
from tests.staff_console.conftest import console_settings, sign_in

WEEK = {"mon": "09:00-12:00, 13:00-18:00", "tue": "09:00-18:00", "wed": "", "thu": "", "fri": "10:00-16:00",
        "sat": "", "sun": ""}


def _cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells in the table with this id."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[-1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in rows]


def _flagged(staff_page: str) -> dict[str, bool]:
    """Each row of the staff list: is the person flagged as having no working hours?"""
    rows = re.findall(r'<input name="name" value="([^"]+)".*?<span>(.*?)</span>', staff_page, re.S)
    return {name: 'class="no-hours"' in cell for name, cell in rows}


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


async def test_admin_sets_an_agents_hours_and_time_off_and_slots_follow(client, team, sessions, frozen_clock):
    token = await sign_in(client, "admin@example.com")
    listing = await (await client.get("/staff")).text()
    assert _flagged(listing) == {"Alan Agent": True, "Bea Agent": True, "Ada Admin": False, "Sam Service": False}
    page = await (await client.get(f"/staff/{team.agent.id}")).text()
    assert 'id="viewing-status" class="flash error"' in page  # a new agent has no hours: nobody can book them
    saved = await client.post(f"/staff/{team.agent.id}/hours", data={**WEEK, "csrf_token": token},
                              allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"] == f"/staff/{team.agent.id}"
    async with sessions() as session:
        agent = await session.get(Staff, team.agent.id)
        assert agent.working_hours == {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "18:00"]],
                                       "fri": [["10:00", "16:00"]]}
        tuesday = await viewings.free_slots(session, agent.id, on_day=date(2026, 3, 3), settings=console_settings())
    assert len(tuesday) == 18  # 09:00 .. 17:30
    page = await (await client.get(f"/staff/{team.agent.id}")).text()
    assert _value(page, "mon") == "09:00-12:00, 13:00-18:00" and _value(page, "wed") == ""
    assert 'id="viewing-status" class="muted"' in page
    listing = await (await client.get("/staff")).text()
    assert _flagged(listing) == {"Alan Agent": False, "Bea Agent": True, "Ada Admin": False, "Sam Service": False}

    away = await client.post(f"/staff/{team.agent.id}/time-off",
                             data={"first_day": "2026-03-03", "last_day": "2026-03-06", "reason": "Annual leave",
                                   "csrf_token": token}, allow_redirects=False)
    assert away.status == 303
    async with sessions() as session:
        assert await viewings.free_slots(session, team.agent.id, on_day=date(2026, 3, 3),
                                         settings=console_settings()) == []
        assert await viewings.free_slots(session, team.agent.id, on_day=date(2026, 3, 9),
                                         settings=console_settings())
        row = await session.scalar(select(StaffTimeOff))
    # Whole local days: Shanghai midnight of the 3rd to midnight after the 6th.
    assert row.starts_at.replace(tzinfo=UTC) == datetime(2026, 3, 2, 16, tzinfo=UTC)
    assert row.ends_at.replace(tzinfo=UTC) == datetime(2026, 3, 6, 16, tzinfo=UTC)
    page = await (await client.get(f"/staff/{team.agent.id}")).text()
    assert _cells(page, "time-off-table")[0][:3] == ["Mar 3, 2026", "Mar 6, 2026", "Annual leave"]

    removed = await client.post(f"/staff/{team.agent.id}/time-off/{row.id}/delete", data={"csrf_token": token},
                                allow_redirects=False)
    assert removed.status == 303
    async with sessions() as session:
        assert await session.scalar(select(StaffTimeOff)) is None
        actions = (await session.scalars(select(AuditLog.action).where(AuditLog.target_type == "staff"))).all()
    assert {"staff_hours", "staff_time_off", "staff_time_off_removed"} <= set(actions)


async def test_bad_hours_are_refused_with_the_reason_and_change_nothing(client, team, sessions, frozen_clock):
    token = await sign_in(client, "admin@example.com")
    for hours, reason in (({"mon": "9-18"}, "Monday: 9-18 is not a time range like 09:00-18:00"),
                          ({"tue": "18:00-09:00"}, "Tuesday: 18:00-09:00 ends before it starts"),
                          ({"wed": "09:00-13:00, 12:00-18:00"}, "Wednesday: the time ranges overlap"),
                          ({"thu": "25:00-26:00"}, "Thursday: 25:00-26:00 is not a time range")):
        response = await client.post(f"/staff/{team.agent.id}/hours", data={**hours, "csrf_token": token})
        html = await response.text()
        assert response.status == 400
        error = re.search(r'id="form-error">([^<]*)<', html)
        assert error and error.group(1).startswith(reason), html
        day, typed = next(iter(hours.items()))
        assert _value(html, day) == typed  # what was typed comes back to be corrected
    async with sessions() as session:
        assert (await session.get(Staff, team.agent.id)).working_hours == {}
    bad_dates = await client.post(f"/staff/{team.agent.id}/time-off", data={
        "first_day": "2026-03-10", "last_day": "2026-03-09", "csrf_token": token})
    assert bad_dates.status == 400 and "the time off ends before it starts" in await bad_dates.text()
    not_a_date = await client.post(f"/staff/{team.agent.id}/time-off", data={"first_day": "soon", "csrf_token": token})
    assert not_a_date.status == 400 and "the first day is not a date like 2026-03-01" in await not_a_date.text()
    async with sessions() as session:
        assert await session.scalar(select(StaffTimeOff)) is None


async def test_refusals_in_chinese(client, team, sessions, frozen_clock):
    async with transaction(sessions) as session:
        (await session.get(Staff, team.admin.id)).language = "zh"
    token = await sign_in(client, "admin@example.com")
    response = await client.post(f"/staff/{team.agent.id}/hours", data={"fri": "18:00-09:00", "csrf_token": token})
    assert response.status == 400
    assert re.search(r'id="form-error">周五：18:00-09:00 的结束时间早于开始时间<', await response.text())
    skill = await client.post(f"/staff/{team.service.id}/technician",
                              data={"areas": "Wangjing", "skills": "plumbing", "level": "9", "csrf_token": token})
    assert skill.status == 400 and "级别须为 1 到 5 的整数" in await skill.text()
    page = await (await client.get(f"/staff/{team.agent.id}")).text()
    assert "<h2>工作时间</h2>" in page and "周一" in page


async def test_service_lead_edits_a_technician_others_may_only_look(client, team, sessions, make_client,
                                                                    frozen_clock):
    async with transaction(sessions) as session:
        lead = Staff(email="lead@example.com", name="Lei Lead", role="service", is_team_lead=True,
                     password_hash=(await session.get(Staff, team.service.id)).password_hash)
        session.add(lead)
        session.add(Project(name="Sunny Garden", district_name="Chaoyang"))
    token = await sign_in(client, "lead@example.com")
    listing = await (await client.get("/technicians")).text()
    rows = _cells(listing, "technicians")
    assert [row[0] for row in rows] == ["Lei Lead (lead)", "Sam Service"]
    saved = await client.post(f"/staff/{team.service.id}/technician", data=[
        ("areas", "Sunny Garden; Wangjing，Sunny garden"), ("skills", "plumbing"), ("skills", "electrical"),
        ("level", "4"), ("csrf_token", token)], allow_redirects=False)
    assert saved.status == 303
    async with sessions() as session:
        tech = await session.get(Staff, team.service.id)
        assert tech.service_areas == ["Sunny Garden", "Wangjing"] and tech.skills == ["plumbing", "electrical"]
        assert tech.level == 4
    page = await (await client.get(f"/staff/{team.service.id}")).text()
    assert 'id="unknown-areas"' in page and "Wangjing" in page.split('id="unknown-areas"')[1].split("</p>")[0]
    assert re.search(r'value="plumbing" checked', page) and not re.search(r'value="equipment" checked', page)
    bad = await client.post(f"/staff/{team.service.id}/technician",
                            data={"areas": "x", "skills": "juggling", "level": "2", "csrf_token": token})
    assert bad.status == 400 and "unknown skill juggling" in await bad.text()
    # A lead edits technicians only; agents' pages are not theirs.
    assert (await client.get(f"/staff/{team.agent.id}")).status == 403
    assert (await client.post(f"/staff/{team.agent.id}/technician", data={
        "areas": "x", "level": "2", "csrf_token": token})).status == 403
    assert (await client.post(f"/staff/{team.service.id}/hours", data={"csrf_token": token})).status == 403

    plain = await make_client()
    plain_token = await sign_in(plain, "service@example.com")
    page = await (await plain.get(f"/staff/{lead.id}")).text()
    assert 'id="technician-data"' in page and 'id="technician-form"' not in page
    refused = await plain.post(f"/staff/{lead.id}/technician",
                               data={"areas": "x", "level": "2", "csrf_token": plain_token})
    assert refused.status == 403


async def test_work_history_counts_recent_tickets_and_average_survey(client, team, sessions, frozen_clock):
    async with transaction(sessions) as session:
        customer = Customer(telegram_user_id=1, chat_id=1, first_name="Li")
        session.add(customer)
        await session.flush()
        statuses = ("closed", "resolved", "in_progress", "closed")
        made = []
        for n, status in enumerate(statuses):
            ticket = Ticket(number=f"R-{n}", kind="repair", category="plumbing", status=status,
                            customer_id=customer.id, assignee_id=team.service.id)
            session.add(ticket)
            await session.flush()
            made.append(ticket)
        session.add_all([Survey(subject_type="ticket", subject_id=made[0].id, customer_id=customer.id, score=5),
                         Survey(subject_type="ticket", subject_id=made[1].id, customer_id=customer.id, score=4),
                         Survey(subject_type="ticket", subject_id=made[2].id, customer_id=customer.id)])
        session.add(Ticket(number="R-other", kind="repair", category="plumbing", status="closed",
                           customer_id=customer.id, assignee_id=team.agent.id))
    await sign_in(client, "admin@example.com")
    page = await (await client.get(f"/staff/{team.service.id}")).text()
    figures = dict(re.findall(r'<dd id="(\w+)">([^<]*)', page))
    assert figures["handled"] == "4" and figures["open"] == "1" and figures["resolved"] == "3"
    assert figures["average"].startswith("4.5 / 5 (2 answered)")
    assert sorted(row[0] for row in _cells(page, "recent-tickets")) == ["R-0", "R-1", "R-2", "R-3"]


async def test_a_leads_edit_reorders_the_tickets_assignment_suggestions(client, team, sessions, frozen_clock):
    from storage.services import tickets
    from tests import factories

    async with transaction(sessions) as session:
        lead = Staff(email="lead@example.com", name="Lei Lead", role="service", is_team_lead=True, team="complaints",
                     password_hash=(await session.get(Staff, team.service.id)).password_hash)
        session.add(lead)
        unit = await factories.unit(session)  # in Sunny Garden
        person = await factories.customer(session)
        first = await factories.staff(session, name="Pipe Pan", skills=["plumbing"], areas=["Sunny Garden"], level=2)
        second = await factories.staff(session, name="Wire Wu", skills=["electrical"], areas=["Haidian"], level=2)
        ticket = await tickets.create_ticket(session, kind="repair", category="electrical", customer_id=person.id,
                                             unit_id=unit.id, settings=console_settings())

    def suggested(html: str) -> list[str]:
        return re.findall(r'<option value="\d+">★ ([^—<]+?) —', html)

    token = await sign_in(client, "lead@example.com")
    before = suggested(await (await client.get(f"/tickets/{ticket.id}")).text())
    assert before.index("Pipe Pan") < before.index("Wire Wu")  # Pipe Pan covers the project
    saved = await client.post(f"/staff/{second.id}/technician", data=[
        ("areas", "Sunny Garden"), ("skills", "electrical"), ("level", "3"), ("csrf_token", token)],
        allow_redirects=False)
    assert saved.status == 303
    after = suggested(await (await client.get(f"/tickets/{ticket.id}")).text())
    assert after[0] == "Wire Wu" and after.index("Wire Wu") < after.index("Pipe Pan")
    assert first.id != second.id
