"""Listings: list with filters, create and edit (with photos), status changes (audited), CSV import.

Every write goes through `storage.services.listings`, which owns the price-drop and photo-cache rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from staff_console import cards
from staff_console.context import NavItem, act, db, flash, path_id, requires, settings, to_int
from staff_console.errors import error_text
from staff_console.i18n import N_, Translator, translator
from staff_console.words import word
from storage import clock
from storage.db import LIKE_ESCAPE, like_pattern
from storage.importers import CsvFormatError, import_listings
from storage.media import PhotoError, check_photo, image_kind, resolve_photo, store_listing_photo
from storage.models import District, Listing, Staff
from storage.repositories import listing_checks
from storage.repositories import staff as staff_repo
from storage.services import listings, verification
from storage.services.listings import NUMBERS, ListingDraft, ListingError, NumberRule, parse_number
from storage.settings import Settings
from storage.vocabulary import DEAL_TYPES, DECORATIONS, LISTING_STATUSES, PROPERTY_TYPES

NAV = [NavItem(N_("Listings"), "/listings", ("admin", "agent"), order=30)]
PAGE = 50
_ID = NumberRule(Decimal(1), Decimal(2**63 - 1), whole=True)  # a row id: the database's 64 bits


class FormError(ValueError):
    pass


def _filters(query: Mapping[str, str]) -> dict[str, str]:
    keys = ("q", "deal_type", "property_type", "status", "district", "min_price", "max_price", "bedrooms")
    return {key: str(query.get(key, "")).strip() for key in keys}


# Sortable columns of the list: the name in the query, and the column (newest change first by default).
SORTS = {"ref": Listing.ref_code, "price": Listing.price, "bedrooms": Listing.bedrooms, "area": Listing.area_m2,
         "verified": Listing.verified_at, "updated": Listing.updated_at}


def _sort(query: Mapping[str, str]) -> tuple[str, str]:
    key = str(query.get("sort", ""))
    direction = str(query.get("dir", ""))
    if key not in SORTS:
        return "updated", "desc"
    return key, direction if direction in ("asc", "desc") else "asc"


@requires("admin", "agent")
async def listing_list(request: web.Request) -> web.StreamResponse:
    f = _filters(request.query)
    sort, direction = _sort(request.query)
    page = min(max(1, to_int(request.query.get("page"), 1) or 1), 1_000_000)
    statement = select(Listing)
    if f["q"]:
        like = like_pattern(f['q'])
        statement = statement.where(or_(func.lower(Listing.ref_code).like(like, escape=LIKE_ESCAPE),
                                        func.lower(Listing.address).like(like, escape=LIKE_ESCAPE),
                                        func.lower(Listing.description).like(like, escape=LIKE_ESCAPE)))
    for key in ("deal_type", "property_type", "status"):
        if f[key]:
            statement = statement.where(getattr(Listing, key) == f[key])
    if f["district"]:
        statement = statement.where(func.lower(Listing.district_name) == f["district"].lower())
    # Filters are read like the form's numbers; one out of range or not a number is dropped, never a 500.
    for key, op in (("min_price", "__ge__"), ("max_price", "__le__")):
        try:
            if f[key]:
                statement = statement.where(getattr(Listing.price, op)(parse_number(f[key], key, NUMBERS["price"])))
        except ListingError:
            f[key] = ""
    try:
        if f["bedrooms"]:
            bedrooms = parse_number(f["bedrooms"], "bedrooms", NUMBERS["bedrooms"])
            statement = statement.where(Listing.bedrooms >= int(bedrooms))
    except ListingError:
        f["bedrooms"] = ""
    async with db(request)() as session:
        total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        column = SORTS[sort]
        order = column.asc() if direction == "asc" else column.desc()
        listings = (await session.scalars(statement.order_by(order.nulls_last(), Listing.id.desc())
                                          .offset((page - 1) * PAGE).limit(PAGE))).all()
        districts = (await session.scalars(select(District.name).order_by(District.name))).all()
        district_names = await cards.district_names(session, translator(request))
        names = dict((await session.execute(select(Staff.id, Staff.name))).tuples().all())
    now = clock.now()
    stale = {listing.id for listing in listings if verification.is_stale(listing, now, settings(request))}
    media = settings(request).media_path
    files = await asyncio.to_thread(lambda: {listing.id: photo_files(listing, media) for listing in listings})
    thumbs = {listing_id: found[0] for listing_id, found in files.items() if found}
    return aiohttp_jinja2.render_template("listings.html", request, {cards.DISTRICTS_KEY: district_names,
        "names": names, "stale": stale, "thumbs": thumbs,
        "listings": listings, "f": f, "page": page, "total": total, "pages": max(1, -(-total // PAGE)),
        "deal_types": DEAL_TYPES, "property_types": PROPERTY_TYPES, "statuses": LISTING_STATUSES,
        "decorations": DECORATIONS,
        "districts": districts, "query_base": urlencode({k: v for k, v in {**f, "sort": sort, "dir": direction}.items()
                                                         if v}),
        "filter_base": urlencode({k: v for k, v in f.items() if v}), "sort": sort, "dir": direction,
    })


async def _form_context(session: AsyncSession, listing: Listing | None, error: str | None = None,
                        values: dict[str, Any] | None = None, current: Settings | None = None) -> dict[str, Any]:
    check: dict[str, Any] = {}
    if listing is not None and current is not None:  # last verified, staleness and open reports (one click to verify)
        now = clock.now()
        check = {"stale": verification.is_stale(listing, now, current),
                 "due": verification.stale_since(listing, current),
                 "reports": (await listing_checks.open_reports(session, [listing.id])).get(listing.id, []),
                 "verified_by": (await session.get(Staff, listing.verified_by_id)) if listing.verified_by_id else None}
    files = await asyncio.to_thread(photo_files, listing, current.media_path) \
        if listing is not None and current is not None else []
    return {
        "listing": listing, "error": error, "values": values or {}, "check": check, "photo_files": files,
        "deal_types": DEAL_TYPES, "property_types": PROPERTY_TYPES, "statuses": LISTING_STATUSES,
        "decorations": DECORATIONS,
        "districts": (await session.scalars(select(District).order_by(District.city, District.name))).all(),
        "agents": await staff_repo.agents(session),
    }


@requires("admin", "agent")
async def listing_new(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        context = await _form_context(session, None)
    return aiohttp_jinja2.render_template("listing_form.html", request, context)


@requires("admin", "agent")
async def listing_edit(request: web.Request) -> web.StreamResponse:
    async with db(request)() as session:
        listing = await _listing(session, request)
        context = await _form_context(session, listing, current=settings(request))
    return aiohttp_jinja2.render_template("listing_form.html", request, context)


async def _listing(session: AsyncSession, request: web.Request) -> Listing:
    listing = await session.get(Listing, path_id(request, "listing_id"))
    if listing is None:
        raise web.HTTPNotFound(text=translator(request).gettext("No such listing."))
    return listing


def _number(_: Translator, value: str, name: str, rule: NumberRule = _ID) -> Decimal | None:
    """The import's number reading (one parser, one set of ranges): empty is None, anything else in range."""
    if not value:
        return None
    try:
        return parse_number(value, name, rule)
    except ListingError as exc:
        raise FormError(error_text(_, exc)) from None


