"""Owners' leads (sellers and landlords from the chat, with their intake and valuation) and listings kept true
(the checks page: stale, withheld and reported listings, verified in one click).

Every change goes through `storage.services.owner_leads` or `storage.services.verification`.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from staff_console import cards
from staff_console.context import NavItem, act, db, flash, local_path, path_id, requires, settings, staff
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from staff_console.words import word
from storage import clock
from storage.models import Customer, Listing, OwnerLead, Staff
from storage.repositories import listing_checks
from storage.services import owner_leads, verification
from storage.services.owner_leads import OwnerLeadError
from storage.services.verification import VerificationError
from storage.vocabulary import OWNER_LEAD_STATUSES

NAV = [NavItem(N_("Owners"), "/owners", ("admin", "agent"), order=32),
       NavItem(N_("Listing checks"), "/listings/checks", ("admin", "agent"), order=31)]


async def _names(session: Any) -> dict[int, str]:
    return dict((await session.execute(select(Staff.id, Staff.name))).tuples().all())


@requires("admin", "agent")
async def lead_list(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status", "")
    statement = select(OwnerLead, Customer).join(Customer, Customer.id == OwnerLead.customer_id)
    if status in OWNER_LEAD_STATUSES:
        statement = statement.where(OwnerLead.status == status)
    else:
        status = ""
    async with db(request)() as session:
        rows = (await session.execute(statement.order_by(OwnerLead.created_at.desc(), OwnerLead.id.desc())
                                      .limit(200))).tuples().all()
        names = await _names(session)
        district_names = await cards.district_names(session, translator(request))
    return aiohttp_jinja2.render_template("owners/leads.html", request, {
        cards.DISTRICTS_KEY: district_names, "rows": rows, "names": names, "status": status,
        "statuses": OWNER_LEAD_STATUSES})


async def _lead(session: Any, request: web.Request) -> OwnerLead:
    lead = await session.get(OwnerLead, path_id(request, "lead_id"))
    if lead is None:
        raise web.HTTPNotFound(text=translator(request).gettext("No such owner lead."))
    return lead


@requires("admin", "agent")
async def lead_detail(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        lead = await _lead(session, request)
        customer = await session.get(Customer, lead.customer_id)
        draft = await session.get(Listing, lead.listing_id) if lead.listing_id else None
        shown = [item.get("listing_id") for item in lead.valuation.get("shown") or []]
        comparables = (await session.scalars(select(Listing).where(Listing.id.in_(shown)))).all() if shown else []
        names = await _names(session)
        district_names = await cards.district_names(session, translator(request))
    return aiohttp_jinja2.render_template("owners/lead.html", request, {
        cards.DISTRICTS_KEY: district_names, "lead": lead, "customer": customer, "draft": draft,
        "comparables": comparables, "names": names, "statuses": OWNER_LEAD_STATUSES,
        "can_draft": draft is None and owner_leads.listing_price(lead.intake, lead.valuation) is not None})


@requires("admin", "agent")
async def lead_take(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    async with act(request) as work:
        lead = await _lead(work.session, request)
        await owner_leads.take(work, lead, staff(request).id)
        lead_id = lead.id
    await flash(request, _("The lead is yours."))
    raise web.HTTPSeeOther(f"/owners/{lead_id}")


@requires("admin", "agent")
async def lead_draft(request: web.Request) -> web.StreamResponse:
    """A draft listing from the intake; the agent completes it on the listing page and sets it active."""
    _ = translator(request)
    try:
        async with act(request) as work:
            lead = await _lead(work.session, request)
            listing = await owner_leads.make_draft(work, lead)
            listing_id = listing.id
    except OwnerLeadError as exc:
        await flash(request, error_text(_, exc), "error")
        raise web.HTTPSeeOther(f"/owners/{path_id(request, 'lead_id')}") from None
    await flash(request, _("Draft listing created: complete it and set it active to publish it."))
    raise web.HTTPSeeOther(f"/listings/{listing_id}")


@requires("admin", "agent")
async def lead_status(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = translator(request)
    new_status = str(form.get("status", ""))
    if new_status not in OWNER_LEAD_STATUSES:
        raise web.HTTPBadRequest(text=_("Unknown status."))
    async with act(request) as work:
        lead = await _lead(work.session, request)
        await owner_leads.set_status(work, lead, new_status)
        lead_id = lead.id
    await flash(request, _("Status set to %(status)s.", status=word(_, "owner_lead_status", new_status)))
    raise web.HTTPSeeOther(f"/owners/{lead_id}")


@requires("admin", "agent")
async def checks(request: web.Request) -> web.StreamResponse:
    """Listings to check: past their verification period, withheld from recommendations, or reported by
    customers. An agent sees their own (all with ?all=1); an admin sees everyone's."""
    me = staff(request)
    everyone = me.role == "admin" or request.query.get("all") == "1"
    now = clock.now()
    async with db(request)() as session:
        rows = await listing_checks.needing_check(session, now, settings(request),
                                                  agent_id=None if everyone else me.id)
        reports = await listing_checks.open_reports(session, [row.id for row in rows])
        names = await _names(session)
        district_names = await cards.district_names(session, translator(request))
    items = [{"listing": row, "reports": reports.get(row.id, []),
              "stale": verification.is_stale(row, now, settings(request)),
              "due": verification.stale_since(row, settings(request))} for row in rows]
    return aiohttp_jinja2.render_template("owners/checks.html", request, {
        cards.DISTRICTS_KEY: district_names, "items": items, "names": names, "everyone": everyone})


@requires("admin", "agent")
async def verify(request: web.Request) -> web.StreamResponse:
    """One click: the listing is still true as it stands (from its page, the checks page or a reminder's link)."""
    form = await request.post()
    _ = translator(request)
    back = local_path(str(form.get("next", "")), "/listings/checks")
    try:
        async with act(request) as work:
            listing = await work.session.get(Listing, path_id(request, "listing_id"))
            if listing is None:
                raise web.HTTPNotFound(text=_("No such listing."))
            resolved = await verification.verify(work, listing, staff(request).id)
            ref = listing.ref_code
    except VerificationError as exc:
        await flash(request, error_text(_, exc), "error")
        raise web.HTTPSeeOther(back) from None
    message = _("%(ref)s verified.", ref=ref)
    if resolved:
        message += " " + _("%(count)s customer reports closed.", count=resolved)
    await flash(request, message)
    raise web.HTTPSeeOther(back)


def setup(app: web.Application) -> None:
    app.router.add_get("/owners", lead_list)
    app.router.add_get("/owners/{lead_id:\\d+}", lead_detail)
    app.router.add_post("/owners/{lead_id:\\d+}/take", lead_take)
    app.router.add_post("/owners/{lead_id:\\d+}/draft", lead_draft)
    app.router.add_post("/owners/{lead_id:\\d+}/status", lead_status)
    app.router.add_get("/listings/checks", checks)
    app.router.add_post("/listings/{listing_id:\\d+}/verify", verify)
