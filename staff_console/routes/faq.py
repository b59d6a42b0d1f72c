"""The FAQ the bot answers from: admins list, write, edit, retire and restore entries in English and Chinese, and
import/export them as CSV (`language,question,answer,keywords,retired`). Rules: storage.services.faq."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, or_, select

from staff_console.context import Form, NavItem, act, db, flash, path_id, requires, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from storage.csv_export import csv_text
from storage.importers import CsvFormatError
from storage.importers.faq import FAQ_COLUMNS, export_rows, import_faq
from storage.models import FaqEntry
from storage.services import faq
from storage.services.faq import FaqError
from storage.vocabulary import FAQ_LANGUAGES

NAV = [NavItem(N_("FAQ"), "/faq", ("admin",), order=62)]
PAGE = 50
STATES = ("active", "retired", "all")


def _draft_values(form: Form) -> dict[str, str]:
    return {name: str(form.get(name, "")) for name in ("language", "question", "answer", "keywords")}


def _draft(values: dict[str, str]) -> faq.FaqDraft:
    return faq.check_entry(language=values["language"], question=values["question"], answer=values["answer"],
                           keywords=faq.split_keywords(values["keywords"]))


async def _list_context(request: web.Request) -> dict[str, Any]:
    query, language = request.query.get("q", "").strip(), request.query.get("lang", "")
    state = request.query.get("state", "active")
    state = state if state in STATES else "active"
    language = language if language in FAQ_LANGUAGES else ""
    page = min(max(1, to_int(request.query.get("page"), 1) or 1), 1_000_000)
    statement = select(FaqEntry)
    if language:
        statement = statement.where(FaqEntry.language == language)
    if state == "active":
        statement = statement.where(FaqEntry.retired_at.is_(None))
    elif state == "retired":
        statement = statement.where(FaqEntry.retired_at.is_not(None))
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(or_(func.lower(FaqEntry.question).like(like),
                                        func.lower(FaqEntry.answer).like(like)))
    async with db(request)() as session:
        total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        entries = (await session.scalars(statement.order_by(FaqEntry.language, FaqEntry.id)
                                         .offset((page - 1) * PAGE).limit(PAGE))).all()
    filters = {"q": query, "lang": language, "state": state}
    return {"entries": entries, "f": filters, "languages": FAQ_LANGUAGES, "states": STATES, "page": page,
            "total": total, "pages": max(1, -(-total // PAGE)),
            "query_base": urlencode({k: v for k, v in filters.items() if v}), "error": None, "values": {}}


@requires("admin")
async def faq_list(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("faq/list.html", request, await _list_context(request))


@requires("admin")
async def faq_create(request: web.Request) -> web.StreamResponse:
    values = _draft_values(await request.post())
    _ = translator(request)
    try:
        async with act(request) as work:
            entry = await faq.create_entry(work, _draft(values))
    except FaqError as exc:
        context = await _list_context(request)
        context.update(error=_("Not saved: %(reason)s.", reason=error_text(_, exc)), values=values)
        return aiohttp_jinja2.render_template("faq/list.html", request, context, status=400)
    await flash(request, _("FAQ entry added."))
    raise web.HTTPSeeOther(f"/faq/{entry.id}")


@requires("admin")
async def faq_edit(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        entry = await session.get(FaqEntry, path_id(request, "entry_id"))
    if entry is None:
        raise web.HTTPNotFound(text=translator(request).gettext("No such FAQ entry."))
    return aiohttp_jinja2.render_template("faq/entry.html", request, {"entry": entry, "languages": FAQ_LANGUAGES,
                                                                      "error": None, "values": {}})


@requires("admin")
async def faq_update(request: web.Request) -> web.StreamResponse:
    entry_id = path_id(request, "entry_id")
    values = _draft_values(await request.post())
    _ = translator(request)
    try:
        async with act(request) as work:
            await faq.update_entry(work, entry_id, _draft(values))
    except FaqError as exc:
        async with db(request)() as session:
            entry = await session.get(FaqEntry, entry_id)
        if entry is None:
            raise web.HTTPNotFound() from None
        return aiohttp_jinja2.render_template("faq/entry.html", request, {
            "entry": entry, "languages": FAQ_LANGUAGES, "values": values,
            "error": _("Not saved: %(reason)s.", reason=error_text(_, exc))}, status=400)
    await flash(request, _("Saved."))
    raise web.HTTPSeeOther(f"/faq/{entry_id}")


@requires("admin")
async def faq_retire(request: web.Request) -> web.StreamResponse:
    entry_id = path_id(request, "entry_id")
    retire = (await request.post()).get("retired") != "0"
    _ = translator(request)
    try:
        async with act(request) as work:
            await faq.set_retired(work, entry_id, retire)
    except FaqError as exc:
        await flash(request, _("Not saved: %(reason)s.", reason=error_text(_, exc)), "error")
        raise web.HTTPSeeOther(f"/faq/{entry_id}") from None
    await flash(request, _("Retired: the assistant no longer answers with this entry.") if retire
                else _("Restored: the assistant answers with this entry again."))
    raise web.HTTPSeeOther(f"/faq/{entry_id}")


@requires("admin")
async def faq_export(request: web.Request) -> web.StreamResponse:
    async with act(request) as work:
        rows = await export_rows(work.session)
        await work.audit("export", target_type="faq", details={"rows": len(rows)})
    return web.Response(body=csv_text(FAQ_COLUMNS, rows).encode("utf-8-sig"), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="faq.csv"'})


def _import_page(request: web.Request, report: Any = None, error: str | None = None,
                 status: int = 200) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("faq/import.html", request, {"report": report, "error": error,
                                                                        "columns": FAQ_COLUMNS}, status=status)


@requires("admin")
async def faq_import_page(request: web.Request) -> web.StreamResponse:
    return _import_page(request)


@requires("admin")
async def faq_import(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = translator(request)
    upload = form.get("file")
    if upload is None or not hasattr(upload, "file"):
        return _import_page(request, error=_("Choose a CSV file."), status=400)
    data = await asyncio.to_thread(upload.file.read)
    try:
        async with act(request) as work:
            report = await import_faq(work.session, data)
            await work.audit("faq_import", target_type="faq",
                             details={"summary": report.summary(), "file": getattr(upload, "filename", "")})
    except CsvFormatError as exc:
        return _import_page(request, error=_("Nothing imported: %(reason)s", reason=error_text(_, exc)), status=400)
    return _import_page(request, report=report)


def setup(app: web.Application) -> None:
    app.router.add_get("/faq", faq_list)
    app.router.add_post("/faq", faq_create)
    app.router.add_get("/faq/export.csv", faq_export)
    app.router.add_get("/faq/import", faq_import_page)
    app.router.add_post("/faq/import", faq_import)
    app.router.add_get("/faq/{entry_id:\\d+}", faq_edit)
    app.router.add_post("/faq/{entry_id:\\d+}", faq_update)
    app.router.add_post("/faq/{entry_id:\\d+}/retire", faq_retire)
