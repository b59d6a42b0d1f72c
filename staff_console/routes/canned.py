"""Canned replies: admins write them per language; agents search and insert them in the reply box."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, or_, select

from staff_console.context import Form, NavItem, act, db, flash, requires, staff, to_int
from staff_console.i18n import N_, translator
from storage.db import LIKE_ESCAPE, like_pattern
from storage.models import CannedReply

NAV = [NavItem(N_("Canned replies"), "/canned", ("admin", "agent"), order=60)]
LANGUAGES = ("en", "zh")


@requires("admin", "agent")
async def canned_list(request: web.Request) -> web.StreamResponse:
    query, language = request.query.get("q", "").strip(), request.query.get("lang", "")
    statement = select(CannedReply).order_by(CannedReply.language, CannedReply.title)
    if language in LANGUAGES:
        statement = statement.where(CannedReply.language == language)
    if query:
        like = like_pattern(query)
        statement = statement.where(or_(func.lower(CannedReply.title).like(like, escape=LIKE_ESCAPE),
                                        func.lower(CannedReply.body).like(like, escape=LIKE_ESCAPE)))
    async with db(request)() as session:
        replies = (await session.scalars(statement)).all()
    if request.query.get("format") == "json":
        return web.json_response([{"id": r.id, "language": r.language, "title": r.title, "body": r.body}
                                  for r in replies])
    return aiohttp_jinja2.render_template("canned.html", request, {"replies": replies, "q": query,
                                                                   "lang": language, "languages": LANGUAGES})


def _fields(form: Form) -> tuple[str, str, str]:
    language = str(form.get("language", "en"))
    return (language if language in LANGUAGES else "en", str(form.get("title", "")).strip()[:128],
            str(form.get("body", "")).strip()[:4000])


@requires("admin")
async def canned_create(request: web.Request) -> web.StreamResponse:
    language, title, body = _fields(await request.post())
    _ = translator(request)
    if not title or not body:
        await flash(request, _("A canned reply needs a title and a text."), "error")
        raise web.HTTPSeeOther("/canned")
    async with act(request) as work:
        work.session.add(CannedReply(language=language, title=title, body=body, created_by=staff(request).id))
    await flash(request, _("Canned reply added."))
    raise web.HTTPSeeOther("/canned")


@requires("admin")
async def canned_update(request: web.Request) -> web.StreamResponse:
    reply_id = to_int(request.match_info["reply_id"])
    form = await request.post()
    _ = translator(request)
    async with act(request) as work:
        session = work.session
        reply = await session.get(CannedReply, reply_id) if reply_id else None
        if reply is None:
            raise web.HTTPNotFound()
        if form.get("delete"):
            await session.delete(reply)
            message = _("Deleted.")
        else:
            reply.language, reply.title, reply.body = _fields(form)
            message = _("Saved.")
    await flash(request, message)
    raise web.HTTPSeeOther("/canned")


def setup(app: web.Application) -> None:
    app.router.add_get("/canned", canned_list)
    app.router.add_post("/canned", canned_create)
    app.router.add_post("/canned/{reply_id:\\d+}", canned_update)
