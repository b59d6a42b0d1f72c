"""Complaints handled to the end in the console: reclassified, verified (by whom), responsibility, root cause and
improvement, resolved only when that is done, then the customer's survey; and a chat's promised answer."""

from __future__ import annotations

from sqlalchemy import select

from dialogs.reminders import tick
from dialogs.replies import Say, from_receipt
from storage.db import transaction
from storage.models import AuditLog, ChatWait, Conversation, FollowUpTask, Staff, Survey, Ticket, TicketEvent
from tests.dialogs.helpers import FakeCustomer
from tests.staff_console.conftest import sign_in
from tests.staff_console.structure import Page
from tests.workplace import workplace_for


async def _complain(sessions, user_id: int) -> FakeCustomer:
    customer = FakeCustomer(sessions, user_id=user_id)
    await customer.press("complaint:start")
    await customer.press("complaint:cat:property_management")
    await customer.text("The sales manager shouted at me at the sales office on Monday")
    await customer.press("complaint:photos:done")
    return customer


async def _flash(response) -> str:
    page = Page(await response.text())
    return " ".join(p.text for p in page.find_all("p") if "flash" in p.attrs.get("class", ""))


async def test_a_complaint_goes_through_verification_responsibility_cause_and_survey(
        client, team, sessions, frozen_clock) -> None:
    async with transaction(sessions) as session:
        lead = await session.get(Staff, team.service.id)
        lead.team, lead.is_team_lead = "complaints", True
    customer = await _complain(sessions, 8101)
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
    assert (ticket.kind, ticket.category, ticket.team) == ("complaint", "property_management", "property")
    token = await sign_in(client, "service@example.com")
    url = f"/tickets/{ticket.id}"

    # Filed under the wrong category: reclassified, the team follows.
    response = await client.post(url + "/reclassify", data={"category": "nonsense", "csrf_token": token})
    assert "unknown category for this type" in await _flash(response)
    await client.post(url + "/reclassify", data={"category": "service_attitude", "note": "about a person",
                                                 "csrf_token": token})
    await client.post(url + "/assign", data={"staff_id": team.service.id, "csrf_token": token})
    await client.post(url + "/status", data={"to": "in_progress", "csrf_token": token})
    response = await client.post(url + "/status", data={"to": "resolved", "csrf_token": token})
    assert "verify the complaint before resolving it" in await _flash(response)

    page = Page(await (await client.get(url)).text())
    handling = page.by_id("complaint-handling")
    assert page.by_id("verification").text == "not yet verified"
    assert [f.attrs["id"] for f in handling.find_all("form")] == ["verify-form"]  # responsibility after verifying
    assert [i.attrs["value"] for i in page.by_id("verify-form").find_all("input", type="radio")] == [
        "verified", "unsubstantiated"]

    response = await client.post(url + "/verify", data={"outcome": "unsubstantiated", "note": "",
                                                        "csrf_token": token})
    assert "say why the complaint is not substantiated" in await _flash(response)
    response = await client.post(url + "/verify", data={"outcome": "maybe", "csrf_token": token})
    assert "choose verified or not substantiated" in await _flash(response)
    await client.post(url + "/verify", data={"outcome": "verified", "note": "two witnesses",
                                             "csrf_token": token})
    response = await client.post(url + "/status", data={"to": "resolved", "csrf_token": token})
    assert "record the responsible party and the root cause" in await _flash(response)
    response = await client.post(url + "/responsibility", data={"party": "sales", "cause": "staff_conduct",
                                                                "action": "  ", "csrf_token": token})
    assert "describe the improvement action" in await _flash(response)
    response = await client.post(url + "/responsibility", data={"party": "the moon", "cause": "staff_conduct",
                                                                "action": "x", "csrf_token": token})
    assert "choose the responsible party" in await _flash(response)
    await client.post(url + "/responsibility", data={
        "party": "sales", "cause": "staff_conduct", "action": "Service training for the sales office <b>now</b>",
        "csrf_token": token})

    page = Page(await (await client.get(url)).text())
    assert page.by_id("verification").text.startswith("verified · Sam Service ·")
    assert (page.by_id("responsible").text, page.by_id("root-cause").text) == ("sales", "staff conduct")
    assert page.by_id("improvement").text == "Service training for the sales office <b>now</b>"  # escaped text
    form = page.by_id("responsibility-form")
    assert [o.attrs["value"] for o in form.find_all("option") if "selected" in o.attrs] == ["sales", "staff_conduct"]
    history = [li.text for li in page.by_id("history").find_all("li")]
    assert any("reclassified" in h and "Property management → Service attitude" in h for h in history)
    assert not page.find_all(id="complaint-missing")

    await client.post(url + "/status", data={"to": "resolved", "csrf_token": token})
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket.id)
        kinds = [e.kind for e in (await session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))).all()]
        audits = set((await session.scalars(select(AuditLog.action))).all())
    assert ticket.status == "resolved" and ticket.team == "complaints"
    assert (ticket.verification, ticket.verified_by, ticket.responsible_party, ticket.root_cause) == (
        "verified", team.service.id, "sales", "staff_conduct")
    assert kinds.index("reclassified") < kinds.index("verified") < kinds.index("responsibility")
    assert {"ticket_reclassify", "ticket_verify", "ticket_responsibility"} <= audits

    # The customer confirms, answers the survey with a low score: a follow-up opens for the lead.
    await tick(workplace_for(sessions))
    await customer.text("?")
    resolved = next(r for r in customer.replies if isinstance(r, Say) and r.choices
                    and from_receipt(r.choices[0][0].token)[0].startswith("tickets:ok:"))
    replies = await customer.press(resolved.choices[0][0].token)
    await customer.press(replies[1].choices[0][1].token)  # score 2
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
        task = await session.scalar(select(FollowUpTask))
        ticket = await session.get(Ticket, ticket.id)
    assert ticket.status == "closed" and survey.score == 2 and survey.category == "service_attitude"
    assert task is not None and task.assignee_id == lead.id


