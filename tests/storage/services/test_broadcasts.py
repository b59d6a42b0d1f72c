"""Notices to owners: the audience filters, scheduling checks, queueing (one row per owner, their language, the
broadcast priority, blocked owners recorded), quiet hours, cancellation and the recipients' statuses, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from storage.clock import FrozenClock
from storage.models import PRIORITY_BROADCAST, Broadcast, Building, Customer, CustomerUnit, OutboxMessage, Project
from storage.repositories import broadcasts as broadcast_rows
from storage.services import audiences, broadcasts
from storage.services.audiences import AudienceError
from storage.services.broadcasts import BroadcastError
from storage.unit_of_work import Actor
from tests import factories
from tests.workplace import workplace_for

# 10:00 in Asia/Shanghai (the test settings' TIMEZONE), outside the quiet hours 21:00-08:00.
MORNING = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock_at_ten(frozen_clock: FrozenClock) -> FrozenClock:
    frozen_clock.set(MORNING)
    return frozen_clock


async def _estate(sessions):
    """Sunny Garden buildings 1 and 2, Lake View 1; owners: en in 1, zh in 2, one with homes in both, a blocked
    one, one who turned listing alerts off, a Lake View owner, and a tagged customer who owns nothing."""
    async with sessions() as session, session.begin():
        people = {}
        for key, language in (("en", "en"), ("zh", "zh"), ("two_homes", "zh"), ("blocked", "en"),
                              ("no_alerts", "en"), ("lake", "en"), ("not_owner", "en")):
            people[key] = await factories.customer(session, language=language)
        people["blocked"].unreachable_at = MORNING - timedelta(days=3)
        people["no_alerts"].notify_new_listings = False
        people["zh"].tags = ["vip"]
        people["lake"].tags = ["vip", "board"]
        people["not_owner"].tags = ["vip"]
        homes = [("en", "Sunny Garden", "1", "101"), ("zh", "Sunny Garden", "2", "201"),
                 ("two_homes", "Sunny Garden", "1", "102"), ("two_homes", "Sunny Garden", "2", "202"),
                 ("blocked", "Sunny Garden", "2", "203"), ("no_alerts", "Sunny Garden", "1", "103"),
                 ("lake", "Lake View", "1", "301")]
        for key, project, building, unit_no in homes:
            home = await factories.unit(session, project=project, building=building, unit_no=unit_no)
            session.add(CustomerUnit(customer_id=people[key].id, unit_id=home.id))
        await session.flush()
        ids = {key: person.id for key, person in people.items()}
        projects = dict((await session.execute(select(Project.name, Project.id))).tuples().all())
        buildings = {(p, b): i for i, p, b in (await session.execute(
            select(Building.id, Project.name, Building.name).join(Project))).tuples().all()}
        author = await factories.staff(session, role="service")
    return ids, projects, buildings, author.id


async def _schedule(sessions, author: int, audience, **extra):
    workplace = workplace_for(sessions)
    async with workplace.open(Actor.staff(author)) as work:
        notice = await broadcasts.schedule(work, text_en=extra.pop("text_en", "Water is off 10:00-12:00."),
                                           text_zh=extra.pop("text_zh", "今天10:00-12:00停水。"),
                                           audience=audience, **extra)
    return notice.id


async def _rows(sessions, broadcast_id: int) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
                                          .order_by(OutboxMessage.customer_id)))


async def test_audiences_narrow_by_project_buildings_and_tags(any_sessions, clock_at_ten):
    ids, projects, buildings, _ = await _estate(any_sessions)
    sunny, b1, b2 = projects["Sunny Garden"], buildings[("Sunny Garden", "1")], buildings[("Sunny Garden", "2")]

    async def members(audience) -> set[int]:
        async with any_sessions() as session:
            stored = await audiences.parse(session, audience)
            dialect = session.get_bind().dialect.name
            found = set(await session.scalars(select(Customer.id).where(audiences.condition(stored, dialect))))
            counted = await audiences.count(session, stored)
        assert counted.owners == len(found)
        return found

    everyone_sunny = {ids[k] for k in ("en", "zh", "two_homes", "blocked", "no_alerts")}
    assert await members({"project": [str(sunny)]}) == everyone_sunny
    assert await members({"building": [str(b2)]}) == {ids["zh"], ids["two_homes"], ids["blocked"]}
    assert await members({"project": [str(sunny)], "building": [str(b1)]}) == {
        ids["en"], ids["two_homes"], ids["no_alerts"]}
    # A tag group reaches owners only (the tagged customer without a home is not an owner), across projects.
    assert await members({"tag": ["vip"]}) == {ids["zh"], ids["lake"]}
    assert await members({"tag": ["board", "nobody"]}) == {ids["lake"]}
    assert await members({"project": [str(sunny)], "tag": ["vip"]}) == {ids["zh"]}
    async with any_sessions() as session:
        counted = await audiences.count(session, {"project": [sunny]})
    assert (counted.owners, counted.reachable, counted.blocked) == (5, 4, 1)


async def test_schedule_refuses_what_cannot_be_sent(any_sessions, clock_at_ten):
    _, projects, buildings, author = await _estate(any_sessions)
    sunny, lake_building = projects["Sunny Garden"], buildings[("Lake View", "1")]
    cases = [
        ({"text_en": "  "}, {"project": [str(sunny)]}, BroadcastError, "write the notice in English"),
        ({"text_zh": ""}, {"project": [str(sunny)]}, BroadcastError, "write the notice in Chinese"),
        ({"text_en": "x" * 4001}, {"project": [str(sunny)]}, BroadcastError, "longer than 4000"),
        ({}, {}, AudienceError, "choose who receives the notice"),
        ({}, {"project": ["999999"]}, AudienceError, "no such project"),
        ({}, {"project": ["1; drop"]}, AudienceError, "is not a valid choice"),
        ({}, {"project": [str(sunny)], "building": [str(lake_building)]}, AudienceError, "must belong"),
        ({}, {"tag": ["nobody-has-this"]}, BroadcastError, "no owner matches"),
        ({"at": MORNING - timedelta(hours=1)}, {"project": [str(sunny)]}, BroadcastError, "in the past"),
    ]
    for extra, audience, error, words in cases:
        with pytest.raises(error, match=words):
            await _schedule(any_sessions, author, audience, **extra)
    async with any_sessions() as session:
        assert (await session.scalars(select(Broadcast))).all() == []


async def test_a_notice_reaches_each_owner_once_in_their_language(any_sessions, clock_at_ten):
    ids, projects, _, author = await _estate(any_sessions)
    workplace = workplace_for(any_sessions)
    notice = await _schedule(any_sessions, author, {"project": [str(projects["Sunny Garden"])]},
                             text_en="Water is off <10:00-12:00> & sorry.")
    assert await broadcasts.tick(workplace, batch=2) == 5  # three batches of at most two owners
    assert await broadcasts.tick(workplace, batch=2) == 0  # nothing twice
    rows = {row.customer_id: row for row in await _rows(any_sessions, notice)}
    assert set(rows) == {ids[k] for k in ("en", "zh", "two_homes", "blocked", "no_alerts")}
    assert all(row.priority == PRIORITY_BROADCAST for row in rows.values())
    english, chinese = rows[ids["en"]].payload["text"], rows[ids["zh"]].payload["text"]
    assert "Notice from the property team" in english and "Water is off &lt;10:00-12:00&gt; &amp; sorry." in english
    assert "物业服务通知" in chinese and "今天10:00-12:00停水。" in chinese
    assert rows[ids["two_homes"]].payload["text"] == chinese
    assert rows[ids["no_alerts"]].status == "pending", "a service notice ignores the listing-alert opt-out"
    assert (rows[ids["blocked"]].status, rows[ids["blocked"]].error) == ("failed", broadcasts.BLOCKED_ERROR)
    async with any_sessions() as session:
        stored = await session.get(Broadcast, notice)
        assert (stored.status, stored.recipients, stored.estimated) == ("sending", 5, 5)
        counts = (await broadcast_rows.status_counts(session, [notice]))[notice]
    assert counts == {"queued": 4, "sent": 0, "failed": 0, "blocked": 1, "cancelled": 0}

    # The sender reports: three sent, one blocked on the notice itself, one refused.
    async with any_sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.customer_id.in_(
            [ids["en"], ids["zh"], ids["two_homes"]]), OutboxMessage.broadcast_id == notice).values(status="sent"))
        await session.execute(update(OutboxMessage).where(OutboxMessage.customer_id == ids["no_alerts"],
                                                          OutboxMessage.broadcast_id == notice)
                              .values(status="failed", error="forbidden: bot was blocked by the user"))
    await broadcasts.tick(workplace)
    async with any_sessions() as session:
        stored = await session.get(Broadcast, notice)
        assert stored.status == "done" and stored.finished_at == MORNING
        counts = (await broadcast_rows.status_counts(session, [notice]))[notice]
        blocked = await broadcast_rows.recipients(session, notice, status="blocked")
    assert counts == {"queued": 0, "sent": 3, "failed": 0, "blocked": 2, "cancelled": 0}
    assert {r.customer_id for r in blocked} == {ids["blocked"], ids["no_alerts"]}


async def test_quiet_hours_hold_a_notice_until_the_morning_unless_urgent(any_sessions, frozen_clock):
    _, projects, _, author = await _estate(any_sessions)
    workplace = workplace_for(any_sessions)
    night = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    eight = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 the next morning
    frozen_clock.set(night)
    sunny = {"project": [str(projects["Sunny Garden"])]}
    calm = await _schedule(any_sessions, author, sunny)
    urgent = await _schedule(any_sessions, author, sunny, urgent=True, text_en="Water cut now.")
    assert await broadcasts.tick(workplace) == 5  # the urgent one only
    async with any_sessions() as session:
        held = await session.get(Broadcast, calm)
        assert (held.status, held.held_until) == ("scheduled", eight)
        assert (await session.get(Broadcast, urgent)).status == "sending"
    frozen_clock.set(eight)
    assert await broadcasts.tick(workplace) == 5
    assert {row.status for row in await _rows(any_sessions, calm)} == {"pending", "failed"}

    # Still going out at 21:00: what has not gone yet waits for the next morning; the urgent one does not.
    evening = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    frozen_clock.set(evening)
    await broadcasts.tick(workplace)
    next_morning = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    pending = [row for row in await _rows(any_sessions, calm) if row.status == "pending"]
    assert pending and all(row.next_attempt_at == next_morning for row in pending)
    assert all(row.next_attempt_at < evening for row in await _rows(any_sessions, urgent) if row.status == "pending")


async def test_cancelling_stops_what_has_not_gone_out(any_sessions, clock_at_ten):
    _, projects, _, author = await _estate(any_sessions)
    workplace = workplace_for(any_sessions)
    notice = await _schedule(any_sessions, author, {"project": [str(projects["Sunny Garden"])]})
    await broadcasts.tick(workplace)
    first = (await _rows(any_sessions, notice))[0]
    async with any_sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == first.id).values(status="sent"))
    async with workplace.open(Actor.staff(author)) as work:
        assert await broadcasts.cancel(work, notice) == 3  # four queued, one of them sent already
    with pytest.raises(BroadcastError, match="can no longer be cancelled"):
        async with workplace.open(Actor.staff(author)) as work:
            await broadcasts.cancel(work, notice)
    async with any_sessions() as session:
        stored = await session.get(Broadcast, notice)
        assert (stored.status, stored.cancelled_by) == ("cancelled", author)
        counts = (await broadcast_rows.status_counts(session, [notice]))[notice]
    assert counts == {"queued": 0, "sent": 1, "failed": 0, "blocked": 1, "cancelled": 3}
    # A row that was in flight and came back (a 429) is swept by the next tick.
    async with any_sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == first.id).values(status="pending"))
    await broadcasts.tick(workplace)
    async with any_sessions() as session:
        assert (await session.get(OutboxMessage, first.id)).status == "cancelled"


async def test_a_scheduled_notice_waits_for_its_time_and_can_be_cancelled_before(any_sessions, clock_at_ten):
    _, projects, _, author = await _estate(any_sessions)
    workplace = workplace_for(any_sessions)
    later = await _schedule(any_sessions, author, {"project": [str(projects["Lake View"])]},
                            at=MORNING + timedelta(hours=2))
    assert await broadcasts.tick(workplace) == 0
    async with workplace.open(Actor.staff(author)) as work:
        assert await broadcasts.cancel(work, later) == 0
    clock_at_ten.advance(hours=3)
    assert await broadcasts.tick(workplace) == 0
    assert await _rows(any_sessions, later) == []
