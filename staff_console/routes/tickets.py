"""The tickets board: filters, deadlines and time left, assignment with suggestions, status changes, quotes, costs,
notes and attachments. Every rule is in storage.services (tickets, ticket_desk for what staff do); this module
only reads forms, calls one service inside `act(request)` and renders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from staff_console import telegram_files
from staff_console.context import SETTINGS_KEY, Form, NavItem, act, db, flash, path_id, requires, staff, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, Translator, translator
from staff_console.words import word
from storage import clock
from storage.media import IMAGE_TYPES, image_kind, resolve_photo
from storage.models import (
    Customer,
    FollowUpTask,
    Holiday,
    Project,
    SlaPolicy,
    Staff,
    Survey,
    Ticket,
    TicketAttachment,
    Unit,
    WarrantyPeriod,
)
from storage.repositories import ticket_board
from storage.repositories.ticket_board import BoardFilters
from storage.services import revisits, sla, surveys, ticket_desk, tickets, warranty
from storage.services.tickets import TicketError
from storage.unit_of_work import Work
from storage.vocabulary import (
    CATEGORIES_BY_KIND,
    CHANNELS,
    COMPLAINT_CATEGORIES,
    PRIORITIES,
    REPAIR_CATEGORIES,
    RESPONSIBLE_PARTIES,
    ROOT_CAUSES,
    SUGGESTION_CATEGORIES,
    TICKET_KINDS,
    TICKET_STATUSES,
    VERIFICATIONS,
)

NAV = [NavItem(N_("Tickets"), "/tickets", ("admin", "agent", "service"), order=30)]


def _filters(request: web.Request) -> BoardFilters:
    def value(key: str) -> str:
        return request.query.get(key, "").strip()[:64]

    return BoardFilters(status=value("status"), kind=value("kind"), category=value("category"),
                        project=value("project"), assignee=value("assignee"), overdue=bool(value("overdue")),
                        search=value("q"))


@requires("admin", "agent", "service")
async def board(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    filters = _filters(request)
    now = clock.now()
    page_number = min(max(1, to_int(request.query.get("page"), 1) or 1), ticket_board.MAX_PAGE)
    async with db(request)() as session:
        found = await ticket_board.board(session, filters, me_id=me.id, now=now, page=page_number)
        calendar = await sla.load_calendar(session, request.app[SETTINGS_KEY])
        clocks = {t.id: await sla.status(session, t, now, calendar) for t, *_ in found.rows}
        projects = (await session.scalars(select(Project.name).order_by(Project.name))).all()
        people = (await session.execute(select(Staff.id, Staff.name).where(Staff.is_active.is_(True))
                                        .order_by(Staff.name))).tuples().all()
    # The pager's links keep the filters (and drop the page number, which each link sets).
    query_base = urlencode([(k, v) for k, v in request.query.items() if k != "page" and v])
    context = {
        "rows": found.rows, "total": found.total, "page": found.page, "pages": found.pages,
        "query_base": query_base, "clocks": clocks, "filters": filters, "statuses": TICKET_STATUSES,
        "kinds": TICKET_KINDS,
        "categories": tuple(dict.fromkeys(REPAIR_CATEGORIES + COMPLAINT_CATEGORIES + SUGGESTION_CATEGORIES)),
        "projects": projects, "people": people,
    }
    # The live board asks for its list again when a ticket changes: the same filters, only the list.
    template = "tickets/_board_list.html" if request.query.get("fragment") == "list" else "tickets/board.html"
    return aiohttp_jinja2.render_template(template, request, context)


@requires("admin", "agent", "service")
async def detail(request: web.Request) -> web.StreamResponse:
    now = clock.now()
    async with db(request)() as session:
        ticket = await session.get(Ticket, path_id(request, "ticket_id"))
        if ticket is None:
            raise web.HTTPNotFound()
        customer = await session.get(Customer, ticket.customer_id)
        project = await tickets.unit_project(session, ticket.unit_id)
        unit = await session.get(Unit, ticket.unit_id) if ticket.unit_id else None
        events = await tickets.history(session, ticket.id)
        attachments = (await session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
                                             .order_by(TicketAttachment.id))).all()
        suggestions = await tickets.suggest_assignees(session, ticket) if ticket.status in tickets.OPEN_STATUSES \
            else []
        names = dict((await session.execute(select(Staff.id, Staff.name))).tuples().all())
        people = (await session.execute(select(Staff.id, Staff.name).where(Staff.is_active.is_(True))
                                        .order_by(Staff.name))).tuples().all()
        clocks = await sla.status(session, ticket, now, await sla.load_calendar(session, request.app[SETTINGS_KEY]))
    return aiohttp_jinja2.render_template("tickets/detail.html", request, {
        "ticket": ticket, "customer": customer, "project": project, "unit": unit, "events": events,
        "attachments": attachments, "suggestions": suggestions, "names": names, "people": people,
        "clocks": clocks, "transitions": tickets.allowed_next(ticket), "customer_saw": tickets.customer_saw,
        "priorities": PRIORITIES,
        "kind_categories": CATEGORIES_BY_KIND.get(ticket.kind, ()), "verifications": VERIFICATIONS,
        "parties": RESPONSIBLE_PARTIES, "causes": ROOT_CAUSES,
        "unfinished": tickets.complaint_unfinished(ticket) if ticket.status in tickets.OPEN_STATUSES else None,
    })


# One change: the work, the ticket, the form and the staff member's translator; returns what to tell them.
TicketChange = Callable[[Work, int, Form, Translator], Awaitable[str]]


async def _act(request: web.Request, change: TicketChange) -> web.StreamResponse:
    """One staff change to the ticket in its own unit of work, then back to the ticket with what happened."""
    form = await request.post()
    _ = translator(request)
    ticket_id = to_int(request.match_info["ticket_id"])
    if ticket_id is None:
        raise web.HTTPNotFound()
    try:
        async with act(request) as work:
            message = await change(work, ticket_id, form, _)
    except ticket_desk.NoSuchTicket as exc:
        raise web.HTTPNotFound() from exc
    except TicketError as exc:
        await flash(request, error_text(_, exc), "error")
    else:
        await flash(request, message)
    raise web.HTTPSeeOther(f"/tickets/{ticket_id}")


@requires("admin", "agent", "service")
async def assign(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        staff_id = to_int(form.get("staff_id"))
        if staff_id is None:
            raise TicketError(_("choose someone"))
        await ticket_desk.assign(work, ticket_id, staff_id)
        return _("Assigned.")

    return await _act(request, change)


@requires("admin", "agent", "service")
async def change_status(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        to = str(form.get("to", ""))
        await ticket_desk.change_status(work, ticket_id, to, note=str(form.get("note", "")).strip()[:2000] or None)
        return _("Status: %(status)s.", status=word(_, "ticket_status", to))

    return await _act(request, change)


@requires("admin", "agent", "service")
async def quote(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        await ticket_desk.set_quote(work, ticket_id, str(form.get("amount", "")))
        return _("Quote sent to the customer.")

    return await _act(request, change)


@requires("admin", "agent", "service")
async def cost(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        await ticket_desk.set_cost(work, ticket_id, str(form.get("amount", "")))
        return _("Cost saved.")

    return await _act(request, change)


@requires("admin", "agent", "service")
async def priority(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        await ticket_desk.set_priority(work, ticket_id, str(form.get("priority", "")))
        return _("Priority changed; deadlines recalculated.")

    return await _act(request, change)


@requires("admin", "agent", "service")
async def note(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        public = form.get("to_customer") == "1"
        await ticket_desk.add_note(work, ticket_id, str(form.get("text", "")), to_customer=public)
        return _("Message sent to the customer.") if public else _("Note added.")

    return await _act(request, change)


@requires("admin", "agent", "service")
async def reclassify(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        category = str(form.get("category", "")).strip()
        if not category:
            raise TicketError(_("choose a category"))
        note = str(form.get("note", "")).strip()[:2000] or None
        ticket = await ticket_desk.reclassify(work, ticket_id, category, note=note)
        return _("Reclassified as %(category)s; team and deadlines follow.", category=word(_, "category",
                                                                                           ticket.category))

    return await _act(request, change)


@requires("admin", "agent", "service")
async def verify(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        outcome = str(form.get("outcome", ""))
        if outcome not in VERIFICATIONS:
            raise TicketError(_("choose verified or not substantiated"))
        await ticket_desk.verify(work, ticket_id, outcome, note=str(form.get("note", "")).strip()[:2000] or None)
        return _("Verification recorded: %(outcome)s.", outcome=word(_, "verification", outcome))

    return await _act(request, change)


@requires("admin", "agent", "service")
async def responsibility(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, ticket_id: int, form: Form, _: Translator) -> str:
        party, cause = str(form.get("party", "")), str(form.get("cause", ""))
        if party not in RESPONSIBLE_PARTIES:
            raise TicketError(_("choose the responsible party"))
        if cause not in ROOT_CAUSES:
            raise TicketError(_("choose the root cause"))
        action = str(form.get("action", ""))
        if len(action.strip()) > 2000:
            raise TicketError(_("the improvement action is longer than 2000 characters"))
        await ticket_desk.set_responsibility(work, ticket_id, party=party, cause=cause, action=action)
        return _("Responsibility, root cause and improvement saved.")

    return await _act(request, change)


@requires("admin", "agent", "service")
async def attachment(request: web.Request) -> web.StreamResponse:
    """A customer's photo, fetched from Telegram by file id (never a URL the browser could be pointed at)."""
    async with db(request)() as session:
        row = await session.get(TicketAttachment, path_id(request, "attachment_id"))
        if row is None or row.ticket_id != to_int(request.match_info["ticket_id"]) or not (
                row.telegram_file_id or row.path):
            raise web.HTTPNotFound()
    if not row.telegram_file_id:  # a staff upload (a defect found at a handover inspection), in MEDIA_DIR
        stored = await asyncio.to_thread(_media_image, request.app[SETTINGS_KEY].media_path, row.path or "")
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored[0], content_type=stored[1], headers={"Cache-Control": "private, max-age=3600"})
    try:
        body, content_type = await telegram_files.fetch(request.app, row.telegram_file_id)
    except telegram_files.FileUnavailable as exc:  # Telegram unreachable or no token: a broken image only
        raise web.HTTPNotFound() from exc
    return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


