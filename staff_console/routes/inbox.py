"""The inbox: waiting, mine, all open, closed; the page keeps itself current over the WebSocket."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from staff_console.context import ALL_ROLES, NavItem, db, requires, staff
from staff_console.i18n import N_
from storage.models import Staff
from storage.repositories import inbox
from storage.vocabulary import StaffRole

# "Try the bot" opens the customer web chat (served by the same web server): staff talk to the bot as customers do.
NAV = [NavItem(N_("Inbox"), "/inbox", ALL_ROLES, order=10),
       NavItem(N_("Try the bot"), "/chat", ALL_ROLES, order=95)]


def _views(me: Staff) -> tuple[str, ...]:
    """Service staff work the chats transferred to their team (and those they took); the chat team sees all."""
    return inbox.SERVICE_VIEWS if me.role == StaffRole.SERVICE else inbox.VIEWS


def _view(request: web.Request) -> str:
    views = _views(staff(request))
    view = request.query.get("view", views[0])
    return view if view in views else views[0]


def _team(me: Staff) -> str | None:
    """Whose team view: the staff member's team; every team's for admins."""
    return None if me.role == StaffRole.ADMIN else (me.team or "")


@requires(*ALL_ROLES)
async def inbox_page(request: web.Request) -> web.StreamResponse:
    view = _view(request)
    me = staff(request)
    async with db(request)() as session:
        rows = await inbox.list_view(session, view, staff_id=me.id, search=request.query.get("q") or None,
                                     team=_team(me))
        counts = await inbox.counts(session, me.id, _team(me))
    return aiohttp_jinja2.render_template("inbox.html", request, {
        "view": view, "views": _views(me), "rows": rows, "counts": counts, "q": request.query.get("q", ""),
        "my_team": _team(me),
    })


@requires(*ALL_ROLES)
async def inbox_api(request: web.Request) -> web.StreamResponse:
    view = _view(request)
    me = staff(request)
    async with db(request)() as session:
        rows = await inbox.list_view(session, view, staff_id=me.id, team=_team(me))
    return web.json_response({"view": view, "rows": [row.to_json() for row in rows]})


def setup(app: web.Application) -> None:
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/api/inbox", inbox_api)
