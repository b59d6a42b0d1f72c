"""Working hours, time off and a technician's data: parsing and checks (one rule for console, CLI and import),
and which agent a customer can book when some agents take no viewings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from storage import clock
from storage.models import Listing, Staff
from storage.services import staff_profiles, viewings
from storage.services.staff_accounts import StaffAccountError
from tests.journey_data import seed
from tests.workplace import SETTINGS


def test_a_week_of_hours_is_parsed_sorted_and_checked() -> None:
    assert staff_profiles.parse_week({"mon": "13:00-18:00；09:00-12:00", "tue": " 9:30 - 17:00 ", "wed": ""}) == {
        "mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:30", "17:00"]]}
    assert staff_profiles.parse_week({"sun": "00:00-24:00"}) == {"sun": [["00:00", "23:59"]]}
    for texts, message in (({"mon": "9-18"}, "Monday: 9-18 is not a time range like 09:00-18:00"),
                           ({"fri": "12:00-12:00"}, "Friday: 12:00-12:00 ends before it starts"),
                           ({"sat": "09:00-12:00, 11:59-13:00"}, "Saturday: the time ranges overlap"),
                           ({"tue": "09:60-10:00"}, "Tuesday: 09:60-10:00 is not a time range like 09:00-18:00")):
        with pytest.raises(StaffAccountError) as refused:
            staff_profiles.parse_week(texts)
        assert str(refused.value) == message


def test_the_command_lines_hours_option() -> None:
    week = staff_profiles.parse_hours_option("mon-fri 09:00-12:00, 13:00-18:00; sat/sun 10:00-16:00; wed 19:00-20:00")
    assert week["mon"] == week["fri"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert week["wed"] == [["09:00", "12:00"], ["13:00", "18:00"], ["19:00", "20:00"]]
    assert week["sat"] == week["sun"] == [["10:00", "16:00"]]
    assert staff_profiles.parse_hours_option("") == {}
    for bad in ("monday 09:00-18:00", "mon-fri", "09:00-18:00"):
        with pytest.raises(StaffAccountError, match="does not start with weekdays like mon-fri"):
            staff_profiles.parse_hours_option(bad)


def test_technician_data_is_checked_as_a_whole() -> None:
    person = Staff(email="t@example.com", name="T", role="service", password_hash="x", service_areas=["Old"],
                   skills=["plumbing"], level=2)
    with pytest.raises(StaffAccountError, match="the level is a whole number from 1 to 5"):
        staff_profiles.set_technician(person, areas="New", skills=["electrical"], level="6")
    with pytest.raises(StaffAccountError, match="unknown skill roofing"):
        staff_profiles.set_technician(person, areas="New", skills="roofing", level=3)
    assert (person.service_areas, person.skills, person.level) == (["Old"], ["plumbing"], 2)  # nothing changed
    staff_profiles.set_technician(person, areas="望京, Sunny Garden; 望京", skills="Electrical、plumbing", level=" 3 ")
    assert person.service_areas == ["望京", "Sunny Garden"] and person.skills == ["plumbing", "electrical"]
    assert person.level == 3
    with pytest.raises(StaffAccountError, match="at most 30 service areas"):
        staff_profiles.check_areas([f"A{i}" for i in range(31)])


async def test_time_off_is_whole_local_days_and_checked(sessions, frozen_clock) -> None:
    ids = await seed(sessions)
    async with sessions() as session, session.begin():
        agent = await session.get(Staff, ids["agent"])
        with pytest.raises(StaffAccountError, match="ends before it starts"):
            await staff_profiles.add_time_off(session, agent, date(2026, 3, 5), date(2026, 3, 4), None,
                                              company=SETTINGS.tz)
        with pytest.raises(StaffAccountError, match="already over"):
            await staff_profiles.add_time_off(session, agent, date(2026, 2, 1), date(2026, 3, 1), None,
                                              company=SETTINGS.tz)
        row = await staff_profiles.add_time_off(session, agent, date(2026, 3, 4), date(2026, 3, 4), " doctor ",
                                                company=SETTINGS.tz)
        assert staff_profiles.time_off_days(row, agent, SETTINGS.tz) == (date(2026, 3, 4), date(2026, 3, 4))
        assert row.reason == "doctor" and row.ends_at - row.starts_at == timedelta(days=1)
        assert await viewings.free_slots(session, agent.id, on_day=date(2026, 3, 4), settings=SETTINGS) == []
        assert await viewings.free_slots(session, agent.id, on_day=date(2026, 3, 5), settings=SETTINGS)
        other = await session.get(Staff, ids["agent2"])
        with pytest.raises(StaffAccountError, match="no such time off"):
            await staff_profiles.remove_time_off(session, other, row.id)
        await staff_profiles.remove_time_off(session, agent, row.id)
        assert await staff_profiles.time_off(session, agent.id) == []


async def test_a_listing_is_shown_by_an_agent_who_takes_viewings(any_sessions, frozen_clock) -> None:
    ids = await seed(any_sessions)
    async with any_sessions() as session, session.begin():
        listing = await session.get(Listing, ids["R-WJ-201"])
        own = await session.get(Staff, ids["agent"])
        assert (await viewings.agent_for_listing(session, listing, settings=SETTINGS)).id == own.id
        own.working_hours = {}  # a new agent without hours: the other agent shows the home
        await session.flush()
        assert not await viewings.takes_viewings(session, own, settings=SETTINGS)
        assert (await viewings.agent_for_listing(session, listing, settings=SETTINGS)).id == ids["agent2"]
        other = await session.get(Staff, ids["agent2"])
        await staff_profiles.add_time_off(session, other, clock.now().date(), clock.now().date() + timedelta(days=20),
                                          "leave", company=SETTINGS.tz)
        assert await viewings.viewing_agents(session, settings=SETTINGS) == []
        assert await viewings.agent_for_listing(session, listing, settings=SETTINGS) is None
        with pytest.raises(viewings.ViewingError, match="no agent for this listing"):
            await viewings.book(session, listing_id=listing.id, customer_id=1, settings=SETTINGS,
                                starts_at=clock.now() + timedelta(days=1))
