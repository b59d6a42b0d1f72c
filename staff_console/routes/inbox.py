"""The inbox: waiting, mine, all open, closed; the page keeps itself current over the WebSocket."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from staff_console.context import ALL_ROLES, NavItem, act, db, local_path, requires, staff, to_int, wants_json
from staff_console.i18n import LANGUAGES, N_
from storage.models import Staff
from storage.repositories import inbox
from storage.repositories import staff as staff_repo
from storage.repositories.inbox import InboxFilters
from storage.services import handoff
from storage.vocabulary import CHANNELS, StaffRole

# "Try the bot" opens the customer web chat (served by the same web server): staff talk to the bot as customers do.
NAV = [NavItem(N_("Inbox"), "/inbox", ALL_ROLES, order=10),
       NavItem(N_("Try the bot"), "/chat", ALL_ROLES, order=95)]
LIST_KEYS = ("view", "q", "channel", "language", "team", "waiting", "sort")


def _views(me: Staff) -> tuple[str, ...]:
    """Service staff work the chats transferred to their team (and those they took); the chat team sees all."""
    return inbox.SERVICE_VIEWS if me.role == StaffRole.SERVICE else inbox.VIEWS


def _view(request: web.Request) -> str:
    views = _views(staff(request))
    view = request.query.get("view", views[0])
    return view if view in views else views[0]


def _filters(request: web.Request) -> InboxFilters:
    """The list's filters from the address; a value that is not one of the choices is ignored, never an error."""
    query = request.query
    minutes = to_int(query.get("waiting"))
    sort = query.get("sort", "")
    return InboxFilters(
        search=query.get("q", "").strip()[:100],
        channel=query.get("channel", "") if query.get("channel") in CHANNELS else "",
        language=query.get("language", "") if query.get("language") in LANGUAGES else "",
        team=query.get("team", "").strip()[:64],
        waiting_minutes=minutes if minutes is not None and 0 <= minutes <= inbox.MAX_WAITING_MINUTES else None,
        sort=sort if sort in inbox.SORTS else "activity",
    )


def _team(me: Staff) -> str | None:
    """Whose team view: the staff member's team; every team's for admins."""
    return None if me.role == StaffRole.ADMIN else (me.team or "")


async def list_context(request: web.Request, session: AsyncSession) -> dict[str, Any]:
    """What the work list shows (`_inbox_list.html`): the inbox page, and the conversation page's left column on a
    wide screen, which keeps the same view and filters in its address."""
    view = _view(request)
    me = staff(request)
    filters = _filters(request)
    rows = await inbox.list_view(session, view, staff_id=me.id, filters=filters, team=_team(me))
    counts = await inbox.counts(session, me.id, _team(me))
    teams = await staff_repo.teams(session)
    return {"view": view, "views": _views(me), "rows": rows, "counts": counts, "q": filters.search,
            "filters": filters, "channels": CHANNELS, "languages": LANGUAGES, "teams": teams, "sorts": inbox.SORTS,
            "my_team": _team(me), "list_query": list_query(request)}


def list_query(request: web.Request) -> str:
    """The list's own part of an address (view and filters), kept when a conversation opens beside it."""
    kept = [(key, value) for key, value in request.query.items() if key in LIST_KEYS and value]
    return ("?" + urlencode(kept)) if kept else ""


@requires(*ALL_ROLES)
async def inbox_page(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        context = await list_context(request, session)
    return aiohttp_jinja2.render_template("inbox.html", request, {**context, "selected": None})


@requires(*ALL_ROLES)
async def inbox_api(request: web.Request) -> web.StreamResponse:
    view = _view(request)
    me = staff(request)
    async with db(request)() as session:
        rows = await inbox.list_view(session, view, staff_id=me.id, filters=_filters(request), team=_team(me))
    return web.json_response({"view": view, "rows": [row.to_json() for row in rows]})


@requires(*ALL_ROLES)
async def counts_api(request: web.Request) -> web.StreamResponse:
    """The tab counters and my unread count, which every console page shows (the title counter too)."""
    me = staff(request)
    async with db(request)() as session:
        return web.json_response(await inbox.counts(session, me.id, _team(me)))


@requires("admin", "agent")
async def availability(request: web.Request) -> web.StreamResponse:
    """The Available / Away switch in the header."""
    form = await request.post()
    available = str(form.get("available", "")) == "1"
    async with act(request) as work:
        assigned = await handoff.set_availability(work, available)
    if wants_json(request):
        return web.json_response({"available": available, "assigned": assigned})
    raise web.HTTPSeeOther(local_path(str(form.get("next", "/inbox")), "/inbox"))


def setup(app: web.Application) -> None:
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/api/inbox", inbox_api)
    app.router.add_get("/api/inbox/counts", counts_api)
    app.router.add_post("/availability", availability)
