"""The inbox: waiting, mine, all open, closed; the page keeps itself current over the WebSocket."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from staff_console.context import ALL_ROLES, NavItem, db, requires, staff
from staff_console.i18n import N_
from storage.repositories import inbox

# "Try the bot" opens the customer web chat (served by the same web server): staff talk to the bot as customers do.
NAV = [NavItem(N_("Inbox"), "/inbox", ("admin", "agent"), order=10),
       NavItem(N_("Try the bot"), "/chat", ALL_ROLES, order=95)]


def _view(request: web.Request) -> str:
    view = request.query.get("view", "waiting")
    return view if view in inbox.VIEWS else "waiting"


@requires("admin", "agent")
async def inbox_page(request: web.Request) -> web.StreamResponse:
    view = _view(request)
    me = staff(request)
    async with db(request)() as session:
        rows = await inbox.list_view(session, view, staff_id=me.id, search=request.query.get("q") or None)
        counts = await inbox.counts(session, me.id)
    return aiohttp_jinja2.render_template("inbox.html", request, {
        "view": view, "views": inbox.VIEWS, "rows": rows, "counts": counts, "q": request.query.get("q", ""),
    })


@requires("admin", "agent")
async def inbox_api(request: web.Request) -> web.StreamResponse:
    view = _view(request)
    async with db(request)() as session:
        rows = await inbox.list_view(session, view, staff_id=staff(request).id)
    return web.json_response({"view": view, "rows": [row.to_json() for row in rows]})


def setup(app: web.Application) -> None:
    app.router.add_get("/inbox", inbox_page)
    app.router.add_get("/api/inbox", inbox_api)
