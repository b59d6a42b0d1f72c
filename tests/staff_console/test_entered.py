"""Work staff enter from the customer card, over HTTP: consultations, tickets, viewings, messages; and the transfer
of a chat to a team, which its members (service staff too) see waiting and take."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import transaction
from storage.models import (
    AuditLog,
    Consultation,
    Conversation,
    CustomerUnit,
    OutboxMessage,
    Reminder,
    Staff,
    Ticket,
    Viewing,
)
from storage.services import handoff
from tests import factories
from tests.journey_data import seed
from tests.staff_console.conftest import sign_in
from tests.staff_console.helpers import waiting_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def flashes(page: str) -> list[tuple[str, str]]:
    return [(kind, html.unescape(text)) for kind, text in
            re.findall(r'<p class="flash (\w+)" role="status">(.*?)</p>', page, re.DOTALL)]


def options(page: str, form_id: str, name: str) -> list[tuple[str, str]]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.DOTALL)
    assert form, f"no form {form_id}"
    select_ = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', form.group(0), re.DOTALL)
    assert select_, f"no select {name} in {form_id}"
    return [(value, html.unescape(text).strip()) for value, text in
            re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select_.group(1), re.DOTALL)]


async def _customer(sessions, *, owner: bool = True, language: str = "en", unit_no: str = "1201"
                    ) -> tuple[int, int, int]:
    async with transaction(sessions) as session:
        person = await factories.customer(session, language=language)
        person.phone = f"1380013{unit_no}"
        home = await factories.unit(session, phone=person.phone, unit_no=unit_no)
        if owner:
            session.add(CustomerUnit(customer_id=person.id, unit_id=home.id))
        return person.id, home.id, person.chat_id or 0


async def _set(sessions, staff_id: int, **values: object) -> None:
    async with transaction(sessions) as session:
        person = await session.get(Staff, staff_id)
        for key, value in values.items():
            setattr(person, key, value)


async def _outbox(sessions, chat_id: int) -> list[str]:
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                      .order_by(OutboxMessage.id))).all()
    return [str(row.payload.get("text", "")) for row in rows]


async def test_the_card_offers_the_work_forms_in_the_staff_language(client, team, sessions) -> None:
    customer_id, unit_id, _ = await _customer(sessions)
    await _set(sessions, team.agent.id, language="zh")
    await sign_in(client, "agent@example.com")
    page = await (await client.get(f"/customers/{customer_id}")).text()
    for form in ("message-form", "consultation-form", "ticket-form", "book-form"):
        assert f'id="{form}"' in page
    assert options(page, "consultation-form", "channel") == [("phone", "电话"), ("walk_in", "到访"),
                                                             ("wechat", "微信"), ("email", "电子邮件")]
    assert [value for value, _ in options(page, "consultation-form", "topic")] == [
        "buying", "renting", "after_sales", "complaint", "other"]
    homes = options(page, "ticket-form", "unit_id")
    assert homes[0][0] == "" and homes[1][0] == str(unit_id) and "1201" in homes[1][1]
    categories = options(page, "ticket-form", "category")
    assert ("plumbing", "水管/给排水") in categories and ("service_attitude", "服务态度") in categories


async def test_a_consultation_with_a_next_step_is_logged_and_will_remind(client, team, sessions,
                                                                        frozen_clock) -> None:
    customer_id, _, _ = await _customer(sessions)
    token = await sign_in(client, "agent@example.com")
    response = await client.post(f"/customers/{customer_id}/consultations", data={
        "csrf_token": token, "channel": "walk_in", "topic": "after_sales", "summary": "Asked about <the> boiler",
        "next_step": "Call back with the terms", "due_day": "2026-03-02", "due_time": "11:00"},
        allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/customers/{customer_id}#consultations"
    async with sessions() as session:
        row = await session.scalar(select(Consultation))
        reminder = await session.scalar(select(Reminder).where(Reminder.kind == "consultation_due"))
    assert row is not None and row.staff_id == team.agent.id and row.next_step_due_at == local(2, 11)
    assert reminder is not None and reminder.recipient_staff_id == team.agent.id and reminder.due_at == local(2, 11)
    page = await (await client.get(f"/customers/{customer_id}")).text()
    line = re.search(rf'<tr id="consultation-{row.id}" data-channel="walk_in" data-topic="after_sales">(.*?)</tr>',
                     page, re.DOTALL)
    assert line is not None
    cells = re.findall(r"<td>(.*?)</td>", line.group(1), re.DOTALL)
    assert cells[1] == "walk-in" and cells[2] == "after-sales" and cells[3] == "Asked about &lt;the&gt; boiler"
    assert cells[-1] == "Alan Agent" and "Call back with the terms" in line.group(1)
    done = await client.post(f"/customers/{customer_id}/consultations/{row.id}/done", data={"csrf_token": token},
                             allow_redirects=False)
    assert done.status == 303
    async with sessions() as session:
        reminder = await session.scalar(select(Reminder).where(Reminder.kind == "consultation_due"))
    assert reminder is not None and reminder.status == "cancelled"


async def test_consultation_refusals_are_clear_and_in_the_staff_language(client, team, sessions,
                                                                         frozen_clock) -> None:
    customer_id, _, _ = await _customer(sessions)
    await _set(sessions, team.agent.id, language="zh")
    token = await sign_in(client, "agent@example.com")
    cases = [
        ({"channel": "fax", "topic": "buying", "summary": "x"}, "请选择客户联系我们的方式。"),
        ({"channel": "phone", "topic": "buying", "summary": " "}, "请简要写下咨询内容。"),
        ({"channel": "phone", "topic": "buying", "summary": "x", "next_step": "Call"}, "请为下一步设定截止时间。"),
        ({"channel": "phone", "topic": "buying", "summary": "x", "due_day": "2026-03-03"},
         "请写下这个截止时间对应的下一步。"),
        ({"channel": "phone", "topic": "buying", "summary": "x", "next_step": "Call", "due_day": "03/04/2026"},
         "截止时间不是有效的日期和时间。"),
        ({"channel": "phone", "topic": "buying", "summary": "x", "next_step": "Call", "due_day": "2026-03-01"},
         "未保存：截止时间必须在将来。"),
    ]
    for fields, message in cases:
        response = await client.post(f"/customers/{customer_id}/consultations", data={"csrf_token": token, **fields})
        assert ("error", message) in flashes(await response.text()), fields  # on the card it returns to
    async with sessions() as session:
        assert (await session.scalars(select(Consultation))).all() == []


async def test_staff_file_a_repair_and_the_customer_gets_its_number(client, team, sessions, frozen_clock) -> None:
    customer_id, unit_id, chat_id = await _customer(sessions)
    token = await sign_in(client, "agent@example.com")
    refused = await client.post(f"/customers/{customer_id}/tickets", data={
        "csrf_token": token, "kind": "repair", "category": "plumbing", "description": "Leak"})
    assert ("error", "A repair needs one of the customer's homes.") in flashes(await refused.text())
    wrong = await client.post(f"/customers/{customer_id}/tickets", data={
        "csrf_token": token, "kind": "repair", "category": "service_attitude", "unit_id": str(unit_id),
        "description": "Leak"})
    assert ("error", "Choose a category of this kind of ticket.") in flashes(await wrong.text())
    response = await client.post(f"/customers/{customer_id}/tickets", data={
        "csrf_token": token, "kind": "repair", "category": "plumbing", "unit_id": str(unit_id),
        "priority": "normal", "description": "Kitchen tap leaks", "access_window": "after 18:00"},
        allow_redirects=False)
    assert response.status == 303
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "ticket_file"))
    assert ticket is not None and response.headers["Location"] == f"/tickets/{ticket.id}"
    assert ticket.entered_by_id == team.agent.id and ticket.access_window == "after 18:00"
    assert audit is not None and audit.staff_id == team.agent.id
    texts = await _outbox(sessions, chat_id)
    assert len(texts) == 1 and f"Number: {ticket.number}." in texts[0]


async def test_staff_book_move_and_cancel_a_viewing(client, make_client, team, sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    customer_id, _, chat_id = await _customer(sessions)
    other_id, _, _ = await _customer(sessions, owner=False, unit_no="1202")
    token = await sign_in(client, "agent@example.com")
    booked = await client.post(f"/customers/{customer_id}/viewings", data={
        "csrf_token": token, "listing": "R-WJ-201", "day": "2026-03-04", "time": "10:00"}, allow_redirects=False)
    assert booked.status == 303
    async with sessions() as session:
        viewing = await session.scalar(select(Viewing))
    assert viewing is not None and viewing.starts_at == local(4, 10) and viewing.entered_by_id == team.agent.id
    assert viewing.agent_id == ids["agent"]
    taken = await client.post(f"/customers/{other_id}/viewings", data={
        "csrf_token": token, "listing": "R-WJ-201", "day": "2026-03-04", "time": "10:30"})
    (kind, text), = flashes(await taken.text())
    # The bot's rule: 10:00 plus its travel buffer blocks 09:30 to 11:00; lunch (12:00-13:00) is not worked.
    assert (kind, text) == ("error", "Not booked: this time is not free. Free times that day: 09:00, 11:00, 11:30, "
                                     "13:00, 13:30, 14:00, 14:30, 15:00")
    unknown = await client.post(f"/customers/{other_id}/viewings", data={
        "csrf_token": token, "listing": "NOPE", "day": "2026-03-04", "time": "10:30"})
    assert ("error", "No home has the reference code NOPE.") in flashes(await unknown.text())
    page = await (await client.get(f"/customers/{customer_id}")).text()
    assert f'<tr data-viewing="{viewing.id}">' in page
    admin = await make_client()
    await sign_in(admin, "admin@example.com")
    diary = await (await admin.get(f"/viewings?agent={ids['agent']}&week=2026-03-02")).text()
    assert '<span class="entered-by">booked by Alan Agent</span>' in diary
    no_time = await client.post(f"/customers/{customer_id}/viewings/{viewing.id}/reschedule", data={
        "csrf_token": token, "day": "2026-03-05", "time": "2 pm"})
    assert ("error", "Choose the new day and time.") in flashes(await no_time.text())
    moved = await client.post(f"/customers/{customer_id}/viewings/{viewing.id}/reschedule", data={
        "csrf_token": token, "day": "2026-03-05", "time": "14:00"}, allow_redirects=False)
    assert moved.status == 303
    other = await client.post(f"/customers/{other_id}/viewings/{viewing.id}/cancel", data={"csrf_token": token})
    assert other.status == 404  # not this customer's viewing
    cancelled = await client.post(f"/customers/{customer_id}/viewings/{viewing.id}/cancel",
                                  data={"csrf_token": token}, allow_redirects=False)
    assert cancelled.status == 303
    async with sessions() as session:
        stored = await session.get(Viewing, viewing.id)
    assert stored is not None and stored.status == "cancelled" and stored.starts_at == local(5, 14)
    texts = await _outbox(sessions, chat_id)
    assert [text.split(" ")[0] for text in texts] == ["Booked!", "Done:", "Your"]


async def test_a_message_reaches_the_customer_as_text(client, team, sessions) -> None:
    customer_id, _, chat_id = await _customer(sessions)
    token = await sign_in(client, "agent@example.com")
    empty = await client.post(f"/customers/{customer_id}/message", data={"csrf_token": token, "text": " "})
    assert ("error", "Write something first.") in flashes(await empty.text())
    response = await client.post(f"/customers/{customer_id}/message", data={"csrf_token": token,
                                                                           "text": "Keys <b>ready</b>"},
                                 allow_redirects=False)
    assert response.status == 303
    assert await _outbox(sessions, chat_id) == ["Keys &lt;b&gt;ready&lt;/b&gt;"]


async def test_unknown_customer_is_not_found(client, team) -> None:
    token = await sign_in(client, "agent@example.com")
    for path in ("consultations", "tickets", "viewings", "message"):
        response = await client.post(f"/customers/987654/{path}", data={"csrf_token": token})
        assert response.status == 404, path


async def test_a_chat_transferred_to_a_team_waits_for_it_and_its_member_takes_it(client, make_client, team,
                                                                                   sessions) -> None:
    await _set(sessions, team.service.id, team="complaints")
    conversation = await waiting_customer(sessions, name="Grace")
    elsewhere = await waiting_customer(sessions, name="Henry")
    async with transaction(sessions) as session:
        await handoff.take(session, conversation.id, await session.get(Staff, team.agent.id))
    token = await sign_in(client, "agent@example.com")
    page = await (await client.get(f"/conversations/{conversation.id}")).text()
    assert options(page.replace("<form method=\"post\" action=\"/conversations/"
                                f"{conversation.id}/transfer-team\">",
                                f"<form id=\"team-form\" action=\"/conversations/{conversation.id}/transfer-team\">"),
                   "team-form", "team") == [("repair", "repair and maintenance"), ("complaints", "customer relations")]
    nowhere = await client.post(f"/conversations/{conversation.id}/transfer-team",
                                data={"csrf_token": token, "team": "marketing"})
    assert ("error", "Choose the team that takes over.") in flashes(await nowhere.text())
    moved = await client.post(f"/conversations/{conversation.id}/transfer-team",
                              data={"csrf_token": token, "team": "complaints", "note": "lift broken again"},
                              allow_redirects=False)
    assert moved.status == 303
    async with sessions() as session:
        stored = await session.get(Conversation, conversation.id)
    assert stored is not None and stored.mode == "waiting" and stored.team == "complaints"

    service = await make_client()
    service_token = await sign_in(service, "service@example.com")
    inbox = await (await service.get("/inbox")).text()
    assert re.findall(r'data-view="(\w+)"', inbox)[:2] == ["team", "mine"]
    rows = re.findall(r'<tr data-conversation="(\d+)"', inbox)
    assert rows == [str(conversation.id)] and 'data-team="complaints"' in inbox
    assert (await service.get(f"/conversations/{elsewhere.id}")).status == 403
    taken = await service.post(f"/conversations/{conversation.id}/take", data={"csrf_token": service_token},
                               allow_redirects=False)
    assert taken.status == 303
    assert (await service.get(f"/conversations/{conversation.id}")).status == 200
    reply = await service.post(f"/conversations/{conversation.id}/reply", data={"csrf_token": service_token,
                                                                             "text": "Sun here"},
                               allow_redirects=False)
    assert reply.status == 303
    async with sessions() as session:
        stored = await session.get(Conversation, conversation.id)
    assert stored is not None and stored.mode == "human" and stored.assignee_id == team.service.id
