"""Customers: search, profile with tags and notes, conversation history, CSV export (audited)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import Select, func, or_, select

from staff_console import cards
from staff_console.context import NavItem, act, db, flash, requires, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, translator
from staff_console.routes import entered
from staff_console.words import word
from storage.csv_export import csv_text
from storage.models import Conversation, Customer
from storage.repositories import inbox
from storage.services.customer_merge import MergeError, merge_web_visitor

NAV = [NavItem(N_("Customers"), "/customers", ("admin", "agent"), order=20)]
PAGE = 100
# The export's header in English; Chinese-speaking staff get it in Chinese.
EXPORT_COLUMNS = (N_("id"), N_("first_name"), N_("last_name"), N_("username"), N_("language"), N_("phone"),
                  N_("tags"), N_("last_seen_at"))


def _search(query: str, tag: str) -> Select[tuple[Customer]]:
    statement = select(Customer)
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(or_(
            func.lower(Customer.first_name).like(like), func.lower(func.coalesce(Customer.last_name, "")).like(like),
            func.lower(func.coalesce(Customer.username, "")).like(like), func.coalesce(Customer.phone, "").like(like),
        ))
    return statement.order_by(Customer.last_seen_at.desc().nulls_last(), Customer.id.desc())


def _tags(text: str) -> list[str]:
    seen: list[str] = []
    for part in text.replace("，", ",").split(","):
        tag = part.strip()[:32]
        if tag and tag not in seen:
            seen.append(tag)
    return seen[:20]


@requires("admin", "agent")
async def customer_list(request: web.Request) -> web.StreamResponse:
    query, tag = request.query.get("q", "").strip(), request.query.get("tag", "").strip()
    async with db(request)() as session:
        found = list((await session.scalars(_search(query, tag).limit(PAGE * 5))).all())
    if tag:  # tags live in a JSON list; filtering here keeps the query portable between SQLite and PostgreSQL
        found = [c for c in found if tag in (c.tags or [])]
    return aiohttp_jinja2.render_template("customers.html", request, {"customers": found[:PAGE], "q": query,
                                                                      "tag": tag})


@requires("admin", "agent")
async def customer_page(request: web.Request) -> web.StreamResponse:
    customer_id = to_int(request.match_info["customer_id"])
    async with db(request)() as session:
        card = await inbox.lead_card(session, customer_id) if customer_id else None
        if card is None:
            raise web.HTTPNotFound(text=translator(request).gettext("No such customer."))
        history = (await session.scalars(select(Conversation).where(Conversation.customer_id == customer_id)
                                         .order_by(Conversation.id.desc()).limit(50))).all()
        districts = await cards.district_names(session, translator(request))
        work_forms = await entered.card_context(session, card.customer)  # w-10-entered: work entered for them
    return aiohttp_jinja2.render_template("customer.html", request, {"card": card, "history": history,
                                                                     cards.DISTRICTS_KEY: districts, **work_forms})


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
    """A web chat visitor is the same person as another customer (their Telegram one): one history from now on."""
    customer_id = to_int(request.match_info["customer_id"]) or 0
    into = to_int((await request.post()).get("into"))
    _ = translator(request)
    if into is None:
        await flash(request, _("Give the number of the customer to merge into."), "error")
        raise web.HTTPSeeOther(f"/customers/{customer_id}")
    try:
        async with act(request) as work:
            await merge_web_visitor(work, customer_id, into)
    except MergeError as exc:
        await flash(request, _("Not merged: %(reason)s.", reason=error_text(_, exc)), "error")
        raise web.HTTPSeeOther(f"/customers/{customer_id}") from None
    await flash(request, _("Merged: web visitor #%(number)s and their history are now part of this customer.",
                           number=customer_id))
    raise web.HTTPSeeOther(f"/customers/{into}")


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
    app.router.add_get("/customers/{customer_id:\\d+}", customer_page)
    app.router.add_post("/customers/{customer_id:\\d+}", customer_update)
    app.router.add_post("/customers/{customer_id:\\d+}/merge", customer_merge)
