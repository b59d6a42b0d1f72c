"""The viewings calendar (issue 12): every agent's week at once, and viewings booked and moved from it through
the same service as on the customer card."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import Viewing
from tests.journey_data import seed
from tests.staff_console.conftest import sign_in
from tests.staff_console.test_entered import _customer, flashes, local


def _articles(page: str) -> list[str]:
    return re.findall(r'<article class="viewing[^"]*">(.*?)</article>', page, re.DOTALL)


async def test_the_calendar_shows_all_agents_and_books_and_moves_viewings(client, team, sessions,
                                                                         frozen_clock) -> None:
    ids = await seed(sessions)
    customer_id, _, chat_id = await _customer(sessions)
    token = await sign_in(client, "admin@example.com")
    booked = await client.post("/viewings/new?agent=all", data={
        "csrf_token": token, "customer": "13800131201", "listing": "R-WJ-201", "day": "2026-03-04",
        "time": "10:00"}, allow_redirects=False)
    assert booked.status == 303 and booked.headers["Location"] == "/viewings?agent=all&week=2026-03-04"
    async with sessions() as session:
        viewing = await session.scalar(select(Viewing))
    assert viewing is not None and viewing.customer_id == customer_id and viewing.starts_at == local(4, 10)
    assert viewing.agent_id == ids["agent"] and viewing.entered_by_id == team.admin.id

    # The admin's own calendar, all agents by default: the viewing of another agent, with that agent's name.
    page = await (await client.get("/viewings?week=2026-03-02")).text()
    assert re.search(r'<option value="all" selected>all agents</option>', page)
    (article,) = _articles(page)
    assert "R-WJ-201" in article and '<p class="agent">' in article
    assert f'action="/viewings/{viewing.id}/reschedule?agent=all"' in article  # it can be moved from here
    one = await (await client.get(f"/viewings?agent={team.agent2.id}&week=2026-03-02")).text()
    assert _articles(one) == []  # another agent's week alone

    refused = await client.post("/viewings/new", data={
        "csrf_token": token, "customer": "nobody-like-this", "listing": "R-WJ-201", "day": "2026-03-04",
        "time": "11:00"})
    assert ("error", "No customer matches nobody-like-this.") in flashes(await refused.text())
    no_time = await client.post(f"/viewings/{viewing.id}/reschedule", data={"csrf_token": token, "day": "2026-03-05",
                                                                           "time": "2 pm"})
    assert ("error", "Choose the new day and time.") in flashes(await no_time.text())
    moved = await client.post(f"/viewings/{viewing.id}/reschedule?agent=all", data={
        "csrf_token": token, "day": "2026-03-05", "time": "14:00"}, allow_redirects=False)
    assert moved.status == 303 and moved.headers["Location"] == "/viewings?agent=all&week=2026-03-05"
    async with sessions() as session:
        assert (await session.get(Viewing, viewing.id)).starts_at == local(5, 14)
    assert (await client.post("/viewings/999999/reschedule", data={"csrf_token": token, "day": "2026-03-05",
                                                                 "time": "14:00"})).status == 404
