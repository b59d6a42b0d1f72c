"""Homes already sold (projects, buildings, units): service staff and admins browse them, correct owners and
handover dates, and link a customer as the verified owner by hand. Rules: storage.services.units; the CSV import
(`homedesk import-units`) fills them in bulk."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from staff_console.context import NavItem, act, db, flash, path_id, requires, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from storage.repositories import units as units_repo
from storage.services import units
from storage.services.units import UnitError

NAV = [NavItem(N_("Homes"), "/units", ("admin", "service"), order=45)]
PAGE = 50


@requires("admin", "service")
async def unit_list(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "").strip()[:100]
    flag = request.query.get("flag", "")
    flag = flag if flag in units_repo.FLAGS else ""
    project_id = to_int(request.query.get("project"))
    page = min(max(1, to_int(request.query.get("page"), 1) or 1), 1_000_000)
    async with db(request)() as session:
        rows, total = await units_repo.browse(session, project_id=project_id, query=query, flag=flag, page=page,
                                              per_page=PAGE)
        projects = await units_repo.projects(session)
    filters = {"q": query, "flag": flag, "project": str(project_id) if project_id is not None else ""}
    return aiohttp_jinja2.render_template("units/list.html", request, {
        "rows": rows, "projects": projects, "f": filters, "flags": units_repo.FLAGS, "page": page, "total": total,
        "pages": max(1, -(-total // PAGE)), "query_base": urlencode({k: v for k, v in filters.items() if v}),
    })


async def _unit_page(request: web.Request, unit_id: int, *, error: str | None = None,
                     values: dict[str, str] | None = None, status: int = 200) -> web.StreamResponse:
    async with db(request)() as session:
        detail = await units_repo.detail(session, unit_id)
    if detail is None:
        raise web.HTTPNotFound(text=translator(request).gettext("No such home."))
    context: dict[str, Any] = {"d": detail, "unit": detail.row.unit, "error": error, "values": values or {}}
    return aiohttp_jinja2.render_template("units/unit.html", request, context, status=status)


@requires("admin", "service")
async def unit_page(request: web.Request) -> web.StreamResponse:
    return await _unit_page(request, path_id(request, "unit_id"))


@requires("admin", "service")
async def unit_update(request: web.Request) -> web.StreamResponse:
    unit_id = path_id(request, "unit_id")
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in ("owner_name", "owner_phone", "handover_date")}
    _ = translator(request)
    try:
        details = units.check_unit(**values)
        async with act(request) as work:
            await units.update_unit(work, unit_id, details)
    except UnitError as exc:  # a home that does not exist is not found on its page
        return await _unit_page(request, unit_id, error=_("Not saved: %(reason)s.", reason=error_text(_, exc)),
                                values=values, status=400)
    await flash(request, _("Saved."))
    raise web.HTTPSeeOther(f"/units/{unit_id}")


@requires("admin", "service")
async def owner_link(request: web.Request) -> web.StreamResponse:
    unit_id = path_id(request, "unit_id")
    raw = str((await request.post()).get("customer_id", "")).strip().lstrip("#")
    customer_id = to_int(raw)
    _ = translator(request)
    if customer_id is None or customer_id < 1:
        return await _unit_page(request, unit_id, status=400,
                                error=_("Give the number of the customer who owns this home."))
    try:
        async with act(request) as work:
            await units.link_owner(work, unit_id, customer_id)
    except UnitError as exc:  # a home that does not exist is not found on its page
        return await _unit_page(request, unit_id, status=400,
                                error=_("Not linked: %(reason)s.", reason=error_text(_, exc)))
    await flash(request, _("Customer #%(number)s is now the verified owner of this home.", number=customer_id))
    raise web.HTTPSeeOther(f"/units/{unit_id}")


@requires("admin", "service")
async def owner_unlink(request: web.Request) -> web.StreamResponse:
    unit_id, customer_id = path_id(request, "unit_id"), path_id(request, "customer_id")
    _ = translator(request)
    try:
        async with act(request) as work:
            await units.unlink_owner(work, unit_id, customer_id)
    except UnitError as exc:
        await flash(request, _("Not saved: %(reason)s.", reason=error_text(_, exc)), "error")
        raise web.HTTPSeeOther(f"/units/{unit_id}") from None
    await flash(request, _("Customer #%(number)s is no longer linked to this home.", number=customer_id))
    raise web.HTTPSeeOther(f"/units/{unit_id}")


def setup(app: web.Application) -> None:
    app.router.add_get("/units", unit_list)
    app.router.add_get("/units/{unit_id:\\d+}", unit_page)
    app.router.add_post("/units/{unit_id:\\d+}", unit_update)
    app.router.add_post("/units/{unit_id:\\d+}/owners", owner_link)
    app.router.add_post("/units/{unit_id:\\d+}/owners/{customer_id:\\d+}/remove", owner_unlink)
