"""Report figures for a period: counts, median and p90 times, SLA compliance, satisfaction, handoffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.models import Conversation, Handoff
from storage.services import reports, surveys, tickets
from tests import factories
from tests.workplace import SETTINGS


def test_percentiles_use_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert reports.percentile(values, 0.9) == 9.0 and reports.percentile([5.0], 0.9) == 5.0
    assert reports.median(values) == 5.5 and reports.percentile([], 0.9) is None


async def test_report_for_a_period(sessions, frozen_clock) -> None:
    start = frozen_clock.now()
    async with sessions() as session, session.begin():
        tech = await factories.staff(session, name="Li")
        person = await factories.customer(session)
        for hours in (1, 2, 3):
            ticket = await tickets.create_ticket(session, kind="repair", category="plumbing", customer_id=person.id,
                                                 settings=SETTINGS)
            frozen_clock.advance(hours=hours)
            await tickets.assign(session, ticket, tech.id, by=tech, settings=SETTINGS)  # first response after `hours`
            await tickets.change_status(session, ticket, "resolved", staff=tech, settings=SETTINGS)
            frozen_clock.set(start)
        late = await tickets.create_ticket(session, kind="complaint", category="other", customer_id=person.id,
                                           settings=SETTINGS)
        late.first_response_breached = False  # the flag is not what counts: its deadline passed unanswered
        survey = await surveys.create_survey(session, subject_type="ticket", subject_id=late.id,
                                             customer_id=person.id, staff_id=tech.id, category="other")
        await surveys.answer(session, survey.id, score=4)
        conversation = Conversation(customer_id=person.id, status="open", mode="bot", slots={})
        session.add(conversation)
        await session.flush()
        session.add(Handoff(conversation_id=conversation.id, reason="complaint", requested_at=start))
    async with sessions() as session:
        # at Monday 19:00 (Shanghai) the complaint's first response (due 18:00) is late; its resolution is not due
        report = await reports.build(session, start - timedelta(days=1), start + timedelta(days=1),
                                     now=start + timedelta(hours=10))
        empty = await reports.build(session, datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))
    assert dict(report.by_kind) == {"repair": 3, "complaint": 1}
    assert dict(report.by_status) == {"resolved": 3, "new": 1}
    assert report.times["first_response_median"] == 2.0 and report.times["first_response_p90"] == 3.0
    assert report.sla["first_response_pct"] == 75.0 and report.sla["resolution_pct"] == 100.0
    assert (report.sla["first_response_measured"], report.sla["resolution_measured"]) == (4, 3)
    assert report.staff[0]["staff"] == "Li" and report.staff[0]["resolved"] == 3
    assert report.satisfaction_by_staff == [("Li", 1, 4.0)] and report.satisfaction_by_category == [("other", 1, 4.0)]
    assert report.handoffs == [("complaint", 1)]
    assert empty.by_kind == [] and empty.sla["first_response_pct"] is None
    assert "tickets by type,repair,3," in reports.to_csv(report)


async def test_consultations_staff_entered_count_by_topic_and_channel(any_sessions, frozen_clock) -> None:
    from storage.db import transaction
    from storage.models import Consultation

    async with transaction(any_sessions) as session:
        agent = await factories.staff(session, name="Desk", role="agent", team="sales")
        customer = await factories.customer(session)
        for channel, topic in (("phone", "buying"), ("phone", "renting"), ("walk_in", "buying")):
            session.add(Consultation(customer_id=customer.id, staff_id=agent.id, channel=channel, topic=topic,
                                     summary="asked about prices"))
    start = frozen_clock.now() - timedelta(days=1)
    async with any_sessions() as session:
        report = await reports.build(session, start, start + timedelta(days=2))
        before = await reports.build(session, start - timedelta(days=5), start)
    assert dict(report.consultations_by_topic) == {"buying": 2, "renting": 1}
    assert dict(report.consultations_by_channel) == {"phone": 2, "walk_in": 1}
    assert before.consultations_by_topic == []  # only the period's
