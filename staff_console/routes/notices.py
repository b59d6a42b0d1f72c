"""Notices to owners (broadcasts): the list, the compose form (both languages, audience with a preview count,
time to send, urgent), and one notice with its recipients' statuses and a cancel button. Admins and service staff.
The rules are in storage/services/broadcasts.py and audiences.py; the reads in storage/repositories/broadcasts.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from staff_console.context import Form, NavItem, act, db, flash, path_id, requires, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, Translator, translator
from staff_console.words import word
from storage.repositories import broadcasts as broadcast_rows
from storage.services import audiences, broadcasts
from storage.services.audiences import AudienceError
from storage.services.broadcasts import BroadcastError
from storage.vocabulary import BROADCAST_ACTIVE, BROADCAST_STATUSES, RECIPIENT_STATUSES

ROLES = ("admin", "service")
NAV = [NavItem(N_("Notices"), "/notices", ROLES, order=45)]
PAGE_SIZE = 100
MAX_PAGE = 100_000  # 10 million recipients; beyond it an offset would not fit a database integer


def _audience_form(form: Form) -> dict[str, list[str]]:
    """The audience fields as the form sent them: one list of values per filter key."""
    return {key: [str(value) for value in form.getall(key, [])] for key in audiences.FILTERS}


def _draft(form: Form | None = None) -> dict[str, Any]:
    if form is None:
        return {"text_en": "", "text_zh": "", "send_at": "", "urgent": False,
                "audience": {key: [] for key in audiences.FILTERS}}
    return {"text_en": str(form.get("text_en", "")), "text_zh": str(form.get("text_zh", "")),
            "send_at": str(form.get("send_at", "")).strip(), "urgent": bool(form.get("urgent")),
            "audience": _audience_form(form)}


def _milestone_names(tr: Translator) -> dict[Any, str]:
    """"track:step" as staff read it: "Move-in · move-in notice sent"."""
    return {value: f"{word(tr, 'track', value.split(':')[0])} · {word(tr, 'milestone_status', value.split(':')[1])}"
            for value in audiences.MILESTONE_STEPS}


def _send_at(tr: Translator, value: str) -> datetime | None:
    """The form's local date and time (the staff member's time zone) as an aware moment; empty = now."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise BroadcastError("the time to send must look like 2026-03-02 09:30") from None
    if local.tzinfo is not None:
        return local
    return local.replace(tzinfo=tr.tz)


@requires(*ROLES)
async def notice_list(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status", "")
    status = status if status in BROADCAST_STATUSES else ""
    async with db(request)() as session:
        listed = await broadcast_rows.latest(session, status=status or None)
        names = await broadcast_rows.audience_names(session, [row.broadcast.audience for row in listed])
    names["milestone"] = _milestone_names(translator(request))
    rows = [(row, audiences.describe(row.broadcast.audience, names)) for row in listed]
    return aiohttp_jinja2.render_template("notices/list.html", request, {
        "rows": rows, "status": status, "statuses": BROADCAST_STATUSES})


async def _compose(request: web.Request, draft: dict[str, Any], *, preview: audiences.Count | None = None,
                   error: str | None = None, status: int = 200) -> web.StreamResponse:
    async with db(request)() as session:
        offered = await audiences.choices(session)
    response = aiohttp_jinja2.render_template("notices/compose.html", request, {
        "draft": draft, "choices": offered, "preview": preview, "error": error, "max_text": broadcasts.MAX_TEXT})
    response.set_status(status)
    return response


@requires(*ROLES)
async def notice_new(request: web.Request) -> web.StreamResponse:
    return await _compose(request, _draft())


@requires(*ROLES)
async def notice_create(request: web.Request) -> web.StreamResponse:
    """`action=preview` counts the audience and shows the form again; otherwise the notice is scheduled."""
    form = await request.post()
    draft = _draft(form)
    _ = translator(request)
    if form.get("action") == "preview":
        try:
            async with db(request)() as session:
                stored = await audiences.parse(session, draft["audience"])
                counted = await audiences.count(session, stored)
        except AudienceError as exc:
            return await _compose(request, draft, error=error_text(_, exc), status=400)
        return await _compose(request, draft, preview=counted)
    try:
        at = _send_at(_, draft["send_at"])
        async with act(request) as work:
            notice = await broadcasts.schedule(work, text_en=draft["text_en"], text_zh=draft["text_zh"],
                                               audience=draft["audience"], urgent=draft["urgent"], at=at)
    except (BroadcastError, AudienceError) as exc:
        return await _compose(request, draft, error=error_text(_, exc), status=400)
    await flash(request, _("Notice scheduled for %(count)s owners.", count=notice.estimated))
    raise web.HTTPSeeOther(f"/notices/{notice.id}")


@requires(*ROLES)
async def notice_detail(request: web.Request) -> web.StreamResponse:
    broadcast_id = path_id(request, "broadcast_id")
    status = request.query.get("status", "")
    status = status if status in RECIPIENT_STATUSES else ""
    page = min(max(1, to_int(request.query.get("page"), 1) or 1), MAX_PAGE)
    async with db(request)() as session:
        notice = await broadcast_rows.get(session, broadcast_id)
        if notice is None:
            raise web.HTTPNotFound()
        counts = (await broadcast_rows.status_counts(session, [broadcast_id]))[broadcast_id]
        people = await broadcast_rows.recipients(session, broadcast_id, status=status or None,
                                                 offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
        names = await broadcast_rows.audience_names(session, [notice.audience])
    names["milestone"] = _milestone_names(translator(request))
    return aiohttp_jinja2.render_template("notices/detail.html", request, {
        "notice": notice, "counts": counts, "recipients": people[:PAGE_SIZE], "more": len(people) > PAGE_SIZE,
        "page": page, "status": status, "statuses": RECIPIENT_STATUSES,
        "audience": audiences.describe(notice.audience, names), "can_cancel": notice.status in BROADCAST_ACTIVE})


@requires(*ROLES)
async def notice_cancel(request: web.Request) -> web.StreamResponse:
    broadcast_id = path_id(request, "broadcast_id")
    _ = translator(request)
    try:
        async with act(request) as work:
            stopped = await broadcasts.cancel(work, broadcast_id)
    except BroadcastError as exc:
        if str(exc) == "no such notice":
            raise web.HTTPNotFound() from None
        await flash(request, error_text(_, exc), "error")
    else:
        await flash(request, _("Notice cancelled: %(count)s owners will not receive it.", count=stopped))
    raise web.HTTPSeeOther(f"/notices/{broadcast_id}")


def setup(app: web.Application) -> None:
    app.router.add_get("/notices", notice_list)
    app.router.add_get("/notices/new", notice_new)
    app.router.add_post("/notices", notice_create)
    app.router.add_get("/notices/{broadcast_id:\\d+}", notice_detail)
    app.router.add_post("/notices/{broadcast_id:\\d+}/cancel", notice_cancel)
