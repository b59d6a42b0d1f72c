"""Staff administration (admins): invite/create, edit role and limits, deactivate. Every change is audited."""

from __future__ import annotations

import secrets

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from staff_console.context import Form, NavItem, act, db, flash, requires, settings, staff, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from staff_console.security import start_staff_session
from storage.models import Staff
from storage.repositories import staff as staff_repo
from storage.services import staff_accounts
from storage.services.staff_accounts import StaffAccountError, create_staff
from storage.vocabulary import STAFF_ROLES, TEAMS

NAV = [NavItem(N_("Staff"), "/staff", ("admin",), order=80)]


@requires("admin")
async def staff_list(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        people = await staff_repo.list_staff(session)
    return aiohttp_jinja2.render_template("staff.html", request, {"people": people, "roles": STAFF_ROLES,
                                                                  "teams": TEAMS, "created": None})


def _team(form: Form, current: str | None = None) -> str | None:
    """The department chosen in a staff form: one of TEAMS, none, or the person's present (older, free-text) one;
    anything else is refused (ValueError) so the reports per team stay exact."""
    value = str(form.get("team", "")).strip()[:64] or None
    if value is None or value in TEAMS or value == current:
        return value
    raise ValueError(value)


@requires("admin")
async def staff_create(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, name, role = (str(form.get(k, "")).strip() for k in ("email", "name", "role"))
    password = str(form.get("password", "")) or secrets.token_urlsafe(12)  # an invitation password to pass on
    try:
        team = _team(form)
    except ValueError:
        await flash(request, translator(request)("Choose a team from the list."), "error")
        raise web.HTTPSeeOther("/staff") from None
    try:
        async with act(request) as work:
            created = await create_staff(work.session, email, name, role, password,
                                         team=team,
                                         language=settings(request).default_locale)
            await work.audit("staff_create", target_type="staff",
                             target_id=created.id, details={"email": created.email, "role": role})
    except StaffAccountError as exc:
        await flash(request, error_text(translator(request), exc), "error")
        raise web.HTTPSeeOther("/staff") from None
    async with db(request)() as session:
        people = await staff_repo.list_staff(session)
    shown = None if form.get("password") else password
    return aiohttp_jinja2.render_template("staff.html", request, {
        "people": people, "roles": STAFF_ROLES, "teams": TEAMS,
        "created": {"id": created.id, "email": created.email, "password": shown}})


@requires("admin")
async def staff_update(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    _ = translator(request)
    form = await request.post()
    target_id = to_int(request.match_info["staff_id"])
    my_new_token = None
    async with act(request) as work:
        session = work.session
        person = await session.get(Staff, target_id) if target_id else None
        if person is None:
            raise web.HTTPNotFound()
        before = {"role": person.role, "is_active": person.is_active}
        role = str(form.get("role", person.role))
        if role in STAFF_ROLES:
            person.role = role
        person.name = str(form.get("name", person.name)).strip()[:128] or person.name
        try:
            person.team = _team(form, person.team)
        except ValueError:
            raise web.HTTPBadRequest(text=_("Choose a team from the list.")) from None
        person.is_team_lead = form.get("is_team_lead") == "on"
        limit = to_int(form.get("max_concurrent"), person.max_concurrent) or 1
        person.max_concurrent = max(1, min(limit, 50))
        person.is_active = form.get("is_active") == "on"
        if person.id == me.id and (not person.is_active or person.role != "admin"):
            raise web.HTTPBadRequest(text=_("You cannot deactivate yourself or drop your own admin role."))
        new_password = str(form.get("password", ""))
        if new_password:
            if len(new_password) < 8:
                raise web.HTTPBadRequest(text=_("Passwords have at least 8 characters."))
            await staff_accounts.set_password(session, person, new_password)  # ends their sessions
            if person.id == me.id:  # this browser goes on with a new session
                my_new_token = await staff_accounts.start_session(session, me.id, ip=work.ip)
        if not person.is_active:
            person.online_until = None  # off the auto-assignment list at once
            await staff_accounts.end_sessions(session, person.id)
        after = {"role": person.role, "is_active": person.is_active}
        await work.audit("status" if before != after else "staff_update",
                         target_type="staff", target_id=person.id,
                         details={"before": before, "after": after, "password_reset": bool(new_password)})
    if my_new_token is not None:
        await start_staff_session(request, me, my_new_token)
    await flash(request, _("Saved."))
    raise web.HTTPSeeOther("/staff")


@requires("admin")
async def staff_sign_out(request: web.Request) -> web.StreamResponse:
    """Sign a staff member out everywhere: every session ends, every copy of their cookie stops working."""
    target_id = to_int(request.match_info["staff_id"])
    async with act(request) as work:
        person = await work.session.get(Staff, target_id) if target_id else None
        if person is None:
            raise web.HTTPNotFound()
        ended = await staff_accounts.end_sessions(work.session, person.id)
        await work.audit("sign_out_everywhere", target_type="staff", target_id=person.id,
                         details={"sessions": ended})
    if person.id == staff(request).id:
        (await get_session(request)).invalidate()
        raise web.HTTPSeeOther("/login")
    _ = translator(request)
    await flash(request, _("%(name)s is signed out everywhere.", name=person.name))
    raise web.HTTPSeeOther("/staff")


def setup(app: web.Application) -> None:
    app.router.add_get("/staff", staff_list)
    app.router.add_post("/staff", staff_create)
    app.router.add_post("/staff/{staff_id:\\d+}", staff_update)
    app.router.add_post("/staff/{staff_id:\\d+}/sign-out", staff_sign_out)
