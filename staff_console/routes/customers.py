"""Customers: search, profile with tags and notes, conversation history, CSV export (audited)."""

from __future__ import annotations

import csv
import io

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, or_, select

from staff_console.context import NavItem, act, db, flash, requires, to_int
from storage.models import Conversation, Customer
from storage.repositories import inbox
from storage.services.customer_merge import MergeError, merge_web_visitor

NAV = [NavItem("Customers", "/customers", ("admin", "agent"), order=20)]
PAGE = 100


def _search(query: str, tag: str):  # type: ignore[no-untyped-def]
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
            raise web.HTTPNotFound(text="No such customer.")
        history = (await session.scalars(select(Conversation).where(Conversation.customer_id == customer_id)
                                         .order_by(Conversation.id.desc()).limit(50))).all()
    return aiohttp_jinja2.render_template("customer.html", request, {"card": card, "history": history})


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
    await flash(request, "Saved.")
    raise web.HTTPSeeOther(f"/customers/{customer_id}")


@requires("admin", "agent")
async def customer_merge(request: web.Request) -> web.StreamResponse:
    """A web chat visitor is the same person as another customer (their Telegram one): one history from now on."""
    customer_id = to_int(request.match_info["customer_id"]) or 0
    into = to_int((await request.post()).get("into"))
    if into is None:
        await flash(request, "Give the number of the customer to merge into.", "error")
        raise web.HTTPSeeOther(f"/customers/{customer_id}")
    try:
        async with act(request) as work:
            await merge_web_visitor(work, customer_id, into)
    except MergeError as exc:
        await flash(request, f"Not merged: {exc}.", "error")
        raise web.HTTPSeeOther(f"/customers/{customer_id}") from None
    await flash(request, f"Merged: web visitor #{customer_id} and their history are now part of this customer.")
    raise web.HTTPSeeOther(f"/customers/{into}")


@requires("admin")
async def customer_export(request: web.Request) -> web.StreamResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "first_name", "last_name", "username", "language", "phone", "tags", "last_seen_at"])
    async with act(request) as work:
        session = work.session
        count = 0
        for customer in await session.scalars(select(Customer).order_by(Customer.id)):
            writer.writerow([customer.id, customer.first_name, customer.last_name or "", customer.username or "",
                             customer.language, customer.phone or "", ";".join(customer.tags or []),
                             customer.last_seen_at.isoformat() if customer.last_seen_at else ""])
            count += 1
        await work.audit("export", target_type="customers",
                         details={"rows": count})
    return web.Response(body=buffer.getvalue().encode("utf-8-sig"), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


def setup(app: web.Application) -> None:
    app.router.add_get("/customers", customer_list)
    app.router.add_get("/customers/export.csv", customer_export)
    app.router.add_get("/customers/{customer_id:\\d+}", customer_page)
    app.router.add_post("/customers/{customer_id:\\d+}", customer_update)
    app.router.add_post("/customers/{customer_id:\\d+}/merge", customer_merge)
