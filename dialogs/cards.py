"""How a listing and a viewing look in a chat: captions, details, names of things, local times.

Every customer- or admin-supplied value goes through `esc` or a `t(...)` parameter, so listing descriptions
with '<' or '&' are shown literally.

Names follow the reader's language where the data has them: a district is named in Chinese to a Chinese reader
(`names_zh`, from `district_names(session)`), so a home is "望京公寓" on the card, in the booking question, the
confirmation, my viewings and the reminders alike. Whoever names a home passes the names; nothing falls back to
the English name silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.i18n import N_, esc, t
from dialogs.names import DECORATION_NAMES
from matching.districts import DistrictIndex, load_district_index
from matching.reasons import format_price
from storage import clock
from storage.models import Listing

# A district's English name -> its Chinese name (districts without one are left out).
Names = Mapping[str, str]

CAPTION_LIMIT = 1024  # Telegram's caption limit; longer cards are cut at a line boundary

PROPERTY_TYPE_NAMES = {
    "apartment": N_("Apartment"),
    "house": N_("House"),
    "villa": N_("Villa"),
    "office": N_("Office"),
    "shop": N_("Shop"),
    "parking": N_("Parking space"),
}
DEAL_NAMES = {"rent": N_("Rent"), "sale": N_("Buy")}
FEATURE_NAMES = {
    "parking": N_("Parking"),
    "pets": N_("Pets allowed"),
    "furnished": N_("Furnished"),
    "elevator": N_("Elevator"),
    "near_metro": N_("Near the metro"),
    "balcony": N_("Balcony"),
    "school": N_("Good school nearby"),
    "south_facing": N_("South-facing"),
    "garden": N_("Garden"),
    "gym": N_("Gym"),
    "pool": N_("Pool"),
}
WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def day_label(lang: str, day: date) -> str:
    weekday = t(lang, WEEKDAY_NAMES[day.weekday()])
    return f"{day.month}月{day.day}日 {weekday}" if lang == "zh" else f"{weekday} {day.day} {day.strftime('%b')}"


def when(lang: str, at: datetime, tz: ZoneInfo) -> str:
    """'Wed 4 Mar, 10:00' / '3月4日 周三 10:00' in `tz` (the company's: `ctx.settings.tz`)."""
    local = at.astimezone(tz)
    return f"{day_label(lang, local.date())} {local:%H:%M}" if lang == "zh" else \
        f"{day_label(lang, local.date())}, {local:%H:%M}"


def price(lang: str, listing: Listing) -> str:
    return format_price(float(listing.price), listing.deal_type, lang)


def chinese_names(index: DistrictIndex) -> dict[str, str]:
    return {name: index.name_zh(name) for name in index.names}


async def district_names(session: AsyncSession) -> dict[str, str]:
    """The Chinese name of every district (the index is cached per process)."""
    return chinese_names(await load_district_index(session))


def district_name(lang: str, name: str, names_zh: Names) -> str:
    return (names_zh.get(name) or name) if lang == "zh" else name


def district(lang: str, listing: Listing, names_zh: Names) -> str:
    return district_name(lang, listing.district_name or listing.city, names_zh)


def rooms(lang: str, listing: Listing) -> str:
    if listing.bedrooms == 0:
        return t(lang, "Studio")
    return t(lang, "{n} bedrooms", n=listing.bedrooms) if listing.bedrooms != 1 else t(lang, "1 bedroom")


def title(lang: str, listing: Listing, names_zh: Names) -> str:
    kind = t(lang, PROPERTY_TYPE_NAMES.get(listing.property_type, N_("Apartment")))
    return t(lang, "{kind} in {district}", kind=kind, district=district(lang, listing, names_zh))


def facts(lang: str, listing: Listing, names_zh: Names) -> list[str]:
    """Price, area, rooms, district, floor, available from: one short line each."""
    lines = [
        f"💰 {esc(price(lang, listing))}",
        "📐 " + t(lang, "{area} m²", area=f"{listing.area_m2:g}") + " · " + rooms(lang, listing),
        f"📍 {esc(district(lang, listing, names_zh))}",
    ]
    if listing.floor is not None:
        if listing.floors_total:
            lines.append("🏢 " + t(lang, "Floor {floor} of {total}", floor=listing.floor, total=listing.floors_total))
        else:
            lines.append("🏢 " + t(lang, "Floor {floor}", floor=listing.floor))
    if listing.available_from is not None:
        lines.append("📅 " + t(lang, "Available from {date}", date=listing.available_from.isoformat()))
    fresh = freshness(lang, listing)
    if fresh:
        lines.append("🔎 " + fresh)
    return lines


def freshness(lang: str, listing: Listing, now: datetime | None = None) -> str:
    """How fresh the listing is: when an agent last verified it ("verified 3 days ago"), else when it was added."""
    now = now or clock.now()
    when_checked = listing.verified_at or listing.created_at
    if when_checked is None:  # not saved yet
        return ""
    days = max(0, (now - when_checked).days)
    if listing.verified_at is None:
        if days == 0:
            return t(lang, "Listed today")
        return t(lang, "Listed yesterday") if days == 1 else t(lang, "Listed {n} days ago", n=days)
    if days == 0:
        return t(lang, "Verified today")
    return t(lang, "Verified yesterday") if days == 1 else t(lang, "Verified {n} days ago", n=days)


def card_text(
    lang: str,
    listing: Listing,
    *,
    reasons: Sequence[str] = (),
    misses: Sequence[str] = (),
    position: tuple[int, int] | None = None,
    names_zh: Names | None = None,
    heading: str | None = None,
) -> str:
    """The caption of a result card (HTML); `reasons`/`misses` are plain text from matching."""
    lines = []
    if heading:
        lines.append(heading)
    top = f"<b>{esc(title(lang, listing, names_zh or {}))}</b> · {esc(listing.ref_code)}"
    if position is not None:
        top += f"  ({position[0]}/{position[1]})"
    lines.append(top)
    lines += facts(lang, listing, names_zh or {})
    if reasons:
        lines.append("")
        lines.append(t(lang, "Why it fits:"))
        lines += [f"✅ {esc(reason)}" for reason in reasons[:4]]
    if misses:
        lines.append(t(lang, "Keep in mind:"))
        lines += [f"⚠️ {esc(miss)}" for miss in misses[:3]]
    return fit(lines, CAPTION_LIMIT)


def details_text(lang: str, listing: Listing, names_zh: Names | None = None) -> str:
    lines = [f"<b>{esc(title(lang, listing, names_zh or {}))}</b> · {esc(listing.ref_code)}"]
    lines += facts(lang, listing, names_zh or {})
    if listing.address:
        lines.append("🏠 " + esc(listing.address))
    features = [t(lang, FEATURE_NAMES[f]) for f in listing.features or [] if f in FEATURE_NAMES]
    if listing.furnished:
        features.append(t(lang, N_("Partly furnished") if listing.partly_furnished else FEATURE_NAMES["furnished"]))
    if listing.decoration in DECORATION_NAMES:
        features.append(t(lang, DECORATION_NAMES[listing.decoration]))
    if listing.pets_allowed:
        features.append(t(lang, FEATURE_NAMES["pets"]))
    if features:
        lines.append("✨ " + esc(", ".join(features)))
    if listing.description:
        lines.append("")
        lines.append(esc(listing.description[:3000]))
    return fit(lines, 4000)


def fit(lines: list[str], limit: int) -> str:
    """Join lines, dropping whole lines from the end until the text fits (never cutting an HTML tag)."""
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines = lines[:-1]
        text = "\n".join(lines) + "\n…"
    return text[:limit]


def photo_urls(listing: Listing) -> list[str]:
    return [p.telegram_file_id or p.url for p in listing.photos]
