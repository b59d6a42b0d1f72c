"""Deals and their milestones: the deals list, a new deal (also from a viewing that ended "signed"), a deal's page with
each track (step, due, responsible, history) and what staff do on it (advance a step, request and tick off the
loan's documents, record the inspection and the handover, set the areas), the milestones board per project (overdue
first), the durations report, the area settlement of a building, and each project's move-in fees and inspection
slots. Every rule is in storage.services (deals, milestones, settlement); this module reads forms, calls one service
inside `act(request)` and renders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from staff_console import telegram_files
from staff_console.context import (
    SETTINGS_KEY,
    Form,
    NavItem,
    act,
    db,
    flash,
    path_id,
    requires,
    settings,
    staff,
    to_int,
)
from staff_console.errors import error_text
from staff_console.i18n import N_, Translator, translator
from storage import clock
from storage.media import EXTENSIONS, image_kind
from storage.models import (
    Building,
    Customer,
    Deal,
    DealAttachment,
    InspectionSlot,
    Milestone,
    Project,
    ProjectFee,
    Staff,
    Ticket,
    Unit,
)
from storage.repositories import deals as deal_repo
from storage.services import deals, milestones, settlement
from storage.services.deals import CURRENCIES, DEAL_KINDS, PAYMENT_METHODS, DealError, DealInput, parse_decimal
from storage.services.milestones import (
    ALL_DOCUMENTS,
    INSPECTION_ITEMS,
    METERS,
    TRACK_NAMES,
    Defect,
    MilestoneError,
)
from storage.unit_of_work import Work
from storage.vocabulary import REPAIR_CATEGORIES

NAV = [NavItem(N_("Deals"), "/deals", ("admin", "agent"), order=35),
       NavItem(N_("Milestones"), "/milestones", ("admin", "agent", "service"), order=36)]
STAFF_ROLES = ("admin", "agent")
MAX_DEFECTS = 10
MAX_PHOTO_BYTES = 10 * 1024 * 1024
FORM_FIELDS = ("contract_no", "kind", "project", "building", "unit_no", "customer_name", "customer_phone",
               "signed_on", "price", "currency", "payment_method", "handover_date", "staff_email", "contract_area",
               "measured_area", "unit_price", "loan_amount", "bank", "notes", "listing_id", "viewing_id")


def _text(form: Form, name: str, limit: int = 256) -> str:
    value = form.get(name, "")
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def _day(_: Translator, form: Form, name: str, *, required: bool = False) -> date | None:
    raw = _text(form, name, 10)
    if not raw:
        if required:
            raise DealError(_("%(field)s is required", field=name))
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DealError(_("%(field)s must be a date (YYYY-MM-DD)", field=name)) from None


def _required_day(_: Translator, form: Form, name: str) -> date:
    day = _day(_, form, name, required=True)
    if day is None:  # _day refused an empty one already
        raise DealError(_("%(field)s is required", field=name))
    return day


def _track_of(milestone: Milestone | None) -> Milestone:
    """The track a route names (`_change` looked it up); a route without one has nothing to change."""
    if milestone is None:
        raise web.HTTPNotFound()
    return milestone


# ---- deals list and the new-deal form ----------------------------------------------------------------------------

@requires(*STAFF_ROLES)
async def deal_list(request: web.Request) -> web.StreamResponse:
    project = request.query.get("project", "").strip()[:128]
    query = request.query.get("q", "").strip()[:64]
    async with db(request)() as session:
        rows = await deal_repo.listing(session, project=project or None, text=query or None)
        projects = (await session.scalars(select(Project.name).order_by(Project.name))).all()
    return aiohttp_jinja2.render_template("deals/list.html", request, {
        "rows": rows, "projects": projects, "filters": {"project": project, "q": query},
    })


@requires(*STAFF_ROLES)
async def new_deal(request: web.Request) -> web.StreamResponse:
    values: dict[str, Any] = {"kind": "sale", "currency": "CNY", "payment_method": "mortgage",
                              "signed_on": clock.now().astimezone(translator(request).tz).date().isoformat(),
                              "staff_email": staff(request).email}
    viewing_id = to_int(request.query.get("viewing"))
    async with db(request)() as session:
        if viewing_id is not None:
            values.update({k: v for k, v in (await deals.from_viewing(session, viewing_id)).items() if v})
        people = (await session.execute(select(Staff.email, Staff.name).where(Staff.is_active.is_(True))
                                        .order_by(Staff.name))).tuples().all()
    return _form_page(request, values, people, errors=[])


def _form_page(request: web.Request, values: dict[str, Any], people: Any, errors: list[str],
               status: int = 200) -> web.StreamResponse:
    response = aiohttp_jinja2.render_template("deals/form.html", request, {
        "values": {**dict.fromkeys(FORM_FIELDS, ""), **values}, "people": people, "errors": errors,
        "kinds": DEAL_KINDS, "methods": PAYMENT_METHODS,
        "currencies": CURRENCIES,
    })
    response.set_status(status)
    return response


def _deal_input(_: Translator, form: Form) -> DealInput:
    signed_on = _required_day(_, form, "signed_on")
    return DealInput(
        contract_no=_text(form, "contract_no", 64), project=_text(form, "project", 128),
        building=_text(form, "building", 64), unit_no=_text(form, "unit_no", 32),
        customer_name=_text(form, "customer_name", 128), customer_phone=_text(form, "customer_phone", 32),
        signed_on=signed_on, price=parse_decimal(_text(form, "price", 32), "price", required=True) or Decimal(0),
        currency=_text(form, "currency", 3) or "CNY", payment_method=_text(form, "payment_method", 16),
        handover_date=_day(_, form, "handover_date"), staff_email=_text(form, "staff_email", 254) or None,
        kind=_text(form, "kind", 8) or "sale",
        contract_area=parse_decimal(_text(form, "contract_area", 32), "contract_area"),
        measured_area=parse_decimal(_text(form, "measured_area", 32), "measured_area"),
        unit_price=parse_decimal(_text(form, "unit_price", 32), "unit_price"),
        loan_amount=parse_decimal(_text(form, "loan_amount", 32), "loan_amount"),
        bank=_text(form, "bank", 64) or None, notes=_text(form, "notes", 2000) or None,
        listing_id=to_int(form.get("listing_id")), viewing_id=to_int(form.get("viewing_id")))


@requires(*STAFF_ROLES)
async def create_deal(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    form = await request.post()
    values = {name: _text(form, name, 2000) for name in FORM_FIELDS}
    try:
        data = _deal_input(_, form)
        async with act(request) as work:
            if await work.session.scalar(select(Deal.id).where(Deal.contract_no == data.contract_no.strip())):
                raise DealError(_("A deal with contract number %(number)s already exists.",
                                  number=data.contract_no.strip()))
            deal, _outcome = await deals.save_deal(work.session, data, settings=work.settings)
            await work.audit("deal_create", target_type="deal", target_id=deal.id,
                             details={"contract_no": deal.contract_no})
            deal_id = deal.id
    except DealError as exc:
        async with db(request)() as session:
            people = (await session.execute(select(Staff.email, Staff.name).where(Staff.is_active.is_(True))
                                            .order_by(Staff.name))).tuples().all()
        return _form_page(request, values, people, [error_text(_, exc)], status=422)
    await flash(request, _("Deal saved."))
    raise web.HTTPSeeOther(f"/deals/{deal_id}")


# ---- one deal ----------------------------------------------------------------------------------------------------

@requires(*STAFF_ROLES)
async def detail(request: web.Request) -> web.StreamResponse:
    deal_id = path_id(request, "deal_id")
    async with db(request)() as session:
        deal = await session.get(Deal, deal_id)
        if deal is None:
            raise web.HTTPNotFound()
        tracks = (await session.scalars(select(Milestone).where(Milestone.deal_id == deal.id)
                                        .order_by(Milestone.id))).all()
        order = {name: index for index, name in enumerate(TRACK_NAMES)}
        tracks = sorted(tracks, key=lambda m: order.get(m.track, 99))
        events = await milestones.history(session, [m.id for m in tracks])
        attachments = (await session.scalars(select(DealAttachment).where(DealAttachment.deal_id == deal.id)
                                             .order_by(DealAttachment.id))).all()
        customer = await session.get(Customer, deal.customer_id) if deal.customer_id else None
        home = await milestones.home_label(session, deal)
        names = dict((await session.execute(select(Staff.id, Staff.name))).tuples().all())
        people = (await session.execute(select(Staff.id, Staff.name).where(Staff.is_active.is_(True))
                                        .order_by(Staff.name))).tuples().all()
        numbers = [n for m in tracks for n in (m.data or {}).get("tickets", [])]
        tickets = dict((await session.execute(select(Ticket.number, Ticket.id).where(Ticket.number.in_(numbers))))
                       .tuples().all()) if numbers else {}
        steps = {m.id: [await milestones.effective_step(session, m.track, code)
                        for code in milestones.step(m.track, m.status).next] for m in tracks}
    return aiohttp_jinja2.render_template("deals/detail.html", request, {
        "deal": deal, "tracks": tracks, "events": events, "attachments": attachments, "customer": customer,
        "home": home, "names": names, "people": people, "next_steps": steps, "tickets": tickets,
        "documents": ALL_DOCUMENTS, "items": INSPECTION_ITEMS, "categories": REPAIR_CATEGORIES, "meters": METERS,
        "max_defects": 3, "now": clock.now(), "today": clock.now().astimezone(translator(request).tz).date(),
    })


DealChange = Callable[[Work, Deal, Milestone | None, Form, Translator], Awaitable[str]]


async def _change(request: web.Request, change: DealChange, track: str | None = None) -> web.StreamResponse:
    """One staff change to a deal (one of its tracks) in its own unit of work, then back to the deal."""
    _ = translator(request)
    deal_id = path_id(request, "deal_id")
    track = track or request.match_info.get("track")
    form = await request.post()
    try:
        async with act(request) as work:
            deal = await work.session.get(Deal, deal_id)
            if deal is None:
                raise web.HTTPNotFound()
            milestone = None
            if track is not None:
                milestone = await work.session.scalar(select(Milestone).where(Milestone.deal_id == deal_id,
                                                                              Milestone.track == track))
                if milestone is None:
                    raise web.HTTPNotFound()
            message = await change(work, deal, milestone, form, _)
    except (MilestoneError, DealError) as exc:
        await flash(request, error_text(_, exc), "error")
    else:
        await flash(request, message)
    raise web.HTTPSeeOther(f"/deals/{deal_id}")


@requires(*STAFF_ROLES)
async def advance(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        milestone = _track_of(milestone)
        to = _text(form, "to", 24)
        await milestones.advance(work, milestone, to, note=_text(form, "note", 2000) or None)
        return _("Step saved.")

    return await _change(request, change)


@requires(*STAFF_ROLES)
async def assign(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        milestone = _track_of(milestone)
        await milestones.assign(work, milestone, to_int(form.get("staff_id")))
        return _("Responsible person saved.")

    return await _change(request, change)


@requires(*STAFF_ROLES)
async def request_documents(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        milestone = _track_of(milestone)
        codes = [str(code) for code in form.getall("document", []) if isinstance(code, str)]
        if not codes:
            raise DealError(_("Choose at least one document."))
        await milestones.request_documents(work, milestone, codes, note=_text(form, "note", 2000) or None)
        return _("Documents requested; the customer is told.")

    return await _change(request, change, "loan")


@requires(*STAFF_ROLES)
async def document_received(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        milestone = _track_of(milestone)
        await milestones.record_document(work, milestone, _text(form, "document", 48))
        return _("Document received.")

    return await _change(request, change, "loan")


async def _save_photo(request: web.Request, field: Any) -> str | None:
    """An uploaded inspection photo, checked by its bytes, stored under MEDIA_DIR/deals/; its relative path."""
    if not isinstance(field, web.FileField):
        return None
    data = field.file.read(MAX_PHOTO_BYTES + 1)
    if not data:
        return None
    kind = image_kind(data[:32])
    if kind is None or len(data) > MAX_PHOTO_BYTES:
        _ = translator(request)
        raise DealError(_("A photo must be a JPEG, PNG, WebP or GIF image of at most 10 MB."))
    folder: Path = request.app[SETTINGS_KEY].media_path / "deals"
    name = f"{uuid.uuid4().hex}{EXTENSIONS[kind]}"

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    await asyncio.to_thread(write)
    return f"deals/{name}"


@requires(*STAFF_ROLES)
async def inspection(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        milestone = _track_of(milestone)
        checked = [str(item) for item in form.getall("checked", []) if isinstance(item, str)]
        defects = []
        for n in range(MAX_DEFECTS):
            description = _text(form, f"defect_{n}", 2000)
            if not description:
                continue
            category = _text(form, f"category_{n}", 32)
            if category not in REPAIR_CATEGORIES:
                raise DealError(_("Choose a category for every defect."))
            photo = await _save_photo(request, form.get(f"photo_{n}"))
            defects.append(Defect(category, description, (photo,) if photo else ()))
        if not checked and not defects:
            raise DealError(_("Tick the items checked or describe a defect."))
        created = await milestones.record_inspection(work, milestone, checked=checked, defects=defects,
                                                     note=_text(form, "note", 2000) or None)
        return translator(request).ngettext("Inspection recorded; %(count)s repair ticket opened.",
                                            "Inspection recorded; %(count)s repair tickets opened.", len(created),
                                            count=len(created))

    return await _change(request, change, "move_in")


@requires(*STAFF_ROLES)
async def handover(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        milestone = _track_of(milestone)
        day = _required_day(_, form, "handed_over_on")
        keys = to_int(form.get("keys"))
        if keys is None or not 0 <= keys <= 50:
            raise DealError(_("Keys must be a number from 0 to 50."))
        meters = {name: _text(form, f"meter_{name}", 32) for name in METERS}
        await milestones.record_handover(work, milestone, handed_over_on=day, keys=keys, meters=meters,
                                         note=_text(form, "note", 2000) or None)
        return _("Handover recorded; the revisit is scheduled.")

    return await _change(request, change, "move_in")


@requires(*STAFF_ROLES)
async def areas(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, deal: Deal, milestone: Milestone | None, form: Form, _: Translator) -> str:
        contract = parse_decimal(_text(form, "contract_area", 32), "contract_area", limit=deals.MAX_AREA)
        measured = parse_decimal(_text(form, "measured_area", 32), "measured_area", limit=deals.MAX_AREA)
        price = parse_decimal(_text(form, "unit_price", 32), "unit_price")
        if contract is not None and contract <= 0 or measured is not None and measured <= 0:
            raise DealError(_("Areas must be more than 0."))
        deal.contract_area, deal.measured_area, deal.unit_price = contract, measured, price
        await work.audit("deal_areas", target_type="deal", target_id=deal.id)
        return _("Areas saved.")

    return await _change(request, change)


@requires(*STAFF_ROLES)
async def attachment(request: web.Request) -> web.StreamResponse:
    """A document photo the customer sent in the chat (fetched from Telegram by file id), or an inspection photo."""
    async with db(request)() as session:
        row = await session.get(DealAttachment, path_id(request, "attachment_id"))
        if row is None or row.deal_id != path_id(request, "deal_id") or not row.telegram_file_id:
            raise web.HTTPNotFound()
    try:
        body, content_type = await telegram_files.fetch(request.app, row.telegram_file_id)
    except telegram_files.FileUnavailable as exc:
        raise web.HTTPNotFound() from exc
    return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


# ---- the milestones board and report -----------------------------------------------------------------------------

@requires("admin", "agent", "service")
async def board(request: web.Request) -> web.StreamResponse:
    filters = {key: request.query.get(key, "").strip()[:64] for key in ("project", "track", "status", "owner")}
    if filters["track"] not in TRACK_NAMES:
        filters["track"] = ""
    me = staff(request)
    owner = me.id if filters["owner"] == "me" else to_int(filters["owner"])
    now = clock.now()
    async with db(request)() as session:
        rows = await deal_repo.board(session, project=filters["project"] or None, track=filters["track"] or None,
                                     status=filters["status"] or None, owner=owner, now=now)
        projects = (await session.scalars(select(Project.name).order_by(Project.name))).all()
        people = (await session.execute(select(Staff.id, Staff.name).where(Staff.is_active.is_(True))
                                        .order_by(Staff.name))).tuples().all()
    statuses = sorted({s.code for t in TRACK_NAMES for s in milestones.steps(t)}) if not filters["track"] else \
        [s.code for s in milestones.steps(filters["track"])]
    return aiohttp_jinja2.render_template("deals/board.html", request, {
        "rows": rows, "filters": filters, "projects": projects, "people": people, "tracks": TRACK_NAMES,
        "statuses": statuses, "now": now,
    })


@requires("admin", "agent")
async def report(request: web.Request) -> web.StreamResponse:
    project = request.query.get("project", "").strip()[:128]
    async with db(request)() as session:
        durations = await deal_repo.step_durations(session, project=project or None)
        overdue = await deal_repo.overdue_counts(session, clock.now(), project=project or None)
        complaints = await deal_repo.deal_complaints(session, project=project or None)
        projects = (await session.scalars(select(Project.name).order_by(Project.name))).all()
    return aiohttp_jinja2.render_template("deals/report.html", request, {
        "durations": durations, "overdue": overdue, "projects": projects, "project": project,
        "complaints": complaints,
    })


# ---- area settlement of a building ------------------------------------------------------------------------------

@requires("admin")
async def settlement_page(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        buildings = (await session.execute(select(Building.id, Project.name, Building.name)
                                           .join(Project, Project.id == Building.project_id)
                                           .order_by(Project.name, Building.name))).tuples().all()
    return aiohttp_jinja2.render_template("deals/settlement.html", request, {
        "buildings": buildings, "result": None, "building_id": None,
        "threshold": settings(request).area_settlement_threshold,
    })


@requires("admin")
async def settlement_run(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    form = await request.post()
    building_id = to_int(form.get("building_id"))
    notify = form.get("notify") == "1"
    async with db(request)() as session:
        buildings = (await session.execute(select(Building.id, Project.name, Building.name)
                                           .join(Project, Project.id == Building.project_id)
                                           .order_by(Project.name, Building.name))).tuples().all()
    if building_id is None or building_id not in {b[0] for b in buildings}:
        await flash(request, _("Choose a building."), "error")
        raise web.HTTPSeeOther("/deals/settlement")
    async with act(request) as work:
        result = await settlement.compute_building(work, building_id, notify=notify)
        await work.audit("settlement", target_type="building", target_id=building_id,
                         details={"computed": len(result.computed), "notified": notify})
        homes = {deal.id: await milestones.home_label(work.session, deal)
                 for deal, _s in [*result.computed, *result.skipped]}
    return aiohttp_jinja2.render_template("deals/settlement.html", request, {
        "buildings": buildings, "result": result, "building_id": building_id, "notified": notify, "homes": homes,
        "threshold": settings(request).area_settlement_threshold,
    })


# ---- a project's move-in fees and inspection slots ---------------------------------------------------------------

@requires("admin")
async def project_page(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        project = await session.get(Project, path_id(request, "project_id"))
        if project is None:
            raise web.HTTPNotFound()
        fees = (await session.scalars(select(ProjectFee).where(ProjectFee.project_id == project.id)
                                      .order_by(ProjectFee.id))).all()
        slots = (await session.scalars(select(InspectionSlot).where(InspectionSlot.project_id == project.id,
                                                                    InspectionSlot.starts_at > clock.now())
                                       .order_by(InspectionSlot.starts_at).limit(200))).all()
        units = await session.scalar(select(Unit.id).join(Building, Building.id == Unit.building_id)
                                     .where(Building.project_id == project.id).limit(1))
    return aiohttp_jinja2.render_template("deals/project.html", request, {
        "project": project, "fees": fees, "slots": slots, "has_units": units is not None,
    })


ProjectChange = Callable[[Work, Project, Form, Translator], Awaitable[str]]


async def _project_change(request: web.Request, change: ProjectChange) -> web.StreamResponse:
    _ = translator(request)
    project_id = path_id(request, "project_id")
    form = await request.post()
    try:
        async with act(request) as work:
            project = await work.session.get(Project, project_id)
            if project is None:
                raise web.HTTPNotFound()
            message = await change(work, project, form, _)
    except DealError as exc:
        await flash(request, error_text(_, exc), "error")
    else:
        await flash(request, message)
    raise web.HTTPSeeOther(f"/deals/projects/{project_id}")


@requires("admin")
async def add_fee(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, project: Project, form: Form, _: Translator) -> str:
        name = _text(form, "name", 64)
        if not name:
            raise DealError(_("The fee needs a name."))
        amount = parse_decimal(_text(form, "amount", 32), "amount", required=True, limit=Decimal(10_000_000)) \
            or Decimal(0)
        work.session.add(ProjectFee(project_id=project.id, name=name, name_zh=_text(form, "name_zh", 64) or name,
                                    amount=amount, per_m2=form.get("per_m2") == "1"))
        await work.audit("project_fee", target_type="project", target_id=project.id, details={"name": name})
        return _("Fee added.")

    return await _project_change(request, change)


@requires("admin")
async def delete_fee(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, project: Project, form: Form, _: Translator) -> str:
        fee = await work.session.get(ProjectFee, to_int(form.get("fee_id")) or 0)
        if fee is None or fee.project_id != project.id:
            raise DealError(_("No such fee."))
        await work.session.delete(fee)
        await work.audit("project_fee_delete", target_type="project", target_id=project.id)
        return _("Fee removed.")

    return await _project_change(request, change)


@requires("admin")
async def add_slots(request: web.Request) -> web.StreamResponse:
    async def change(work: Work, project: Project, form: Form, _: Translator) -> str:
        day = _required_day(_, form, "day")
        try:
            first = time.fromisoformat(_text(form, "from", 5) or "09:00")
            last = time.fromisoformat(_text(form, "until", 5) or "17:00")
        except ValueError:
            raise DealError(_("Times must look like 09:00.")) from None
        every = to_int(form.get("every"), 60) or 60
        capacity = to_int(form.get("capacity"), 1) or 1
        if not 15 <= every <= 480 or not 1 <= capacity <= 50 or last <= first:
            raise DealError(_("Slots need an end after the start, 15 to 480 minutes apart, 1 to 50 places each."))
        tz = translator(request).tz
        start = datetime.combine(day, first, tzinfo=tz)
        end = datetime.combine(day, last, tzinfo=tz)
        if start <= clock.now():
            raise DealError(_("Slots must be in the future."))
        count = 0
        while start < end and count < 48:
            work.session.add(InspectionSlot(project_id=project.id, starts_at=start, capacity=capacity, booked=0))
            start += timedelta(minutes=every)
            count += 1
        await work.audit("inspection_slots", target_type="project", target_id=project.id, details={"count": count})
        return translator(request).ngettext("%(count)s slot added.", "%(count)s slots added.", count, count=count)

    return await _project_change(request, change)


# ---- the steps' durations and notices (admins) -------------------------------------------------------------------

@requires("admin")
async def steps_page(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        tracks = await milestones.effective_steps(session)
    return aiohttp_jinja2.render_template("deals/steps.html", request, {"tracks": tracks})


@requires("admin")
async def save_steps(request: web.Request) -> web.StreamResponse:
    """The whole table at once: each step's days (empty: no due time) and its notice checkbox."""
    _ = translator(request)
    form = await request.post()
    try:
        async with act(request) as work:
            for track, defaults in milestones.TRACKS.items():
                for default in defaults:
                    key = f"{track}.{default.code}"
                    raw = _text(form, f"days.{key}", 8)
                    days = to_int(raw) if raw else None
                    if raw and (days is None or not 0 <= days <= 730):
                        raise MilestoneError("days must be from 0 to 730")
                    await milestones.save_step(work, track, default.code, days=days,
                                               notify=form.get(f"notify.{key}") == "1")
    except MilestoneError as exc:
        await flash(request, error_text(_, exc), "error")
    else:
        await flash(request, _("Steps saved. New due times count from the next step change."))
    raise web.HTTPSeeOther("/milestones/steps")


