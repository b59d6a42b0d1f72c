"""Viewings calendar: one agent's week, day by day, with the outcome of each viewing."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from staff_console import cards
from staff_console.context import NavItem, act, db, flash, path_id, requires, staff, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from storage.models import Customer, Listing, Viewing
from storage.repositories import staff as staff_repo
from storage.services import viewings as viewing_service

NAV = [NavItem(N_("Viewings"), "/viewings", ("admin", "agent"), order=40)]


def _week_start(value: str | None, today: date) -> date:
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        day = today
    return day - timedelta(days=day.weekday())


@requires("admin", "agent")
async def calendar(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    tz = translator(request).tz
    agent_id = to_int(request.query.get("agent"), me.id) if me.role == "admin" else me.id
    monday = _week_start(request.query.get("week"), datetime.now(tz).date())
    since = datetime.combine(monday, time.min, tzinfo=tz)
    async with db(request)() as session:
        agents = await staff_repo.agents(session)
        rows = (await session.execute(
            select(Viewing, Listing, Customer).join(Listing, Listing.id == Viewing.listing_id)
            .join(Customer, Customer.id == Viewing.customer_id)
            .where(Viewing.agent_id == agent_id, Viewing.starts_at >= since,
                   Viewing.starts_at < since + timedelta(days=7))
            .order_by(Viewing.starts_at)
        )).tuples().all()
        districts = await cards.district_names(session, translator(request))
        names = {person.id: person.name for person in await staff_repo.list_staff(session)}  # who booked for them
    days = [(monday + timedelta(days=i), [r for r in rows if r[0].starts_at.astimezone(tz).date()
                                          == monday + timedelta(days=i)]) for i in range(7)]
    return aiohttp_jinja2.render_template("viewings.html", request, {
        "days": days, "agents": agents, "agent_id": agent_id, "monday": monday,
        "previous": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "outcomes": list(viewing_service.OUTCOMES), "now": datetime.now(tz), cards.DISTRICTS_KEY: districts,
        "names": names,
    })


@requires("admin", "agent")
async def outcome(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    _ = translator(request)
    form = await request.post()
    value = str(form.get("outcome", ""))
    note = str(form.get("note", "")).strip()[:1000] or None
    async with act(request) as work:
        session = work.session
        viewing = await session.get(Viewing, path_id(request, "viewing_id"))
        if viewing is None:
            raise web.HTTPNotFound()
        if viewing.agent_id != me.id and me.role != "admin":
            raise web.HTTPForbidden(text=_("Only the viewing's agent records its outcome."))
        try:
            await viewing_service.record_outcome(session, viewing.id, value, note=note)
        except viewing_service.ViewingError as exc:
            message, ok = error_text(_, exc), False
        else:
            await work.audit("status", target_type="viewing", target_id=viewing.id,
                             details={"outcome": value})
            message, ok = _("Outcome saved."), True
        week = viewing.starts_at.astimezone(_.tz).date().isoformat()
        agent_id = viewing.agent_id
    await flash(request, message, "info" if ok else "error")
    if ok and value == "signed":  # a signed contract goes on to its deal, the form filled from the viewing
        raise web.HTTPSeeOther(f"/deals/new?viewing={viewing.id}")
    raise web.HTTPSeeOther(f"/viewings?agent={agent_id}&week={week}")


def setup(app: web.Application) -> None:
    app.router.add_get("/viewings", calendar)
    app.router.add_post("/viewings/{viewing_id:\\d+}/outcome", outcome)
