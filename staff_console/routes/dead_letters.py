"""Dead letters (admins): updates the bot could not store or handle after a few tries, with their raw JSON and
the error. Intake went on without them; this page is where staff see what was skipped."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from staff_console.context import NavItem, db, requires, to_int
from staff_console.i18n import N_
from storage import updates
from storage.updates import fits_int64

NAV = [NavItem(N_("Dead letters"), "/dead-letters", ("admin",), order=85)]
PAGE = 50


@requires("admin")
async def dead_letter_list(request: web.Request) -> web.StreamResponse:
    before = to_int(request.query.get("before"))
    if not fits_int64(before):
        before = None
    async with db(request)() as session:
        letters = await updates.dead_letters(session, limit=PAGE, before=before)
        total = await updates.count_dead_letters(session)
    older = letters[-1].id if len(letters) == PAGE else None
    return aiohttp_jinja2.render_template("dead_letters.html", request, {
        "letters": letters, "total": total, "older": older, "paged": before is not None})


def setup(app: web.Application) -> None:
    app.router.add_get("/dead-letters", dead_letter_list)