def _media_image(media_path: Path, reference: str) -> tuple[bytes, str] | None:
    """An image file inside MEDIA_DIR (checked by storage.media: no way out of the folder), with its type."""
    found = resolve_photo(reference, media_path)
    if not isinstance(found, Path):
        return None
    data = found.read_bytes()
    kind = image_kind(data[:32])
    return (data, IMAGE_TYPES[kind]) if kind else None


@requires("admin", "agent", "service")
async def follow_ups(request: web.Request) -> web.StreamResponse:
    """Open follow-up tasks (low survey scores, revisit answers asking for help): mine first, all for admins."""
    me = staff(request)
    query = (select(FollowUpTask, Customer, Survey).join(Customer, Customer.id == FollowUpTask.customer_id)
             .outerjoin(Survey, Survey.id == FollowUpTask.survey_id).where(FollowUpTask.status == "open")
             .order_by(FollowUpTask.created_at))
    if me.role != "admin" and not me.is_team_lead:
        query = query.where(FollowUpTask.assignee_id == me.id)
    async with db(request)() as session:
        rows = (await session.execute(query.limit(200))).tuples().all()
        names = dict((await session.execute(select(Staff.id, Staff.name))).tuples().all())
    return aiohttp_jinja2.render_template("tickets/follow_ups.html", request, {"rows": rows, "names": names})