def _optional_int(_: Translator, value: str, name: str, rule: NumberRule = _ID) -> int | None:
    number = _number(_, value, name, rule)
    return None if number is None else int(number)


def _tristate(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def photo_files(listing: Listing, media_dir: Path) -> list[int]:
    """Positions of the listing's photos that are files in the media folder (shown as pictures by position,
    never by their path on the server); the others are links."""
    return [index for index, photo in enumerate(listing.photos)
            if isinstance(resolve_photo(photo.url, media_dir), Path)]


def _kept_files(form: Mapping[str, object], listing: Listing | None, media_dir: Path) -> list[str]:
    """The stored file photos the form keeps, named by position (the page never shows their paths)."""
    if listing is None or not hasattr(form, "getall"):
        return []
    files = set(photo_files(listing, media_dir))
    kept = [to_int(str(value)) for value in form.getall("keep_photo", [])]
    return [listing.photos[index].url for index in dict.fromkeys(kept) if index is not None and index in files]


def _photos(_: Translator, text: str, listing: Listing | None, media_dir: Path, kept: list[str] | None = None
            ) -> list[str]:
    """One per line: links, or files already stored for this listing (imports, the demo) that are still inside
    the media folder, checked as the import and the bot check them; `kept` files first."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    urls = list(dict.fromkeys([*(kept or []), *lines]))[:30]
    known = {photo.url for photo in listing.photos} if listing is not None else set()
    known |= set(kept or [])
    for url in urls:
        try:
            check_photo(url, media_dir)
        except PhotoError as exc:
            shown = url if len(url) <= 60 else url[:56] + "…"
            raise FormError(_("photo %(photo)s %(reason)s", photo=repr(shown), reason=error_text(_, exc))) from None
        if not url.startswith(("https://", "http://")) and url not in known:
            raise FormError(_("photos are links starting with https://, one per line"))
    return urls


def _uploads(_: Translator, form: Mapping[str, object]) -> list[bytes]:
    """The photo files chosen on the form (checked before anything is written)."""
    files = [value for value in (form.getall("upload", []) if hasattr(form, "getall") else [])
             if isinstance(value, web.FileField) and value.filename]
    if len(files) > 10:
        raise FormError(_("at most %(count)s photos at a time", count=10))
    found = []
    for upload in files:
        data = upload.file.read(10 * 1024 * 1024 + 1)
        if image_kind(data[:16]) is None or len(data) > 10 * 1024 * 1024:
            raise FormError(_("photo %(photo)s %(reason)s", photo=repr(upload.filename[:60]),
                              reason=_("is not a JPEG, PNG, GIF or WebP image of at most 10 MB")))
        found.append(data)
    return found


async def _draft(_: Translator, session: AsyncSession, listing: Listing | None, form: Mapping[str, object],
                 media_dir: Path, uploaded: list[str] | None = None) -> ListingDraft:
    """The form as a listing draft; FormError names the first field that is wrong. Reads, never writes."""

    def get(key: str) -> str:
        return str(form.get(key, "")).strip()

    if get("deal_type") not in DEAL_TYPES:
        raise FormError(_("choose sale or rent"))
    if get("property_type") not in PROPERTY_TYPES:
        raise FormError(_("choose a property type"))
    if get("status") not in LISTING_STATUSES:
        raise FormError(_("choose a status"))
    price = _number(_, get("price"), "price", NUMBERS["price"])
    if price is None:
        raise FormError(_("price is required"))
    area = _number(_, get("area_m2"), "area", NUMBERS["area_m2"])
    if area is None:
        raise FormError(_("area is required"))
    bedrooms = _optional_int(_, get("bedrooms"), "bedrooms", NUMBERS["bedrooms"])
    bathrooms = _optional_int(_, get("bathrooms"), "bathrooms", NUMBERS["bathrooms"])
    floor = _optional_int(_, get("floor"), "floor", NUMBERS["floor"])
    floors_total = _optional_int(_, get("floors_total"), "floors", NUMBERS["floors_total"])
    if floor is not None and floors_total is not None and floor > floors_total:
        raise FormError(_("floor %(floor)s is above the %(floors)s floors of the building", floor=floor,
                          floors=floors_total))
    try:
        available = date.fromisoformat(get("available_from")) if get("available_from") else None
    except ValueError:
        raise FormError(_("the date must be YYYY-MM-DD")) from None
    if not get("city"):
        raise FormError(_("city is required"))
    district = None
    district_id = _optional_int(_, get("district_id"), "district")
    if district_id:
        district = await session.get(District, district_id)
    try:
        furnished, partly_furnished = listings.read_furnished(get("furnished"))
        decoration = listings.read_decoration(get("decoration"))
    except ListingError as exc:
        raise FormError(error_text(_, exc)) from None
    agent_id = _optional_int(_, get("agent_id"), "agent")
    if agent_id is not None and await session.get(Staff, agent_id) is None:
        raise FormError(_("choose an agent from the list"))
    return ListingDraft(
        deal_type=get("deal_type"), property_type=get("property_type"), status=get("status"),
        city=get("city")[:64], district_id=district.id if district else None,
        district_name=district.name if district else get("district_name")[:64], address=get("address")[:256],
        price=price, currency=(get("currency") or "CNY").upper()[:3],
        bedrooms=bedrooms or 0, bathrooms=1 if bathrooms is None else bathrooms, area_m2=float(area),
        floor=floor, floors_total=floors_total,
        available_from=available, furnished=furnished, pets_allowed=_tristate(get("pets_allowed")),
        partly_furnished=partly_furnished, decoration=decoration,
        features=[part.strip() for part in get("features").split(";") if part.strip()][:30],
        description=get("description")[:4000], agent_id=agent_id,
        # The form does not show coordinates: an edit keeps the ones an import gave.
        lat=listing.lat if listing is not None else None, lon=listing.lon if listing is not None else None,
        photos=_photos(_, get("photos"), listing, media_dir,
                       [*_kept_files(form, listing, media_dir), *(uploaded or [])]),
    )


@requires("admin", "agent")
async def listing_save(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = translator(request)
    is_new = request.match_info.get("listing_id") is None
    # A refused form writes nothing: the draft is read before anything is written.
    media = settings(request).media_path
    stored: list[str] = []
    async with act(request) as work:
        listing = None if is_new else await _listing(work.session, request)
        try:
            files = _uploads(_, form)
            stored = [await asyncio.to_thread(store_listing_photo, media, data) for data in files]
            draft = await _draft(_, work.session, listing, form, media, stored)
            if listing is None:
                listing = await listings.create(work, str(form.get("ref_code", "")), draft)
            else:
                await listings.edit(work, listing, draft)
        except (FormError, ListingError) as exc:
            for name in stored:  # a refused form keeps none of its uploads
                (media / name).unlink(missing_ok=True)
            shown = str(exc) if isinstance(exc, FormError) else error_text(_, exc)
            context = await _form_context(work.session, None if is_new else listing, shown, dict(form),
                                          current=settings(request))
            return aiohttp_jinja2.render_template("listing_form.html", request, context, status=400)
        saved_id = listing.id
    await flash(request, _("Listing saved."))
    raise web.HTTPSeeOther(f"/listings/{saved_id}")


@requires("admin", "agent")
async def listing_status(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = translator(request)
    new_status = str(form.get("status", ""))
    if new_status not in LISTING_STATUSES:
        raise web.HTTPBadRequest(text=_("Unknown status."))
    async with act(request) as work:
        await listings.set_status(work, await _listing(work.session, request), new_status)
    await flash(request, _("Status set to %(status)s.", status=word(_, "listing_status", new_status)))
    raise web.HTTPSeeOther("/listings")


@requires("admin", "agent")
async def import_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("listing_import.html", request, {"report": None, "error": None})


@requires("admin")
async def import_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    _ = translator(request)
    upload = form.get("file")
    if upload is None or not hasattr(upload, "file"):
        return aiohttp_jinja2.render_template("listing_import.html", request,
                                              {"report": None, "error": _("Choose a CSV file.")}, status=400)
    data = await asyncio.to_thread(upload.file.read)
    try:
        report = await import_listings(db(request), data, media_dir=settings(request).media_path)
    except CsvFormatError as exc:
        return aiohttp_jinja2.render_template("listing_import.html", request,
                                              {"report": None, "error": _("Nothing imported: %(reason)s",
                                                                             reason=error_text(_, exc))},
                                              status=400)
    async with act(request) as work:
        await work.audit("listing_import", target_type="listings",
                         details={"summary": report.summary(), "file": getattr(upload, "filename", "")})
    return aiohttp_jinja2.render_template("listing_import.html", request, {"report": report, "error": None})


@requires("admin", "agent")
async def listing_photo(request: web.Request) -> web.StreamResponse:
    """A listing's photo that is a file in the media folder, by its position; links and anything else: 404."""
    index = to_int(request.match_info["index"])
    async with db(request)() as session:
        listing = await session.get(Listing, path_id(request, "listing_id"))
        url = listing.photos[index].url if listing is not None and index is not None and \
            0 <= index < len(listing.photos) else None
    path = await asyncio.to_thread(resolve_photo, url, settings(request).media_path) if url else None
    if not isinstance(path, Path):
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


def setup(app: web.Application) -> None:
    app.router.add_get("/listings", listing_list)
    app.router.add_get("/listings/new", listing_new)
    app.router.add_post("/listings/new", listing_save)
    app.router.add_get("/listings/import", import_page)
    app.router.add_post("/listings/import", import_submit)
    app.router.add_get("/listings/{listing_id:\\d+}", listing_edit)
    app.router.add_get("/listings/{listing_id:\\d+}/photos/{index:\\d+}", listing_photo)
    app.router.add_post("/listings/{listing_id:\\d+}", listing_save)
    app.router.add_post("/listings/{listing_id:\\d+}/status", listing_status)
