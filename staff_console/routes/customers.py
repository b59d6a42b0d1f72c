"""Customers: search (tag filter in SQL, paged), profile with tags and notes, conversation history, CSV export
(audited); customers staff enter themselves (a caller, a walk-in), their details edited, the homes they own, and
merging two records of one person (storage.services.customer_records, customer_merge)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from staff_console import cards
from staff_console.context import Form, NavItem, act, db, flash, path_id, requires, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from staff_console.routes import entered
from staff_console.words import word
from storage.csv_export import csv_text
from storage.models import Conversation, Customer
from storage.repositories import customers as customers_repo
from storage.repositories import inbox
from storage.services import customer_records, owners
from storage.services.customer_merge import MergeError, merge_customer, mergeable
from storage.services.customer_records import CustomerError
from storage.vocabulary import CUSTOMER_LANGUAGES, CUSTOMER_SOURCES, GENDERS

NAV = [NavItem(N_("Customers"), "/customers", ("admin", "agent"), order=20)]
PAGE = 100
# The export's header in English; Chinese-speaking staff get it in Chinese.
EXPORT_COLUMNS = (N_("id"), N_("first_name"), N_("last_name"), N_("username"), N_("language"), N_("phone"),
                  N_("tags"), N_("last_seen_at"))


def _tags(text: str) -> list[str]:
    seen: list[str] = []
    for part in text.replace("，", ",").split(","):
        tag = part.strip()[:32]
        if tag and tag not in seen:
            seen.append(tag)
    return seen[:20]


@requires("admin", "agent")
async def customer_list(request: web.Request) -> web.StreamResponse:
    query, tag = request.query.get("q", "").strip()[:100], request.query.get("tag", "").strip()[:32]
    page = min(max(1, to_int(request.query.get("page"), 1) or 1), 1_000_000)
    async with db(request)() as session:
        found, total = await customers_repo.search(session, query=query, tag=tag, page=page, per_page=PAGE)
    filters = {"q": query, "tag": tag}
    return aiohttp_jinja2.render_template("customers.html", request, {
        "customers": found, "q": query, "tag": tag, "page": page, "total": total,
        "pages": max(1, -(-total // PAGE)), "query_base": urlencode({k: v for k, v in filters.items() if v})})


async def _card(request: web.Request, customer_id: int | None, *, details_error: str | None = None,
                values: dict[str, str] | None = None, status: int = 200) -> web.StreamResponse:
    async with db(request)() as session:
        card = await inbox.lead_card(session, customer_id) if customer_id else None
        if card is None or customer_id is None:
            raise web.HTTPNotFound(text=translator(request).gettext("No such customer."))
        history = (await session.scalars(select(Conversation).where(Conversation.customer_id == customer_id)
                                         .order_by(Conversation.id.desc()).limit(50))).all()
        districts = await cards.district_names(session, translator(request))
        owned = await owners.owned_units(session, customer_id)
        work_forms = await entered.card_context(session, card.customer)  # work staff enter for the customer
    return aiohttp_jinja2.render_template("customer.html", request, {
        "card": card, "history": history, cards.DISTRICTS_KEY: districts, "owned": owned,
        "mergeable": mergeable(card.customer), "details_error": details_error, "values": values or {},
        **_choices(), **work_forms}, status=status)


@requires("admin", "agent")
async def customer_page(request: web.Request) -> web.StreamResponse:
    return await _card(request, to_int(request.match_info["customer_id"]))


@requires("admin", "agent")
async def customer_update(request: web.Request) -> web.StreamResponse:
    customer_id = to_int(request.match_info["customer_id"])
    form = await request.post()
    async with act(request) as work:
        session = work.session
        customer = await session.get(Customer, customer_id) if customer_id else None
        if customer is None:
            raise web.HTTPNotFound()
        customer.tags = _tags(str(form.get("tags", "")))
        customer.notes = str(form.get("notes", ""))[:4000] or None
        await work.audit("customer_update", target_type="customer",
                         target_id=customer.id, details={"tags": customer.tags})
    _ = translator(request)
    await flash(request, _("Saved."))
    raise web.HTTPSeeOther(f"/customers/{customer_id}")


@requires("admin", "agent")
async def customer_merge(request: web.Request) -> web.StreamResponse:
    """A web chat visitor, or a customer staff entered, is the same person as another customer (usually their
    Telegram one): one history from now on."""
    customer_id = to_int(request.match_info["customer_id"]) or 0
    into = to_int((await request.post()).get("into"))
    _ = translator(request)
    if into is None:
        await flash(request, _("Give the number of the customer to merge into."), "error")
        raise web.HTTPSeeOther(f"/customers/{customer_id}")
    try:
        async with act(request) as work:
            merged = await work.session.get(Customer, customer_id)
            was_web_visitor = merged is not None and merged.web_visitor_id is not None
            await merge_customer(work, customer_id, into)
    except MergeError as exc:
        await flash(request, _("Not merged: %(reason)s.", reason=error_text(_, exc)), "error")
        raise web.HTTPSeeOther(f"/customers/{customer_id}") from None
    if was_web_visitor:
        await flash(request, _("Merged: web visitor #%(number)s and their history are now part of this customer.",
                               number=customer_id))
    else:
        await flash(request, _("Merged: customer #%(number)s and their history are now part of this customer.",
                               number=customer_id))
    raise web.HTTPSeeOther(f"/customers/{into}")


def _choices() -> dict[str, Any]:
    return {"genders": GENDERS, "languages": CUSTOMER_LANGUAGES, "sources": CUSTOMER_SOURCES}


def _detail_values(form: Form) -> dict[str, str]:
    return {name: str(form.get(name, "")) for name in ("first_name", "last_name", "phone", "gender", "language",
                                                       "source")}


def _details(values: dict[str, str]) -> customer_records.CustomerDetails:
    return customer_records.check_details(first_name=values["first_name"], last_name=values["last_name"],
                                          phone=values["phone"], gender=values["gender"],
                                          language=values["language"])


@requires("admin", "agent")
async def customer_new(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("customer_new.html", request,
                                          {"error": None, "values": {"source": request.query.get("source", "")},
                                           **_choices()})


@requires("admin", "agent")
async def customer_create(request: web.Request) -> web.StreamResponse:
    """A caller or a walk-in visitor staff enter by hand."""
    values = _detail_values(await request.post())
    _ = translator(request)
    try:
        details = _details(values)
        async with act(request) as work:
            customer = await customer_records.create_customer(work, details, source=values["source"])
    except CustomerError as exc:
        return aiohttp_jinja2.render_template("customer_new.html", request, {
            "error": _("Not saved: %(reason)s.", reason=error_text(_, exc)), "values": values, **_choices()},
            status=400)
    await flash(request, _("Customer added."))
    raise web.HTTPSeeOther(f"/customers/{customer.id}")


@requires("admin", "agent")
async def customer_details(request: web.Request) -> web.StreamResponse:
    """Staff correct a customer's name, phone, gender or language."""
    customer_id = path_id(request, "customer_id")
    values = _detail_values(await request.post())
    _ = translator(request)
    try:
        details = _details(values)
        async with act(request) as work:
            await customer_records.update_customer(work, customer_id, details)
    except CustomerError as exc:
        return await _card(request, customer_id, values=values, status=400,
                           details_error=_("Not saved: %(reason)s.", reason=error_text(_, exc)))
    await flash(request, _("Saved."))
    raise web.HTTPSeeOther(f"/customers/{customer_id}")


@requires("admin")
async def customer_export(request: web.Request) -> web.StreamResponse:
    _ = translator(request)
    header = [_(column) for column in EXPORT_COLUMNS]
    async with act(request) as work:
        rows = [[customer.id, customer.first_name, customer.last_name, customer.username,
                 word(_, "language", customer.language), customer.phone, ";".join(customer.tags or []),
                 customer.last_seen_at.isoformat() if customer.last_seen_at else None]
                for customer in await work.session.scalars(select(Customer).order_by(Customer.id))]
        await work.audit("export", target_type="customers", details={"rows": len(rows)})
    return web.Response(body=csv_text(header, rows).encode("utf-8-sig"), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


def setup(app: web.Application) -> None:
    app.router.add_get("/customers", customer_list)
    app.router.add_get("/customers/export.csv", customer_export)
    app.router.add_get("/customers/new", customer_new)
    app.router.add_post("/customers/new", customer_create)
    app.router.add_get("/customers/{customer_id:\\d+}", customer_page)
    app.router.add_post("/customers/{customer_id:\\d+}", customer_update)
    app.router.add_post("/customers/{customer_id:\\d+}/merge", customer_merge)
    app.router.add_post("/customers/{customer_id:\\d+}/details", customer_details)
