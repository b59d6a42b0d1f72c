"""A complaint handled to the end over the real Telegram channel (offline Bot API server): filed in the chat,
reclassified, verified, responsibility and root cause recorded by staff (the console's services, as a signed-in
staff member), resolved, confirmed by the customer and rated; the low score opens a follow-up for the lead. The
waiting chat's first-response clock runs meanwhile and the agent's promise of an answer reaches the customer."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from dialogs import reminders as reminder_tick
from storage.db import transaction
from storage.models import ChatWait, Conversation, FollowUpTask, Survey, Ticket
from storage.services import handoff, ticket_desk
from storage.services.tickets import TicketError
from storage.unit_of_work import Actor
from tests import factories
from tests.workplace import workplace_for


async def test_a_complaint_is_verified_assigned_a_cause_resolved_and_rated(api, make_channel, sessions,
                                                                           frozen_clock, bus) -> None:
    async with transaction(sessions) as session:
        lead = await factories.staff(session, name="Mia Lead", role="service", team="complaints", lead=True)
        agent = await factories.staff(session, name="Amy Agent", role="agent", team="sales")
    workplace = workplace_for(sessions, bus)

    async def as_staff(staff_id: int, action) -> None:
        async with workplace.open(Actor.staff(staff_id)) as work:
            await action(work)

    async with make_channel(api):
        eve = api.customer(first_name="Eve")
        eve.send_command("start")
        await eve.wait_for("Hello")
        eve.press("Make a complaint")
        await eve.wait_for("What is your complaint about?")
        eve.press("Property management")
        await eve.wait_for("Please tell us what happened")
        eve.send_text("The sales manager was rude to me on Monday")
        await eve.wait_for("Send complaint")
        eve.press("Send complaint")
        await eve.wait_for("C-2026-000001")
        async with sessions() as session:
            ticket = await session.scalar(select(Ticket))
            conversation = await session.scalar(select(Conversation))
            [wait] = (await session.scalars(select(ChatWait))).all()
        assert (wait.topic, wait.team, wait.channel) == ("complaint", "complaints", "telegram")

        await as_staff(agent.id, lambda work: handoff.promise_answer(work, conversation.id, date(2026, 3, 3)))
        await eve.wait_for("you will have an answer here by Tue 3 Mar, 18:00", since_last_action=False)

        await as_staff(agent.id, lambda work: handoff.take_over(work, conversation.id))
        await as_staff(agent.id, lambda work: handoff.agent_reply(
            work, conversation.id, {"kind": "say", "text": "Customer relations will call you today."},
            text="Customer relations will call you today."))
        await eve.wait_for("Customer relations will call you today.", since_last_action=False)
        await as_staff(agent.id, lambda work: handoff.return_to_bot(work, conversation.id))
        async with sessions() as session:
            wait = await session.get(ChatWait, wait.id)
        assert wait.answered_by == agent.id and wait.paused_at is None and not wait.breached

        await as_staff(lead.id, lambda work: ticket_desk.reclassify(work, ticket.id, "service_attitude"))
        await as_staff(lead.id, lambda work: ticket_desk.assign(work, ticket.id, lead.id))
        with pytest.raises(TicketError, match="verify the complaint"):
            await as_staff(lead.id, lambda work: ticket_desk.change_status(work, ticket.id, "resolved"))
        await as_staff(lead.id, lambda work: ticket_desk.verify(work, ticket.id, "verified", note="two witnesses"))
        await as_staff(lead.id, lambda work: ticket_desk.set_responsibility(
            work, ticket.id, party="sales", cause="staff_conduct", action="Conduct training for the sales office"))
        await as_staff(lead.id, lambda work: ticket_desk.change_status(
            work, ticket.id, "resolved", note="We apologise; the manager was spoken to"))
        await reminder_tick.tick(workplace)
        await eve.wait_for("is resolved. Is everything fine now?", since_last_action=False)
        eve.press("Yes, it is fixed")
        await eve.wait_for("How satisfied are you")
        eve.press("2")
        await eve.wait_for("A team lead will contact you")
        eve.send_text("Nobody apologised in person")
        await eve.wait_for("Thank you for your feedback!")
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket.id)
        survey = await session.scalar(select(Survey))
        task = await session.scalar(select(FollowUpTask))
    assert ticket.status == "closed" and (ticket.category, ticket.team) == ("service_attitude", "complaints")
    assert (ticket.verification, ticket.verified_by, ticket.responsible_party, ticket.root_cause) == (
        "verified", lead.id, "sales", "staff_conduct")
    assert survey.score == 2 and survey.staff_id == lead.id and survey.category == "service_attitude"
    assert task.assignee_id == lead.id and task.reason == "low_score"