@requires("admin", "agent", "service")
async def finish_follow_up(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = translator(request)
    task_id = to_int(request.match_info["task_id"])
    note = str(form.get("note", "")).strip()[:2000] or None
    try:
        async with act(request) as work:
            await surveys.close_follow_up(work, task_id or 0, note)
    except surveys.NotYourFollowUp as exc:
        raise web.HTTPForbidden(text=error_text(_, exc)) from exc
    except surveys.SurveyError as exc:
        raise web.HTTPNotFound() from exc
    await flash(request, _("Follow-up done."))
    raise web.HTTPSeeOther("/tickets/follow-ups")


@requires("admin")
async def schedule_periodic_revisit(request: web.Request) -> web.StreamResponse:
    async def apply(session: AsyncSession, form: Form, _: Translator) -> str:
        try:
            day = date.fromisoformat(str(form.get("day", "")))
        except ValueError as exc:
            raise ValueError(_("the day must be a date (YYYY-MM-DD)")) from exc
        tag = str(form.get("tag", "")).strip()[:64] or None
        due = datetime.combine(day, time(10, 0), tzinfo=request.app[SETTINGS_KEY].tz)
        count = await revisits.schedule_periodic(session, period=int(day.strftime("%Y%m%d")), due_at=due, tag=tag,
                                                 settings=request.app[SETTINGS_KEY])
        return _.ngettext("Revisit on %(day)s scheduled for %(num)s customer.",
                          "Revisit on %(day)s scheduled for %(num)s customers.", count, day=_.date(day))

    return await _settings_change(request, "revisit_periodic", apply)


@requires("admin")
async def service_settings(request: web.Request) -> web.StreamResponse:
    """Admins edit warranty periods, SLA policies and the holiday calendar (with make-up workdays)."""
    async with db(request)() as session:
        periods = {row.category: row for row in (await session.scalars(select(WarrantyPeriod))).all()}
        policies = (await session.scalars(select(SlaPolicy).order_by(SlaPolicy.kind, SlaPolicy.category,
                                                                     SlaPolicy.priority))).all()
        holidays = (await session.scalars(select(Holiday).order_by(Holiday.day.desc()).limit(200))).all()
        calendar = await sla.load_calendar(session, request.app[SETTINGS_KEY])
    categories = list(dict.fromkeys([*REPAIR_CATEGORIES, *warranty.DEFAULT_MONTHS]))
    rows = [(c, periods[c].months if c in periods else warranty.DEFAULT_MONTHS.get(c), c in periods)
            for c in categories]
    _ = translator(request)
    defaults = []
    for kind, priority in (("repair", "emergency"), ("repair", "normal"), ("complaint", "normal"),
                           ("suggestion", "normal"), (sla.CHAT, "normal")):
        policy = sla.default_policy(kind, priority, calendar.day_minutes)
        text = _("%(kind)s/%(priority)s: respond %(respond)s, resolve %(resolve)s",
                 kind=word(_, "ticket_kind", kind), priority=word(_, "priority", priority),
                 respond=policy.first_response_minutes, resolve=policy.resolve_minutes)
        defaults.append(text if policy.business_hours else text + " " + _("(around the clock)"))
    return aiohttp_jinja2.render_template("tickets/settings.html", request, {
        "warranty_rows": rows, "policies": policies, "holidays": holidays, "defaults": _("; ").join(defaults),
        "repair_categories": REPAIR_CATEGORIES, "complaint_categories": COMPLAINT_CATEGORIES,
        "suggestion_categories": SUGGESTION_CATEGORIES, "channels": CHANNELS, "policy_kinds": (*TICKET_KINDS, sla.CHAT),
        "priorities": PRIORITIES, "day_minutes": calendar.day_minutes,
    })


SettingsChange = Callable[[AsyncSession, Form, Translator], Awaitable[str]]


async def _settings_change(request: web.Request, action: str, apply: SettingsChange) -> web.StreamResponse:
    """One admin change to the service settings, audited, then back to the settings page with what happened."""
    form = await request.post()
    _ = translator(request)
    try:
        async with act(request) as work:
            message = await apply(work.session, form, _)
            await work.audit(action, target_type="service_settings",
                             details={k: str(v)[:100] for k, v in form.items() if k != "csrf_token"})
    except ValueError as exc:
        await flash(request, error_text(_, exc), "error")
    else:
        await flash(request, message)
    raise web.HTTPSeeOther("/tickets/settings")


# The settings form's number fields, as a refusal names them.
FIELD_NAMES = {"months": N_("months"), "first_response_minutes": N_("first response minutes"),
               "resolve_minutes": N_("resolve minutes")}


def _int(_: Translator, form: Form, name: str) -> int:
    value = to_int(str(form.get(name, "")).strip())
    if value is None:
        raise ValueError(_("%(field)s must be a whole number", field=_(FIELD_NAMES.get(name, name))))
    return value


@requires("admin")
async def save_warranty(request: web.Request) -> web.StreamResponse:
    async def apply(session: AsyncSession, form: Form, _: Translator) -> str:
        category = str(form.get("category", ""))
        if category not in warranty.DEFAULT_MONTHS and category not in REPAIR_CATEGORIES:
            raise ValueError(_("unknown category"))
        raw = str(form.get("months", "")).strip()
        await warranty.set_period(session, category, None if raw in ("", "life") else _int(_, form, "months"))
        return _("Warranty period for %(category)s saved.", category=word(_, "category", category))

    return await _settings_change(request, "warranty_period", apply)


@requires("admin")
async def save_policy(request: web.Request) -> web.StreamResponse:
    async def apply(session: AsyncSession, form: Form, _: Translator) -> str:
        kind = str(form.get("kind", ""))
        # Chats (sla.CHAT) have a first-response deadline per channel: their "category" is the channel.
        categories = CHANNELS if kind == sla.CHAT else CATEGORIES_BY_KIND.get(kind, ())
        if not categories:
            raise ValueError(_("unknown ticket type"))
        category = str(form.get("category", "")) or None
        priority = str(form.get("priority", "")) or None
        if category is not None and category not in categories:
            raise ValueError(_("unknown category for this type"))
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(_("unknown priority"))
        await sla.upsert_policy(session, kind=kind, category=category, priority=priority,
                                first_response_minutes=_int(_, form, "first_response_minutes"),
                                resolve_minutes=_int(_, form, "resolve_minutes"),
                                business_hours=form.get("business_hours") == "1")
        return _("Deadline policy saved. New tickets use it.")

    return await _settings_change(request, "sla_policy", apply)


@requires("admin")
async def delete_policy(request: web.Request) -> web.StreamResponse:
    async def apply(session: AsyncSession, form: Form, _: Translator) -> str:
        row = await session.get(SlaPolicy, path_id(request, "policy_id"))
        if row is None:
            raise ValueError(_("no such policy"))
        await session.delete(row)
        return _("Deadline policy removed.")

    return await _settings_change(request, "sla_policy_delete", apply)


@requires("admin")
async def save_holiday(request: web.Request) -> web.StreamResponse:
    async def apply(session: AsyncSession, form: Form, _: Translator) -> str:
        try:
            day = date.fromisoformat(str(form.get("day", "")))
        except ValueError as exc:
            raise ValueError(_("the day must be a date (YYYY-MM-DD)")) from exc
        workday = form.get("is_workday") == "1"
        await sla.set_holiday(session, day, str(form.get("name", "")).strip(), workday)
        if workday:
            return _("%(day)s saved as a make-up working day.", day=_.date(day))
        return _("%(day)s saved as a day off.", day=_.date(day))

    return await _settings_change(request, "holiday", apply)


@requires("admin")
async def delete_holiday(request: web.Request) -> web.StreamResponse:
    async def apply(session: AsyncSession, form: Form, _: Translator) -> str:
        try:
            day = date.fromisoformat(request.match_info["day"])
        except ValueError as exc:
            raise ValueError(_("the day must be a date (YYYY-MM-DD)")) from exc
        row = await session.get(Holiday, day)
        if row is not None:
            await session.delete(row)
        return _("%(day)s removed from the calendar.", day=_.date(day))

    return await _settings_change(request, "holiday_delete", apply)


# Board and report styles, served from here because the console's CSP allows only same-origin stylesheets.
AFTERSALES_CSS = """
.ticket-list { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: .6rem; }
.ticket-card { background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--accent);
  border-radius: 6px; padding: .5rem .7rem; }
.ticket-card p { margin: .15rem 0; }
.ticket-card.mine { border-left-color: var(--ok); }
.ticket-card.overdue { border-left-color: var(--bad); }
.pill { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 9px; background: #eef2f8; }
.pill.warn { background: #fff2d6; color: var(--warn); }
.pill.seen-by-customer { background: #e3efff; color: #1f4f9a; }
.left.bad, tr.bad td { color: var(--bad); }
.ticket-grid { display: grid; grid-template-columns: 2fr 1fr; gap: 1rem; }
.ticket-grid .history { grid-column: 1 / -1; }
.actions form { margin: .5rem 0; }
.photos img { border-radius: 4px; margin: .2rem; }
.description { white-space: pre-wrap; }
.inline-label { display: inline-flex; gap: .3rem; align-items: center; margin: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: .8rem; }
@media (max-width: 700px) {
  .ticket-grid, .charts { grid-template-columns: 1fr; }
  .ticket-list { grid-template-columns: 1fr; }
  .actions button { min-height: 44px; }
}
"""


@requires("admin", "agent", "service")
async def stylesheet(request: web.Request) -> web.StreamResponse:
    return web.Response(text=AFTERSALES_CSS, content_type="text/css", headers={"Cache-Control": "max-age=3600"})


def setup(app: web.Application) -> None:
    app.router.add_get("/tickets", board)
    app.router.add_get("/tickets/aftersales.css", stylesheet)
    app.router.add_get("/tickets/settings", service_settings)
    app.router.add_get("/tickets/follow-ups", follow_ups)
    app.router.add_post("/tickets/follow-ups/{task_id:\\d+}/done", finish_follow_up)
    app.router.add_post("/tickets/settings/revisits", schedule_periodic_revisit)
    app.router.add_post("/tickets/settings/warranty", save_warranty)
    app.router.add_post("/tickets/settings/sla", save_policy)
    app.router.add_post("/tickets/settings/sla/{policy_id:\\d+}/delete", delete_policy)
    app.router.add_post("/tickets/settings/holidays", save_holiday)
    app.router.add_post("/tickets/settings/holidays/{day}/delete", delete_holiday)
    base = "/tickets/{ticket_id:\\d+}"
    app.router.add_get(base, detail)
    app.router.add_post(base + "/assign", assign)
    app.router.add_post(base + "/status", change_status)
    app.router.add_post(base + "/quote", quote)
    app.router.add_post(base + "/cost", cost)
    app.router.add_post(base + "/priority", priority)
    app.router.add_post(base + "/note", note)
    app.router.add_post(base + "/reclassify", reclassify)
    app.router.add_post(base + "/verify", verify)
    app.router.add_post(base + "/responsibility", responsibility)
    app.router.add_get(base + "/attachments/{attachment_id:\\d+}", attachment)