def setup(app: web.Application) -> None:
    app.router.add_get("/deals", deal_list)
    app.router.add_get("/deals/new", new_deal)
    app.router.add_post("/deals", create_deal)
    app.router.add_get("/deals/settlement", settlement_page)
    app.router.add_post("/deals/settlement", settlement_run)
    app.router.add_get("/deals/projects/{project_id:\\d+}", project_page)
    app.router.add_post("/deals/projects/{project_id:\\d+}/fees", add_fee)
    app.router.add_post("/deals/projects/{project_id:\\d+}/fees/delete", delete_fee)
    app.router.add_post("/deals/projects/{project_id:\\d+}/slots", add_slots)
    base = "/deals/{deal_id:\\d+}"
    app.router.add_get(base, detail)
    app.router.add_post(base + "/areas", areas)
    app.router.add_post(base + "/documents", request_documents)
    app.router.add_post(base + "/documents/received", document_received)
    app.router.add_post(base + "/inspection", inspection)
    app.router.add_post(base + "/handover", handover)
    app.router.add_get(base + "/attachments/{attachment_id:\\d+}", attachment)
    app.router.add_post(base + "/{track}/advance", advance)  # an unknown track is not found (in _change)
    app.router.add_post(base + "/{track}/assign", assign)
    app.router.add_get("/milestones", board)
    app.router.add_get("/milestones/report", report)
    app.router.add_get("/milestones/steps", steps_page)
    app.router.add_post("/milestones/steps", save_steps)
