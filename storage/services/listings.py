"""Every write to a listing: the console's form and the CSV import both come through here.

Two rules live here and nowhere else:
- Price drops. `previous_price` is the price before the latest drop; saved-listing alerts announce
  "price drop: old → new" from it. A rise clears it (there is no drop left to announce), an unchanged price
  keeps it, and a new listing has none.
- The photo cache. Telegram's file id of an uploaded photo is kept while the photo's URL stays in the listing
  (in any position) and forgotten with the URL, so a replaced photo is never sent from a stale cache.

It also owns what a listing's numbers may be (`NUMBERS`) and the one reading of a number a person typed
(`parse_number`), used by the CSV import and the console's form alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.media import MAX_PHOTO_REFERENCE, PhotoError, check_photo
from storage.models import Listing, ListingPhoto
from storage.unit_of_work import Work
from storage.vocabulary import DEAL_TYPES, DECORATIONS, LISTING_STATUSES, PROPERTY_TYPES

MAX_REF_CODE = 32


class ListingError(ValueError):
    """A write the rules refuse; the message is meant for the staff member who tried it."""


# ---- numbers: what a listing's numbers may be, and how a typed one is read -------------------------------------------


@dataclass(frozen=True)
class NumberRule:
    """What one number may be; `reason` is the sentence a refusal shows."""

    minimum: Decimal
    maximum: Decimal
    whole: bool = False
    above_minimum: bool = False  # the minimum itself is refused (a price or an area is above 0)
    places: int | None = None  # decimal places kept (rounded), as the column stores them

    def allows(self, number: Decimal | float) -> bool:
        low_ok = number > self.minimum if self.above_minimum else number >= self.minimum
        return low_ok and number <= self.maximum

    def reason(self, name: str) -> str:
        if self.whole:
            return f"{name} must be a whole number from {self.minimum} to {self.maximum}"
        if self.above_minimum and self.minimum == 0:
            return f"{name} must be a positive number up to {self.maximum}"
        return f"{name} must be between {self.minimum} and {self.maximum}"


# Generous for real homes, and inside what the columns hold (price is Numeric(14, 2), counts are 32-bit).
NUMBERS = {
    "price": NumberRule(Decimal(0), Decimal("999999999999.99"), above_minimum=True, places=2),
    "area_m2": NumberRule(Decimal(0), Decimal(1_000_000), above_minimum=True),
    "bedrooms": NumberRule(Decimal(0), Decimal(99), whole=True),
    "bathrooms": NumberRule(Decimal(0), Decimal(99), whole=True),
    "floor": NumberRule(Decimal(-9), Decimal(300), whole=True),
    "floors_total": NumberRule(Decimal(1), Decimal(300), whole=True),
    "lat": NumberRule(Decimal(-90), Decimal(90)),
    "lon": NumberRule(Decimal(-180), Decimal(180)),
}
# Plain decimal notation only: no exponent, NaN or infinity; ASCII digits; thousands separated by "," or not at all.
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", re.ASCII)
_WHOLE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)", re.ASCII)


def parse_number(text: str, name: str, rule: NumberRule) -> Decimal:
    """A number someone typed (a CSV cell, a form field), checked against its rule; ListingError names `name`.

    Exact (Decimal), so a huge or long value is refused by its range instead of failing arithmetic later.
    """
    text = text.strip()
    if not (_WHOLE if rule.whole else _NUMBER).fullmatch(text):
        shown = text if len(text) <= 24 else text[:20] + "…"
        raise ListingError(f"{name} is {shown!r}; expected a {'whole number' if rule.whole else 'number'}")
    number = Decimal(text.replace(",", ""))
    if rule.allows(number) and rule.places is not None:  # rounded only once in range, where it cannot overflow
        number = number.quantize(Decimal(1).scaleb(-rule.places))
    if not rule.allows(number) or (text.startswith("-") and rule.minimum >= 0):  # "-0" is not a count
        raise ListingError(rule.reason(name))
    return number + 0  # -0 becomes 0


@dataclass
class ListingDraft:
    """What a listing write sets: every column but the reference code and the bookkeeping, and the photos."""

    deal_type: str
    property_type: str
    status: str
    city: str
    district_id: int | None
    district_name: str
    address: str
    price: Decimal
    currency: str
    bedrooms: int
    bathrooms: int
    area_m2: float
    floor: int | None
    floors_total: int | None
    available_from: date | None
    furnished: bool | None
    pets_allowed: bool | None
    features: list[str]
    description: str
    agent_id: int | None
    lat: float | None
    lon: float | None
    photos: list[str] = field(default_factory=list)  # URLs or stored paths, in display order
    partly_furnished: bool | None = None  # with furnished true: only partly furnished
    decoration: str | None = None  # one of DECORATIONS, None when not stated

    def columns(self) -> dict[str, Any]:
        """Column values without the photos; lists are copied, so the listing never shares one with the draft."""
        return {name: list(value) if isinstance(value, list) else value
                for name, value in ((name, getattr(self, name)) for name in _COLUMNS)}

    def check(self, media_dir: Path | None = None) -> None:
        """The invariants every caller's own validation must already have ensured: nothing out of range reaches
        the database. With `media_dir`, every photo is checked as the bot will check it before sending."""
        for name, allowed in (("deal_type", DEAL_TYPES), ("property_type", PROPERTY_TYPES),
                              ("status", LISTING_STATUSES)):
            if getattr(self, name) not in allowed:
                raise ListingError(f"{name} {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        if not self.price.is_finite():
            raise ListingError(NUMBERS["price"].reason("price"))
        if self.decoration is not None and self.decoration not in DECORATIONS:
            field_name = "decoration"
            raise ListingError(f"{field_name} {self.decoration!r} is not one of {', '.join(DECORATIONS)}")
        if self.partly_furnished and self.furnished is not True:
            raise ListingError("a listing is partly furnished only when it is furnished")
        for name, rule in NUMBERS.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, Decimal | int | float) and rule.allows(value)):
                raise ListingError(rule.reason(name))
        for photo in self.photos:
            if len(photo) > MAX_PHOTO_REFERENCE:
                raise ListingError(f"a photo is longer than {MAX_PHOTO_REFERENCE} characters")
            if media_dir is not None:
                try:
                    check_photo(photo, media_dir)
                except PhotoError as exc:
                    raise ListingError(f"photo {_shown(photo)} {exc}") from None


# The words the listings CSV and the console form take for how furnished a home is, and how finished.
_FURNISHED = {
    **dict.fromkeys(("yes", "y", "true", "1", "是", "有", "full", "fully", "全部", "齐全"), (True, None)),
    **dict.fromkeys(("no", "n", "false", "0", "否", "无", "none"), (False, None)),
    **dict.fromkeys(("partial", "partly", "part", "semi", "部分", "半"), (True, True)),
}
_DECORATION_WORDS = {
    "fine": "fine", "精装": "fine", "精装修": "fine", "豪装": "fine",
    "basic": "basic", "简装": "basic", "简装修": "basic", "simple": "basic",
    "bare": "bare", "毛坯": "bare", "毛坯房": "bare", "清水房": "bare", "shell": "bare",
}


def read_furnished(value: str, column: str = "furnished") -> tuple[bool | None, bool | None]:
    """(furnished, partly_furnished) from yes/no/partial (and 是/否/部分); empty is unknown."""
    value = (value or "").strip().lower()
    if not value:
        return None, None
    if value not in _FURNISHED:
        raise ListingError(f"{column} is {value!r}; expected yes/no/partial, true/false, 1/0 or 是/否/部分")
    return _FURNISHED[value]


def read_decoration(value: str, column: str = "decoration") -> str | None:
    """A decoration level from fine/basic/bare (and 精装/简装/毛坯); empty is not stated."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if value not in _DECORATION_WORDS:
        raise ListingError(f"{column} is {value!r}; expected fine/basic/bare or 精装/简装/毛坯")
    return _DECORATION_WORDS[value]


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:56] + "…")


