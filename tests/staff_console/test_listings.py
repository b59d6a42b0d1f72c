"""Listing writes from the console follow the same rules as the import (storage.services.listings)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from storage.db import transaction
from storage.models import Listing
from tests.staff_console.conftest import sign_in
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
