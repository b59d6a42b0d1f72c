"""Handoff rules end to end against the database: queue, atomic take, auto-assignment, requeue, transfer,
return to bot and close."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import func, select

from storage.db import transaction
from storage.models import (
    Conversation,
    Customer,
    Handoff,
    Message,
    OutboxMessage,
    Staff,
    StaffNotification,
    Survey,
)
from storage.repositories import conversations, inbox
from storage.services import handoff
from storage.services.handoff import HandoffError
from storage.services.sla import Calendar
from tests.workplace import staff_work, work_on

_ids = count(1000)


async def make_customer(session, name="Ann", language="en") -> Customer:
    n = next(_ids)
    customer = Customer(telegram_user_id=n, chat_id=n, first_name=name, language=language, tags=[])
    session.add(customer)
    await session.flush()
    return customer


async def make_agent(session, name="Bo", *, online=True, now=None, max_concurrent=5, role="agent") -> Staff:
    n = next(_ids)
    staff = Staff(email=f"a{n}@example.com", name=name, role=role, password_hash="x", max_concurrent=max_concurrent,
                  online_until=(now + timedelta(minutes=1)) if online and now else None)
    session.add(staff)
    await session.flush()
    return staff


async def waiting_conversation(session, now, name="Ann", reason="asked") -> Conversation:
    customer = await make_customer(session, name)
    conversation = await conversations.current(session, customer)
    await handoff.request_handoff(session, conversation, reason, now=now)
    return conversation


async def test_request_handoff_queues_and_is_idempotent(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        first = await waiting_conversation(session, now)
        frozen_clock.advance(minutes=1)
        second = await waiting_conversation(session, frozen_clock.now(), "Cy")
        again = await handoff.request_handoff(session, first, "asked", now=frozen_clock.now())
        assert first.mode == "waiting" and first.waiting_since == now
        assert (await handoff.queue_position(session, first)) == (1, 2)
        assert (await handoff.queue_position(session, second)) == (2, 2)
        handoffs = await session.scalar(select(func.count()).select_from(Handoff)
                                        .where(Handoff.conversation_id == first.id))
        assert handoffs == 1 and again.conversation_id == first.id


async def test_queue_status_inside_and_outside_business_hours(sessions, frozen_clock):
    hours = Calendar.parse("09:00-18:00", "mon,tue,wed,thu,fri", "Asia/Shanghai")
    now = frozen_clock.now()  # Monday 09:00 in Shanghai
    async with transaction(sessions) as session:
        await make_agent(session, now=now)
        await waiting_conversation(session, now, "A")
        mine = await waiting_conversation(session, now, "B")
        status = await handoff.queue_status(session, mine, hours, now=now)
        assert status.open_now and status.position == 2 and status.waiting == 2
        # no history yet: 4 minutes per customer up to and including this one, one agent online
        assert status.expected_wait_minutes == 8
        friday_night = now + timedelta(days=4, hours=12)  # Friday 21:00 local
        closed = await handoff.queue_status(session, mine, hours, now=friday_night)
        assert not closed.open_now and closed.expected_wait_minutes is None
        assert closed.next_open_at is not None
        local = closed.next_open_at.astimezone(hours.tz)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)  # next Monday 09:00


async def test_two_agents_taking_at_once_exactly_one_wins(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        conversation = await waiting_conversation(session, now)
        agent_a = await make_agent(session, "A", now=now)
        agent_b = await make_agent(session, "B", now=now)
    results: list[str] = []

    async def try_take(agent_id: int) -> None:
        try:
            async with transaction(any_sessions) as session:
                agent = await session.get(Staff, agent_id)
                await handoff.take(session, conversation.id, agent, now=now)
            results.append(f"won:{agent_id}")
        except HandoffError:
            results.append("lost")

    await asyncio.gather(try_take(agent_a.id), try_take(agent_b.id))
    assert sorted(r.split(":")[0] for r in results) == ["lost", "won"]
    winner = int(next(r for r in results if r.startswith("won")).split(":")[1])
    async with any_sessions() as session:
        stored = await session.get(Conversation, conversation.id)
        assert stored.mode == "human" and stored.assignee_id == winner
        taken = (await session.scalars(select(Handoff).where(Handoff.conversation_id == conversation.id))).all()
        assert [(h.taken_by, h.reason) for h in taken] == [(winner, "asked")]


async def test_takeover_from_bot_mode_records_agent_takeover(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        customer = await make_customer(session)
        conversation = await conversations.current(session, customer)
        agent = await make_agent(session, now=now)
        with pytest.raises(HandoffError):
            await handoff.take(session, conversation.id, agent, now=now)  # not waiting, no takeover flag
        taken = await handoff.take(session, conversation.id, agent, now=now, takeover=True)
        assert taken.mode == "human" and taken.handoff_reason == "agent_takeover"
        record = await session.scalar(select(Handoff).where(Handoff.conversation_id == conversation.id))
        assert record.reason == "agent_takeover" and record.taken_by == agent.id


async def test_auto_assign_round_robin_with_limits_and_offline_agents(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        a = await make_agent(session, "A", now=now, max_concurrent=2)
        b = await make_agent(session, "B", now=now, max_concurrent=1)
        offline = await make_agent(session, "Off", online=False, now=now)
        service = await make_agent(session, "Svc", now=now, role="service")
        waiting = []
        for i in range(5):
            frozen_clock.advance(seconds=10)
            waiting.append(await waiting_conversation(session, frozen_clock.now(), f"C{i}"))
        assigned = await handoff.auto_assign(session, now=frozen_clock.now())
        owners = [(c.id, s.id) for c, s in assigned]
    # oldest first; A and B alternate; B stops at 1, A at 2; nobody else gets anything
    assert owners == [(waiting[0].id, a.id), (waiting[1].id, b.id), (waiting[2].id, a.id)]
    async with any_sessions() as session:
        left = (await session.scalars(select(Conversation.id).where(Conversation.mode == "waiting")
                                      .order_by(Conversation.id))).all()
        assert left == [waiting[3].id, waiting[4].id]
        loads = await handoff.active_load(session)
        assert loads == {a.id: 2, b.id: 1}
        assert offline.id not in loads and service.id not in loads


async def test_auto_assign_skips_agent_whose_heartbeat_expired(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        gone = await make_agent(session, "Gone", now=now)
        frozen_clock.advance(minutes=2)  # Gone's online_until (now + 1 min) has passed
        fresh = await make_agent(session, "Fresh", now=frozen_clock.now())
        conversation = await waiting_conversation(session, frozen_clock.now())
        assigned = await handoff.auto_assign(session, now=frozen_clock.now())
        assert [(c.id, s.id) for c, s in assigned] == [(conversation.id, fresh.id)]
        assert gone.id != fresh.id


async def test_silent_assignee_loses_conversation_and_team_is_told(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        silent = await make_agent(session, "Silent", now=now + timedelta(hours=1))
        talker = await make_agent(session, "Talker", now=now + timedelta(hours=1))
        quiet_one = await waiting_conversation(session, now, "Q")
        answered = await waiting_conversation(session, now, "R")
        await handoff.take(session, quiet_one.id, silent, now=now)
        await handoff.take(session, answered.id, talker, now=now)
        frozen_clock.advance(minutes=2)
        await handoff.agent_reply(staff_work(session, talker.id), answered.id, {"kind": "say", "text": "hi"}, text="hi")
        frozen_clock.advance(minutes=3)
        assert await handoff.requeue_silent(work_on(session), minutes=5,
                                            now=frozen_clock.now() - timedelta(seconds=1)) == []
        requeued = await handoff.requeue_silent(work_on(session), minutes=5, now=frozen_clock.now())
        assert [(c.id, staff_id) for c, staff_id in requeued] == [(quiet_one.id, silent.id)]
        back = await session.get(Conversation, quiet_one.id)
        assert back.mode == "waiting" and back.assignee_id is None and back.waiting_since == now
        told = (await session.scalars(select(StaffNotification.staff_id))).all()
        assert sorted(told) == sorted([silent.id, talker.id])
        # the silent agent is not handed the same conversation again: it goes to the other agent
        assigned = await handoff.auto_assign(session, now=frozen_clock.now())
        assert [(c.id, s.id) for c, s in assigned] == [(quiet_one.id, talker.id)]
        ended = (await session.scalars(select(Handoff.ended_how).where(Handoff.conversation_id == quiet_one.id)
                                       .order_by(Handoff.id))).all()
        assert ended == ["requeued", None]


async def test_transfer_needs_owner_and_notifies_target(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        owner = await make_agent(session, "Owner", now=now)
        other = await make_agent(session, "Other", now=now)
        outsider = await make_agent(session, "Outsider", now=now)
        conversation = await waiting_conversation(session, now)
        await handoff.take(session, conversation.id, owner, now=now)
        with pytest.raises(HandoffError):
            await handoff.transfer(staff_work(session, outsider.id), conversation.id, other.id, "mine now")
        moved = await handoff.transfer(staff_work(session, owner.id), conversation.id, other.id, "speaks Cantonese",
                                       now=now)
        assert moved.assignee_id == other.id and moved.mode == "human"
        note = await session.scalar(select(Message).where(Message.conversation_id == conversation.id,
                                                          Message.private_note.is_(True)))
        assert "speaks Cantonese" in note.text
        # The private note never reaches the customer; the customer is told who has them now, and nothing more.
        outbox = (await session.scalars(select(OutboxMessage))).all()
        assert [row.payload["text"] for row in outbox] == [
            "Your conversation has been passed to Other, who will answer you here."]
        notified = await session.scalar(select(StaffNotification).where(StaffNotification.staff_id == other.id))
        assert "speaks Cantonese" in notified.text
        with pytest.raises(HandoffError):  # the old owner no longer writes here
            await handoff.agent_reply(staff_work(session, owner.id), conversation.id, {"kind": "say", "text": "x"},
                                      text="x")


async def test_agent_reply_goes_to_outbox_at_agent_priority(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        agent = await make_agent(session, now=now)
        conversation = await waiting_conversation(session, now)
        await handoff.take(session, conversation.id, agent, now=now)
        message = await handoff.agent_reply(staff_work(session, agent.id), conversation.id,
                                            {"kind": "say", "text": "&lt;b&gt;"}, text="<b>")
        row = await session.scalar(select(OutboxMessage))
        assert row.priority == 0 and row.message_id == message.id and row.payload["text"] == "&lt;b&gt;"
        assert message.delivery_status == "pending" and message.sender == "agent"


async def test_return_to_bot_and_close_with_survey(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        agent = await make_agent(session, now=now)
        conversation = await waiting_conversation(session, now)
        await handoff.take(session, conversation.id, agent, now=now)
        back = await handoff.return_to_bot(staff_work(session, agent.id), conversation.id, now=now)
        assert back.mode == "bot" and back.assignee_id is None and back.status == "open"
        await handoff.request_handoff(session, back, "asked", now=now)
        await handoff.take(session, conversation.id, agent, now=now)
        closed, survey = await handoff.close(staff_work(session, agent.id), conversation.id, now=now)
        assert closed.status == "closed" and closed.mode == "bot"
        assert survey is not None and survey.staff_id == agent.id and survey.subject_id == conversation.id
        customer = await session.get(Customer, conversation.customer_id)
        fresh = await conversations.current(session, customer)
        assert fresh.id != conversation.id and fresh.mode == "bot"
        with pytest.raises(HandoffError):
            await handoff.close(staff_work(session, agent.id), conversation.id, now=now)
        assert await session.scalar(select(func.count()).select_from(Survey)) == 1
        ends = (await session.scalars(select(Handoff.ended_how).where(Handoff.conversation_id == conversation.id)
                                      .order_by(Handoff.id))).all()
        assert ends == ["returned", "closed"]


async def test_cancel_request_only_while_waiting(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        agent = await make_agent(session, now=now)
        conversation = await waiting_conversation(session, now)
        assert await handoff.cancel_request(session, conversation, now=now)
        assert conversation.mode == "bot"
        await handoff.request_handoff(session, conversation, "asked", now=now)
        await handoff.take(session, conversation.id, agent, now=now)
        assert not await handoff.cancel_request(session, conversation, now=now)


async def test_inbox_views(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        agent = await make_agent(session, now=now)
        waiting = await waiting_conversation(session, now, "Wanda")
        mine = await waiting_conversation(session, now, "Mia")
        await handoff.take(session, mine.id, agent, now=now)
        views = {v: [r.conversation_id for r in await inbox.list_view(session, v, staff_id=agent.id)]
                 for v in inbox.VIEWS}
        assert views["waiting"] == [waiting.id] and views["mine"] == [mine.id]
        assert sorted(views["open"]) == sorted([waiting.id, mine.id]) and views["closed"] == []
        row = await inbox.one(session, waiting.id)
        assert row.customer_name == "Wanda" and row.reason == "asked" and row.channel == "telegram"
        assert await inbox.counts(session, agent.id) == {"waiting": 1, "team": 0, "mine": 1, "open": 2, "unread": 0}


async def test_chat_calendar_closes_on_holidays(sessions, frozen_clock):
    from datetime import date

    from storage.models import Holiday

    async with transaction(sessions) as session:
        session.add(Holiday(day=date(2026, 3, 2), is_workday=False, name="test holiday"))
        await session.flush()
        hours = await handoff.chat_calendar(session, "09:00-18:00", "mon,tue,wed,thu,fri", "Asia/Shanghai")
        conversation = await waiting_conversation(session, frozen_clock.now())
        status = await handoff.queue_status(session, conversation, hours, now=frozen_clock.now())
    assert not status.open_now  # Monday 09:00, but a holiday
    assert status.next_open_at.astimezone(hours.tz).day == 3


async def test_asking_again_while_with_a_person_keeps_the_person(sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        agent = await make_agent(session, now=now)
        conversation = await waiting_conversation(session, now)
        await handoff.take(session, conversation.id, agent, now=now)
        frozen_clock.advance(minutes=1)
        again = await handoff.request_handoff(session, conversation, "complaint", now=frozen_clock.now())
        assert conversation.mode == "human" and conversation.assignee_id == agent.id
        assert again.taken_by == agent.id


async def test_away_agents_get_nothing_and_available_takes_the_queue_at_once(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        agent = await make_agent(session, "Li Na", now=now)
        agent.available = False
        first = await waiting_conversation(session, now, "Wu")
        second = await waiting_conversation(session, now, "Xu")
        assert await handoff.auto_assign(session, now=now) == []  # online, but Away
    async with transaction(any_sessions) as session:
        work = staff_work(session, agent.id)
        assigned = await handoff.set_availability(work, True)  # no tick needed: the queue is hers at once
        assert assigned == 2
        assert await handoff.set_availability(work, True) == 0  # already available: nothing happens twice
        kinds = [event.kind for event in work.events]
    assert kinds.count("conversation.changed") == 2
    async with any_sessions() as session:
        owners = (await session.scalars(select(Conversation.assignee_id).where(
            Conversation.id.in_([first.id, second.id])))).all()
        assert owners == [agent.id, agent.id]
        assert (await session.get(Staff, agent.id)).available is True


async def test_unread_counts_follow_what_staff_have_seen(any_sessions, frozen_clock):
    now = frozen_clock.now()
    async with transaction(any_sessions) as session:
        agent = await make_agent(session, now=now)
        conversation = await waiting_conversation(session, now, "Wei")
        await handoff.take(session, conversation.id, agent, now=now)
        for text in ("hello", "is the flat free?"):
            await conversations.record(session, conversation, direction="in", sender="customer", text=text)
        await conversations.record(session, conversation, direction="out", sender="bot",
                                        text="<b>Li Na</b> is here now")
    async with any_sessions() as session:
        row = await inbox.one(session, conversation.id)
        # The customer's last words, not the system's "is here now"; the bot's line never counts as unread.
        assert row.unread == 2 and row.last_text == "is the flat free?"
        assert (await inbox.counts(session, agent.id))["unread"] == 2
    async with transaction(any_sessions) as session:
        first = await session.scalar(select(func.min(Message.id)).where(Message.conversation_id == conversation.id,
                                                                        Message.direction == "in"))
        work = staff_work(session, agent.id)
        await handoff.mark_seen(work, conversation.id, first)
        assert [event.kind for event in work.events] == ["conversation.changed"]
    async with transaction(any_sessions) as session:
        assert (await inbox.one(session, conversation.id)).unread == 1
        work = staff_work(session, agent.id)
        await handoff.mark_seen(work, conversation.id)
        await handoff.mark_seen(work, conversation.id, first)  # a late report never makes messages unread again
        assert len(work.events) == 1
    async with any_sessions() as session:
        assert (await inbox.one(session, conversation.id)).unread == 0
        assert (await inbox.counts(session, agent.id))["unread"] == 0


async def test_inbox_filters_search_message_text_and_sort(any_sessions, frozen_clock):
    from storage.repositories.inbox import InboxFilters

    async with transaction(any_sessions) as session:
        old = await waiting_conversation(session, frozen_clock.now(), "Old")
        frozen_clock.advance(minutes=30)
        new = await waiting_conversation(session, frozen_clock.now(), "New")
        new_customer = await session.get(Customer, new.customer_id)
        new_customer.language = "zh"
        await conversations.record(session, old, direction="in", sender="customer", text="丰台 50%_off?")
        frozen_clock.advance(minutes=1)
        await conversations.record(session, new, direction="in", sender="customer", text="hi")
    async with any_sessions() as session:
        def ids(rows):
            return [row.conversation_id for row in rows]

        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(search="丰台"))) == [old.id]
        # % and _ are searched for literally, not as wildcards
        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(search="50%_"))) == [old.id]
        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(search="5_%"))) == []
        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(language="zh"))) == [new.id]
        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(waiting_minutes=20))) == [old.id]
        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(sort="waiting"))) == [old.id, new.id]
        assert ids(await inbox.list_view(session, "open", filters=InboxFilters(sort="activity"))) == [new.id, old.id]


async def test_the_customer_hears_one_story_after_hours_on_transfer_and_on_requeue(sessions, frozen_clock):
    """Outside hours a person who joins anyway says so; a requeued customer is told; names can stay private."""
    from tests.workplace import SETTINGS

    frozen_clock.set(frozen_clock.now().replace(hour=14))  # 22:00 in Shanghai: outside 09:00-18:00
    now = frozen_clock.now()
    async with transaction(sessions) as session:
        agent = await make_agent(session, "Li Na", now=now)
        late = await waiting_conversation(session, now, "Late")
        await handoff.take_over(staff_work(session, agent.id), late.id)
        private = work_on(session, staff_work(session, agent.id).actor,
                          settings=SETTINGS.model_copy(update={"staff_names_to_customers": False}))
        other = await make_agent(session, "Zhao", now=now)
        await handoff.transfer(private, late.id, other.id)
        frozen_clock.advance(minutes=SETTINGS.handoff_reassign_minutes + 1)
        requeued = await handoff.requeue_silent(work_on(session), minutes=SETTINGS.handoff_reassign_minutes)
        assert [c.id for c, _ in requeued] == [late.id]
        said = [row.payload["text"] for row in (await session.scalars(
            select(OutboxMessage).where(OutboxMessage.customer_id == late.customer_id)
            .order_by(OutboxMessage.id))).all()]
    assert said == [
        "Li Na from our team is here now, even though it is outside our usual hours, and will answer you in this "
        "chat.",
        "Your conversation has been passed to a colleague, who will answer you here.",
        "Sorry for the wait: the next available colleague will answer you here. You keep your place in line.",
    ]