_COLUMNS = tuple(f.name for f in fields(ListingDraft) if f.name != "photos")


# ---- the console: one listing at a time, audited -------------------------------------------------------------


async def create(work: Work, ref_code: str, draft: ListingDraft) -> Listing:
    ref_code = ref_code.strip()
    if not ref_code or len(ref_code) > MAX_REF_CODE or await _ref_code_taken(work.session, ref_code):
        raise ListingError(f"the reference code is empty, longer than {MAX_REF_CODE} characters or already used")
    draft.check(work.settings.media_path)
    listing = Listing(ref_code=ref_code, **draft.columns(),
                      photos=[ListingPhoto(position=i, url=url) for i, url in enumerate(draft.photos)])
    work.session.add(listing)
    await work.session.flush()
    await work.audit("listing_create", target_type="listing", target_id=listing.id)
    return listing


async def edit(work: Work, listing: Listing, draft: ListingDraft) -> bool:
    """Apply the draft; True when anything changed. A status change is audited like `set_status`."""
    draft.check(work.settings.media_path)
    old_status = listing.status
    changed = update(listing, draft)
    await work.session.flush()
    if listing.status != old_status:
        await _audit_status(work, listing, old_status)
    return changed


async def set_status(work: Work, listing: Listing, status: str) -> None:
    if status not in LISTING_STATUSES:
        raise ListingError(f"unknown status {status!r}")
    old_status, listing.status = listing.status, status
    await _audit_status(work, listing, old_status)


