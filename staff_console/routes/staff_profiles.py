"""A staff member's page: an agent's working hours and time off, a technician's service areas, skills and level,
and their work history; the technicians' list.

Who may do what: admins everything; service staff see the technicians (service staff) and their pages; a service
team lead also edits technicians' areas, skills, level and time off. Working hours are the admins'. Every rule and
check is in storage.services.staff_profiles; this module reads forms, calls it inside `act(request)` and renders
(a refused form comes back with what was typed and the reason, status 400)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from staff_console.context import NavItem, act, db, flash, path_id, requires, settings, staff
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from storage import clock
from storage.models import Staff
from storage.repositories import staff as staff_repo
from storage.services import staff_profiles, tickets, viewings
from storage.services.staff_accounts import StaffAccountError
from storage.vocabulary import StaffRole

NAV = [NavItem(N_("Technicians"), "/technicians", ("admin", "service"), order=45)]


def _may_see(me: Staff, person: Staff) -> bool:
    return me.role == StaffRole.ADMIN or me.id == person.id or (
        me.role == StaffRole.SERVICE and person.role == StaffRole.SERVICE)


def _may_edit_technician(me: Staff, person: Staff) -> bool:
    """Areas, skills, level and time off of a technician: admins, and service team leads."""
    return me.role == StaffRole.ADMIN or (
        me.role == StaffRole.SERVICE and me.is_team_lead and person.role == StaffRole.SERVICE)


async def _person(request: web.Request, session: Any) -> Staff:
    person = await session.get(Staff, path_id(request, "staff_id"))
    if person is None:
        raise web.HTTPNotFound()
    if not _may_see(staff(request), person):
        raise web.HTTPForbidden()
    return person


async def _render(request: web.Request, person_id: int, *, status: int = 200, error: str | None = None,
                  form: Mapping[str, str] | None = None, which: str | None = None) -> web.StreamResponse:
    me = staff(request)
    company = settings(request).tz
    now = clock.now()
    async with db(request)() as session:
        person = await session.get(Staff, person_id)
        if person is None:
            raise web.HTTPNotFound()
        away = [(row, *staff_profiles.time_off_days(row, person, company))
                for row in await staff_profiles.time_off(session, person.id, now=now)]
        history = await staff_profiles.work_history(session, person.id)
        areas = await staff_profiles.known_areas(session)
        unknown = await staff_profiles.unknown_areas(session, person.service_areas or [])
        upcoming = await viewings.for_agent(session, person.id, since=now,
                                            until=now + timedelta(days=staff_profiles.MAX_TIME_OFF_DAYS))
        takes = await viewings.takes_viewings(session, person, now=now, settings=settings(request))
        free = len(await viewings.free_slots(session, person.id, now=now, settings=settings(request)))
    clashes = [v for v in upcoming if v.status == "booked" and any(
        row.starts_at < v.ends_at and v.starts_at < row.ends_at for row, _, _ in away)]
    hours = {day: staff_profiles.day_text(person, day) for day in staff_profiles.WEEKDAYS}
    response = aiohttp_jinja2.render_template("staff_profile.html", request, {
        "person": person, "hours": hours, "away": away, "history": history, "known_areas": areas,
        "unknown_areas": unknown, "skills": staff_profiles.SKILLS, "levels": list(staff_profiles.LEVELS),
        "weekdays": staff_profiles.WEEKDAYS, "day_names": staff_profiles.DAY_NAMES,
        "takes_viewings": takes, "free_slots": free, "clashes": clashes,
        "may_edit_hours": me.role == StaffRole.ADMIN, "may_edit_technician": _may_edit_technician(me, person),
        "error": error, "form": form or {}, "which": which, "open_statuses": tickets.OPEN_STATUSES,
    })
    response.set_status(status)
    return response


@requires("admin", "service")
async def technicians(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        people = [p for p in await staff_repo.list_staff(session) if p.role == StaffRole.SERVICE]
        load = await tickets.open_load(session)
    return aiohttp_jinja2.render_template("technicians.html", request, {"people": people, "load": load})


@requires("admin", "service")
async def profile_page(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        person = await _person(request, session)
    return await _render(request, person.id)


def _texts(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name, "")) for name in names}


@requires("admin")
async def save_hours(request: web.Request) -> web.StreamResponse:
    form = _texts(await request.post(), staff_profiles.WEEKDAYS)
    person_id = path_id(request, "staff_id")
    try:
        async with act(request) as work:
            person = await _person(request, work.session)
            before = dict(person.working_hours or {})
            after = staff_profiles.set_working_hours(person, form)
            await work.audit("staff_hours", target_type="staff", target_id=person.id,
                             details={"before": before, "after": after})
    except StaffAccountError as exc:
        return await _render(request, person_id, status=400, error=error_text(translator(request), exc), form=form,
                             which="hours")
    await flash(request, translator(request)("Saved."))
    raise web.HTTPSeeOther(f"/staff/{person_id}")


@requires("admin", "service")
async def add_time_off(request: web.Request) -> web.StreamResponse:
    form = _texts(await request.post(), ("first_day", "last_day", "reason"))
    person_id = path_id(request, "staff_id")
    try:
        async with act(request) as work:
            person = await _person(request, work.session)
            if not _may_edit_technician(staff(request), person):
                raise web.HTTPForbidden()
            first = staff_profiles.parse_date(form["first_day"], "the first day")
            last = staff_profiles.parse_date(form["last_day"] or form["first_day"], "the last day")
            row = await staff_profiles.add_time_off(work.session, person, first, last, form["reason"],
                                                    company=work.settings.tz)
            await work.audit("staff_time_off", target_type="staff", target_id=person.id,
                             details={"first_day": first.isoformat(), "last_day": last.isoformat(), "id": row.id})
    except StaffAccountError as exc:
        return await _render(request, person_id, status=400, error=error_text(translator(request), exc), form=form,
                             which="time_off")
    await flash(request, translator(request)("Saved."))
    raise web.HTTPSeeOther(f"/staff/{person_id}")


@requires("admin", "service")
async def remove_time_off(request: web.Request) -> web.StreamResponse:
    person_id = path_id(request, "staff_id")
    try:
        async with act(request) as work:
            person = await _person(request, work.session)
            if not _may_edit_technician(staff(request), person):
                raise web.HTTPForbidden()
            row = await staff_profiles.remove_time_off(work.session, person, path_id(request, "time_off_id"))
            await work.audit("staff_time_off_removed", target_type="staff", target_id=person.id,
                             details={"id": row.id})
    except StaffAccountError as exc:
        return await _render(request, person_id, status=400, error=error_text(translator(request), exc),
                             which="time_off")
    await flash(request, translator(request)("Removed."))
    raise web.HTTPSeeOther(f"/staff/{person_id}")


@requires("admin", "service")
async def save_technician(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    form = {"areas": str(posted.get("areas", "")), "level": str(posted.get("level", "")),
            "skills": ";".join(str(value) for value in posted.getall("skills", []))}
    person_id = path_id(request, "staff_id")
    try:
        async with act(request) as work:
            person = await _person(request, work.session)
            if not _may_edit_technician(staff(request), person):
                raise web.HTTPForbidden()
            before = {"areas": person.service_areas, "skills": person.skills, "level": person.level}
            staff_profiles.set_technician(person, areas=form["areas"], skills=form["skills"], level=form["level"])
            after = {"areas": person.service_areas, "skills": person.skills, "level": person.level}
            await work.audit("staff_skills", target_type="staff", target_id=person.id,
                             details={"before": before, "after": after})
            unknown = await staff_profiles.unknown_areas(work.session, person.service_areas)
    except StaffAccountError as exc:
        return await _render(request, person_id, status=400, error=error_text(translator(request), exc), form=form,
                             which="technician")
    _ = translator(request)
    await flash(request, _("Saved."))
    if unknown:
        await flash(request, _("No project or district is called %(names)s yet: tickets there will match once "
                               "it exists.", names=", ".join(unknown)), "error")
    raise web.HTTPSeeOther(f"/staff/{person_id}")


def setup(app: web.Application) -> None:
    app.router.add_get("/technicians", technicians)
    app.router.add_get("/staff/{staff_id:\\d+}", profile_page)
    app.router.add_post("/staff/{staff_id:\\d+}/hours", save_hours)
    app.router.add_post("/staff/{staff_id:\\d+}/time-off", add_time_off)
    app.router.add_post("/staff/{staff_id:\\d+}/time-off/{time_off_id:\\d+}/delete", remove_time_off)
    app.router.add_post("/staff/{staff_id:\\d+}/technician", save_technician)