async def test_complaint_forms_speak_the_staff_members_language(client, team, sessions, frozen_clock) -> None:
    async with transaction(sessions) as session:
        person = await session.get(Staff, team.service.id)
        person.language = "zh"
    await _complain(sessions, 8102)
    async with sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id))
    token = await sign_in(client, "service@example.com")
    response = await client.post(f"/tickets/{ticket_id}/responsibility", data={
        "party": "sales", "cause": "staff_conduct", "action": "x", "csrf_token": token})
    flash = await _flash(response)
    assert flash and "verify" not in flash and any("\u4e00" <= ch <= "\u9fff" for ch in flash)
    page = Page(await (await client.get(f"/tickets/{ticket_id}")).text())
    assert page.by_id("complaint-handling").find_all("h2")[0].text == "投诉处理"


async def test_a_service_page_reclassifies_only_to_its_kinds_categories(client, team, sessions, frozen_clock) -> None:
    await _complain(sessions, 8103)
    async with sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id))
    token = await sign_in(client, "agent@example.com")
    response = await client.post(f"/tickets/{ticket_id}/reclassify", data={"category": "plumbing",
                                                                           "csrf_token": token})
    assert "unknown category for this type" in await _flash(response)
    page = Page(await (await client.get(f"/tickets/{ticket_id}")).text())
    options = [o.attrs["value"] for o in page.by_id("reclassify-form").find_all("option")]
    assert options == ["service_attitude", "product_quality", "delayed_handover", "property_management",
                       "contract_sales", "other"]


async def test_an_agent_promises_an_answer_with_one_click(client, team, sessions, frozen_clock) -> None:
    customer = FakeCustomer(sessions, user_id=8104)
    await customer.command("human")
    async with sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    token = await sign_in(client, "agent@example.com")
    url = f"/conversations/{conversation_id}"
    page = Page(await (await client.get(url)).text())
    deadline = page.by_id("chat-deadline")
    assert deadline.find_all("form", action=url + "/promise")
    assert page.by_id("promise-form").find_all("input", type="date")[0].attrs["value"] == "2026-03-03"
    response = await client.post(url + "/promise", data={"day": "soon", "csrf_token": token})
    assert response.status == 400 or "the day must be a date" in await _flash(response)
    response = await client.post(url + "/promise", data={"day": "2026-02-01", "csrf_token": token})
    assert "the promised day must be in the future" in await _flash(response)
    await client.post(url + "/promise", data={"day": "2026-03-04", "csrf_token": token})
    [wait] = await _waits(sessions)
    assert wait.paused_at is not None and wait.promised_at is not None
    replies = await customer.text("ok")  # what reached the customer since their last message
    assert [r.text for r in replies] == [
        "Thank you for waiting. Alan Agent needs a little more time for your question; you will have an answer "
        "here by Wed 4 Mar, 18:00."]  # and the bot stays quiet while they wait for a person
    page = Page(await (await client.get(url)).text())
    assert "paused: answer promised by" in page.by_id("chat-deadline").text


async def _waits(sessions) -> list[ChatWait]:
    async with sessions() as session:
        return list((await session.scalars(select(ChatWait))).all())


async def test_a_suggestion_is_answered_in_one_step_from_the_board(client, team, sessions, frozen_clock) -> None:
    customer = FakeCustomer(sessions, user_id=8105)
    await customer.press("suggestion:start")
    await customer.press("suggestion:cat:online")
    await customer.text("Let me book viewings on weekends in this chat")
    token = await sign_in(client, "agent@example.com")
    board = Page(await (await client.get("/tickets?kind=suggestion")).text())
    [card] = [e for e in board.find_all() if "data-ticket" in e.attrs]
    ticket_id = int(card.attrs["data-ticket"])
    assert "S-2026-000001" in card.text
    assert [o.attrs["value"] for o in board.find_all("select", name="kind")[0].find_all("option")] == [
        "", "repair", "complaint", "suggestion"]
    page = Page(await (await client.get(f"/tickets/{ticket_id}")).text())
    buttons = [b.attrs["value"] for b in page.by_id("status-form").find_all("button")]
    # Only the moves allowed now: nobody is assigned, so "assigned" is not offered (issue 12).
    assert buttons == ["in_progress", "waiting_customer", "cancelled", "resolved"]
    assert not page.forms(f"/tickets/{ticket_id}/cost") and not page.forms(f"/tickets/{ticket_id}/quote")
    assert not page.find_all(id="complaint-handling") and page.by_id("suggestion-hint")
    await client.post(f"/tickets/{ticket_id}/status", data={
        "to": "resolved", "note": "Weekend viewings start in April", "csrf_token": token})
    await tick(workplace_for(sessions))
    replies = await customer.text("thanks")
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        survey = await session.scalar(select(Survey))
    assert ticket.status == "closed" and ticket.first_responded_at is not None and survey is None
    answer = [r.text for r in replies if isinstance(r, Say) and "S-2026-000001" in r.text]
    assert answer == ["Thank you for your suggestion S-2026-000001: our team has reviewed it.\n"
                      "Our answer: Weekend viewings start in April"]
