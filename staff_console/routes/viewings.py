"""Viewings calendar: every agent's week (or one agent's), day by day, with the outcome of each viewing; staff book
and move viewings from it through the same service as on the customer card (storage/services/on_behalf.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from staff_console import cards
from staff_console.context import NavItem, act, db, flash, path_id, requires, staff, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from staff_console.routes.entered import _field, _local_time
from storage import clock
from storage.models import Customer, Listing, Viewing
from storage.repositories import customers as customers_repo
from storage.repositories import listings as listings_repo
from storage.repositories import staff as staff_repo
from storage.services import on_behalf
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
    # Everyone's week by default ("all"), or one agent's.
    agent_id = None if request.query.get("agent", "all") == "all" else to_int(request.query.get("agent"), me.id)
    monday = _week_start(request.query.get("week"), clock.now().astimezone(tz).date())
    since = datetime.combine(monday, time.min, tzinfo=tz)
    async with db(request)() as session:
        agents = await staff_repo.agents(session)
        rows = (await session.execute(
            select(Viewing, Listing, Customer).join(Listing, Listing.id == Viewing.listing_id)
            .join(Customer, Customer.id == Viewing.customer_id)
            .where(*([Viewing.agent_id == agent_id] if agent_id is not None else []), Viewing.starts_at >= since,
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
        "outcomes": list(viewing_service.OUTCOMES), "now": clock.now().astimezone(tz), cards.DISTRICTS_KEY: districts,
        "names": names, "agent_query": "all" if agent_id is None else agent_id,
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


def _to_calendar(request: web.Request, week: str) -> web.HTTPSeeOther:
    agent = str(request.query.get("agent", "all"))
    return web.HTTPSeeOther(f"/viewings?agent={agent if agent == 'all' else to_int(agent, 0)}&week={week}")


@requires("admin", "agent")
async def book(request: web.Request) -> web.StreamResponse:
    """A viewing booked from the calendar: the customer found by name or phone (exactly one), the home by its
    reference code, the day and time in the staff member's time zone."""
    _ = translator(request)
    form = await request.post()
    who, ref = _field(form, "customer", 100), _field(form, "listing", 64)
    when = _local_time(_, _field(form, "day", 10), _field(form, "time", 5))
    week = (when.date() if when else clock.now().astimezone(_.tz).date()).isoformat()
    problem = None
    listing: Listing | None = None
    found: list[Customer] = []
    if not who:
        problem = _("Give the customer's name or phone.")
    elif not ref:
        problem = _("Give the reference code of the home.")
    elif when is None:
        problem = _("Choose the day and the time of the viewing.")
    if problem is None:
        async with db(request)() as session:
            found, total = await customers_repo.search(session, query=who, per_page=2)
            listing = await listings_repo.by_ref(session, ref)
        if total != 1:
            problem = _("No customer matches %(who)s.", who=who) if total == 0 else \
                _("%(count)s customers match %(who)s; give their phone.", count=total, who=who)
        elif listing is None:
            problem = _("No home has the reference code %(ref)s.", ref=ref)
    if problem is None and when is not None and listing is not None and found:
        try:
            async with act(request) as work:
                await on_behalf.book_viewing(work, found[0].id, listing.id, when)
        except (viewing_service.ViewingError, on_behalf.OnBehalfError) as exc:
            problem = _("Not booked: %(reason)s.", reason=error_text(_, exc))
    if problem is not None:
        await flash(request, problem, "error")
    else:
        await flash(request, _("Viewing booked; the customer and the agent have been told."))
    raise _to_calendar(request, week)


@requires("admin", "agent")
async def reschedule(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    form = await request.post()
    viewing_id = path_id(request, "viewing_id")
    async with db(request)() as session:
        if await session.get(Viewing, viewing_id) is None:
            raise web.HTTPNotFound()
    when = _local_time(_, _field(form, "day", 10), _field(form, "time", 5))
    if when is None:
        await flash(request, _("Choose the new day and time."), "error")
        raise _to_calendar(request, clock.now().astimezone(_.tz).date().isoformat())
    try:
        async with act(request) as work:
            await on_behalf.reschedule_viewing(work, viewing_id, when)
    except viewing_service.ViewingError as exc:
        await flash(request, _("Not booked: %(reason)s.", reason=error_text(_, exc)), "error")
    else:
        await flash(request, _("Viewing moved; the customer and the agent have been told."))
    raise _to_calendar(request, when.date().isoformat())


def setup(app: web.Application) -> None:
    app.router.add_get("/viewings", calendar)
    app.router.add_post("/viewings/{viewing_id:\\d+}/outcome", outcome)
    app.router.add_post("/viewings/new", book)
    app.router.add_post("/viewings/{viewing_id:\\d+}/reschedule", reschedule)
