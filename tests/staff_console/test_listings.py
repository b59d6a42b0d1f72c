"""Listing writes from the console follow the same rules as the import (storage.services.listings)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from staff_console.app import create_app
from storage.db import transaction
from storage.models import District, Listing
from storage.services.staff_accounts import create_staff
from tests.staff_console.conftest import PASSWORD, console_settings, sign_in
from tests.staff_console.test_admin_pages import LISTING_FORM


async def _edit(client, token: str, listing_id: int, **changes: str) -> None:
    response = await client.post(f"/listings/{listing_id}", data={**LISTING_FORM, **changes, "csrf_token": token},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()


async def _listing(sessions, listing_id: int) -> Listing:
    async with sessions() as session:
        listing = await session.get(Listing, listing_id)
        assert listing is not None
        return listing


async def test_a_price_rise_after_a_drop_clears_the_previous_price(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    created = await client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-7", "csrf_token": token},
                                allow_redirects=False)
    assert created.status == 303
    listing_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert (await _listing(sessions, listing_id)).previous_price is None  # a new listing has not dropped

    await _edit(client, token, listing_id, price="8000")
    listing = await _listing(sessions, listing_id)
    assert (listing.price, listing.previous_price) == (Decimal("8000"), Decimal("8500"))

    await _edit(client, token, listing_id, price="8000", description="Same price, new words")
    assert (await _listing(sessions, listing_id)).previous_price == Decimal("8500")  # unchanged price keeps it

    await _edit(client, token, listing_id, price="9000")
    listing = await _listing(sessions, listing_id)
    assert (listing.price, listing.previous_price) == (Decimal("9000"), None)


async def test_an_edit_keeps_cached_photos_that_stay_and_the_imported_coordinates(client, team, sessions):
    token = await sign_in(client, "agent@example.com")
    created = await client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-8", "csrf_token": token},
                                allow_redirects=False)
    listing_id = int(created.headers["Location"].rsplit("/", 1)[1])
    async with transaction(sessions) as session:
        listing = await session.get(Listing, listing_id)
        listing.photos[1].telegram_file_id = "cached-2"
        listing.lat, listing.lon = 39.9, 116.4

    await _edit(client, token, listing_id, photos="https://example.com/2.jpg\nhttps://example.com/3.jpg")
    async with sessions() as session:
        listing = await session.scalar(select(Listing).where(Listing.id == listing_id))
        assert [(p.url, p.telegram_file_id) for p in listing.photos] == [
            ("https://example.com/2.jpg", "cached-2"), ("https://example.com/3.jpg", None)]
        assert (listing.lat, listing.lon) == (39.9, 116.4)


# --- hostile input: numbers and photos (issue 14) ------------------------------------------------------------------

CSV_HEADER = ("ref_code,deal_type,property_type,city,district,address,price,currency,bedrooms,bathrooms,area_m2,"
              "floor,floors_total,available_from,furnished,pets_allowed,features,photos,agent_email,status,"
              "description,lat,lon\n")


def csv_row(ref: str, **changes: str) -> str:
    values = {"ref_code": ref, "deal_type": "sale", "property_type": "apartment", "city": "Beijing",
              "district": "Chaoyang", "address": "Road 1", "price": "3500000", "currency": "CNY", "bedrooms": "3",
              "bathrooms": "2", "area_m2": "120", "floor": "8", "floors_total": "20", "available_from": "",
              "furnished": "yes", "pets_allowed": "no", "features": "lift", "photos": "", "agent_email": "",
              "status": "active", "description": "Nice", "lat": "", "lon": ""}
    values.update(changes)
    return ",".join(f'"{value}"' for value in values.values()) + "\n"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    (folder / "listings").mkdir(parents=True)
    (folder / "listings" / "a.png").write_bytes(b"png")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for customers")
    (folder / "listings" / "link.png").symlink_to(secret)
    return folder


@pytest.fixture
async def any_client(any_sessions, bus, media) -> AsyncIterator[TestClient]:
    """The console on every database backend, with its media folder."""
    async with transaction(any_sessions) as session:
        session.add(District(city="Beijing", name="Chaoyang", name_zh="朝阳", aliases=[], neighbours=[]))
        for role in ("admin", "agent"):
            await create_staff(session, f"{role}@example.com", role.title(), role, PASSWORD)
    app = create_app(settings=console_settings(media_dir=str(media)), sessions=any_sessions, bus=bus)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def _upload(client: TestClient, token: str, text: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", text.encode(), filename="listings.csv", content_type="text/csv")
    response = await client.post("/listings/import", data=form)
    return response.status, await response.text()


HOSTILE_ROWS = [
    ("price", "1e999999"), ("price", "9" * 400), ("price", "NaN"), ("price", "Infinity"), ("price", "-0"),
    ("area_m2", "-85"), ("area_m2", "1e400"), ("bedrooms", str(10**30)), ("bathrooms", "-1"),
    ("floor", str(2**63)), ("floors_total", "0"), ("lat", "500"), ("lon", "-Infinity"),
    ("photos", "/etc/hostname"), ("photos", "../../../../etc/passwd"), ("photos", "listings/link.png"),
    ("photos", "file:///etc/passwd"),
]


async def test_csv_upload_rejects_hostile_rows_by_line_and_keeps_the_good_ones(any_client, any_sessions, media):
    token = await sign_in(any_client, "admin@example.com")
    rows = [csv_row("GOOD-1", photos="listings/a.png;https://img.example/1.jpg")]
    rows += [csv_row(f"BAD-{n}", **{column: value, **({"lon": "116.4"} if column == "lat" else {}),
                                   **({"lat": "39.9"} if column == "lon" else {})})
             for n, (column, value) in enumerate(HOSTILE_ROWS)]
    rows.append(csv_row("GOOD-2", price="1,250,000", photos=str(media / "listings" / "a.png")))
    status, page = await _upload(any_client, token, CSV_HEADER + "".join(rows))

    assert status == 200 and "2 inserted" in page and f"{len(HOSTILE_ROWS)} rejected" in page
    reasons = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page)
    assert [int(line) for line, _ in reasons] == list(range(3, 3 + len(HOSTILE_ROWS)))
    for (_, reason), (column, _) in zip(reasons, HOSTILE_ROWS, strict=True):
        assert reason.startswith("photo " if column == "photos" else f"{column} "), reason
    assert "not for customers" not in page
    async with any_sessions() as session:
        assert set(await session.scalars(select(Listing.ref_code))) == {"GOOD-1", "GOOD-2"}


FORM_CASES = [
    ({"price": "1e999999"}, "price is"), ({"price": "9" * 400}, "price must be"), ({"price": "NaN"}, "price is"),
    ({"price": "-0"}, "price must be"), ({"price": "0.001"}, "price must be"), ({"price": ""}, "price is required"),
    ({"area_m2": "Infinity"}, "area is"), ({"area_m2": "-1"}, "area must be"), ({"area_m2": ""}, "area is required"),
    ({"bedrooms": str(10**30)}, "bedrooms must be"), ({"bathrooms": "1e3"}, "bathrooms is"),
    ({"floor": "-99"}, "floor must be"), ({"floors_total": "0"}, "floors must be"),
    ({"floor": "20", "floors_total": "10"}, "floor 20 is above"),
    ({"district_id": str(10**30)}, "district must be"), ({"agent_id": str(2**63)}, "agent must be"),
    ({"agent_id": "987654"}, "choose an agent"),
    ({"photos": "/etc/hostname"}, "is outside the media folder"),
    ({"photos": "../../../../etc/passwd"}, "must not contain"),
    ({"photos": "listings/link.png"}, "leads outside the media folder"),
    ({"photos": "listings/a.png"}, "photos are links"),  # new photos typed in the form are links
]


async def test_the_listing_form_refuses_hostile_numbers_and_photos(any_client, any_sessions, media):
    token = await sign_in(any_client, "agent@example.com")
    for changes, message in FORM_CASES:
        response = await any_client.post("/listings/new", data={**LISTING_FORM, "ref_code": "BJ-X", **changes,
                                                                  "csrf_token": token}, allow_redirects=False)
        assert response.status == 400, changes
        assert message in html.unescape(await response.text()), changes
    async with any_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Listing)) == 0

    # An imported media photo stays on edit; the same listing cannot be given a server file.
    admin = await sign_in(any_client, "admin@example.com")
    status, _ = await _upload(any_client, admin, CSV_HEADER + csv_row("IMP-1", photos="listings/a.png"))
    assert status == 200
    async with any_sessions() as session:
        listing_id = await session.scalar(select(Listing.id).where(Listing.ref_code == "IMP-1"))
    kept = await any_client.post(f"/listings/{listing_id}", data={**LISTING_FORM, "photos": "listings/a.png",
                                                                  "csrf_token": admin}, allow_redirects=False)
    assert kept.status == 303
    for bad in ("/etc/hostname", "listings/a.png\n../../../../etc/passwd", str(10**30)):
        refused = await any_client.post(f"/listings/{listing_id}", data={**LISTING_FORM, "photos": bad,
                                                                         "csrf_token": admin})
        assert refused.status == 400, bad
    async with any_sessions() as session:
        listing = await session.get(Listing, listing_id)
        assert [photo.url for photo in listing.photos] == ["listings/a.png"]


async def test_listing_pages_never_fail_on_huge_numbers(any_client):
    await sign_in(any_client, "agent@example.com")
    for query in ("min_price=1e999999&max_price=NaN", f"bedrooms={'9' * 400}", f"page={10**30}",
                  "min_price=-Infinity&bedrooms=²"):
        assert (await any_client.get(f"/listings?{query}")).status == 200, query
    assert (await any_client.get(f"/listings/{10**30}")).status == 404


async def test_photos_show_as_thumbnails_by_position_never_by_server_path(any_client, any_sessions, media):
    admin = await sign_in(any_client, "admin@example.com")
    status, _ = await _upload(any_client, admin,
                              CSV_HEADER + csv_row("PH-1", photos="listings/a.png;https://img.example/1.jpg"))
    assert status == 200
    async with any_sessions() as session:
        listing_id = await session.scalar(select(Listing.id).where(Listing.ref_code == "PH-1"))
    listing_page = await (await any_client.get("/listings")).text()
    row = re.search(rf'<tr data-listing="{listing_id}">(.*?)</tr>', listing_page, re.DOTALL)
    assert row and f'<img class="thumb" src="/listings/{listing_id}/photos/0"' in row.group(1)
    picture = await any_client.get(f"/listings/{listing_id}/photos/0")
    assert picture.status == 200 and await picture.read() == b"png"
    for index in (1, 2, 10**30):  # a link is not served from here; no such photo
        assert (await any_client.get(f"/listings/{listing_id}/photos/{index}")).status == 404

    form_page = await (await any_client.get(f"/listings/{listing_id}")).text()
    assert "listings/a.png" not in form_page and str(media) not in form_page  # no server path, anywhere
    assert re.search(r'<input type="checkbox" name="keep_photo" value="0" checked>', form_page)
    textarea = re.search(r'<textarea name="photos"[^>]*>(.*?)</textarea>', form_page, re.DOTALL)
    assert textarea and textarea.group(1).strip() == "https://img.example/1.jpg"

    form = aiohttp.FormData({**LISTING_FORM, "photos": "https://img.example/1.jpg", "csrf_token": admin})
    form.add_field("keep_photo", "0")
    form.add_field("keep_photo", "1")  # a link's position is not a file to keep: ignored
    assert (await any_client.post(f"/listings/{listing_id}", data=form, allow_redirects=False)).status == 303
    async with any_sessions() as session:
        kept = [p.url for p in (await session.get(Listing, listing_id)).photos]
    assert kept == ["listings/a.png", "https://img.example/1.jpg"]
    dropped = {**LISTING_FORM, "photos": "https://img.example/1.jpg", "csrf_token": admin}  # the box unticked
    assert (await any_client.post(f"/listings/{listing_id}", data=dropped, allow_redirects=False)).status == 303
    async with any_sessions() as session:
        assert [p.url for p in (await session.get(Listing, listing_id)).photos] == ["https://img.example/1.jpg"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


async def test_photos_uploaded_on_the_form_are_kept_in_the_media_folder(any_client, any_sessions, media):
    admin = await sign_in(any_client, "admin@example.com")
    form = aiohttp.FormData({**LISTING_FORM, "ref_code": "UP-1", "photos": "https://img.example/1.jpg",
                             "csrf_token": admin})
    form.add_field("upload", PNG, filename="living room.png", content_type="image/png")
    created = await any_client.post("/listings/new", data=form, allow_redirects=False)
    assert created.status == 303, await created.text()
    async with any_sessions() as session:
        listing = await session.scalar(select(Listing).where(Listing.ref_code == "UP-1"))
        urls = [p.url for p in listing.photos]
    assert len(urls) == 2 and urls[1] == "https://img.example/1.jpg"
    assert re.fullmatch(r"listings/[0-9a-f]{24}\.png", urls[0]) and (media / urls[0]).read_bytes() == PNG
    picture = await any_client.get(f"/listings/{listing.id}/photos/0")
    assert picture.status == 200 and await picture.read() == PNG
    page = await (await any_client.get(f"/listings/{listing.id}")).text()
    assert urls[0] not in page and "living room" not in page  # neither the stored path nor the file name

    before = sorted(p.name for p in (media / "listings").iterdir())
    bad = aiohttp.FormData({**LISTING_FORM, "ref_code": "UP-2", "csrf_token": admin})
    bad.add_field("upload", b"#!/bin/sh\necho hi", filename="photo.png", content_type="image/png")
    refused = await any_client.post("/listings/new", data=bad)
    assert refused.status == 400 and "is not a JPEG, PNG, GIF or WebP image" in await refused.text()
    late = aiohttp.FormData({**LISTING_FORM, "ref_code": "UP-3", "price": "NaN", "csrf_token": admin})
    late.add_field("upload", PNG, filename="ok.png", content_type="image/png")
    assert (await any_client.post("/listings/new", data=late)).status == 400
    assert sorted(p.name for p in (media / "listings").iterdir()) == before  # a refused form keeps no file