async def _audit_status(work: Work, listing: Listing, old_status: str) -> None:
    await work.audit("status", target_type="listing", target_id=listing.id,
                     details={"from": old_status, "to": listing.status})


async def _ref_code_taken(session: AsyncSession, ref_code: str) -> bool:
    return await session.scalar(select(Listing.id).where(Listing.ref_code == ref_code)) is not None


# ---- the rules, for one listing or a whole import ----------------------------------------------------------


def update(listing: Listing, draft: ListingDraft) -> bool:
    """Write the draft onto an existing listing with the price and photo rules; True when anything changed."""
    draft.check()
    changed = _set_price(listing, draft.price)
    for name, value in draft.columns().items():
        if name != "price" and getattr(listing, name) != value:
            setattr(listing, name, value)
            changed = True
    return _set_photos(listing, draft.photos) or changed


async def insert_new(session: AsyncSession, drafts: Sequence[tuple[str, ListingDraft]]) -> None:
    """New listings (reference code, draft) in one INSERT ... RETURNING per batch, their photos in one more.

    An import writes hundreds at a time; the ORM would insert them row by row on SQLite. New listings have no
    previous price and no cached photos, so the rules have nothing to do here.
    """
    if not drafts:
        return
    for _, draft in drafts:
        draft.check()
    rows = [{"ref_code": ref_code, **draft.columns()} for ref_code, draft in drafts]
    inserted = await session.execute(insert(Listing).returning(Listing.ref_code, Listing.id), rows)
    ids: dict[str, int] = {ref_code: listing_id for ref_code, listing_id in inserted}
    photos = [
        {"listing_id": ids[ref_code], "position": position, "url": url}
        for ref_code, draft in drafts
        for position, url in enumerate(draft.photos)
    ]
    if photos:
        await session.execute(insert(ListingPhoto), photos)


def _set_price(listing: Listing, price: Decimal) -> bool:
    old = listing.price
    if old == price:
        return False
    if old is not None:
        listing.previous_price = old if price < old else None
    listing.price = price
    return True


def _set_photos(listing: Listing, urls: Sequence[str]) -> bool:
    if [photo.url for photo in listing.photos] == list(urls):
        return False
    cached = {photo.url: photo.telegram_file_id for photo in listing.photos}
    listing.photos = [ListingPhoto(position=i, url=url, telegram_file_id=cached.get(url)) for i, url in enumerate(urls)]
    return True
