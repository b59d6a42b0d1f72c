"""Owners (sellers and landlords) who described their home in the chat: their lead for the agents, with the
intake and the valuation they were shown, and the draft listing an agent completes and publishes.

The intake is a plain dict (the owner flow's slots: intent, district, community, area_m2, bedrooms, floor,
decoration, price, available_from, photos); the valuation is `matching.valuation.Valuation.to_json()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from storage.models import Customer, District, Listing, OwnerLead
from storage.services import listings
from storage.services.listings import NUMBERS, ListingDraft
from storage.services.notices import notify_team
from storage.unit_of_work import Work
from storage.vocabulary import DRAFT_LISTING_STATUS, OWNER_INTENTS, OWNER_LEAD_STATUSES, OWNER_REQUESTS

LINK = "/owners"


class OwnerLeadError(ValueError):
    """A lead change the rules refuse (the message is for staff)."""


@dataclass(frozen=True)
class Intake:
    """The fields of an owner's intake the services read (the rest is shown as it is)."""

    intent: str
    district: str
    area_m2: float
    bedrooms: int | None
    floor: int | None
    price: float | None
    available_from: date | None
    community: str
    decoration: str | None

    @classmethod
    def read(cls, data: dict[str, Any]) -> Intake:
        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

        available = data.get("available_from")
        try:
            day = date.fromisoformat(available) if isinstance(available, str) else None
        except ValueError:
            day = None
        bedrooms, floor = number("bedrooms"), number("floor")
        return cls(intent=str(data.get("intent") or ""), district=str(data.get("district") or ""),
                   area_m2=number("area_m2") or 0.0, bedrooms=None if bedrooms is None else int(bedrooms),
                   floor=None if floor is None else int(floor), price=number("price"), available_from=day,
                   community=str(data.get("community") or ""), decoration=data.get("decoration") or None)


def listing_price(intake: dict[str, Any], valuation: dict[str, Any]) -> float | None:
    """The price a draft starts from: the owner's expected price, else the valuation's estimate."""
    price = Intake.read(intake).price or valuation.get("estimate")
    if not isinstance(price, int | float) or not NUMBERS["price"].allows(Decimal(str(price))):
        return None
    return float(price)


async def create_lead(work: Work, customer: Customer, *, request: str, intake: dict[str, Any],
                      valuation: dict[str, Any], phone: str | None = None,
                      source_text: str | None = None) -> OwnerLead:
    """The owner asked for a call or to have the home listed: a lead for the agents (and, to list, a draft)."""
    intent = str(intake.get("intent") or "")
    if intent not in OWNER_INTENTS or request not in OWNER_REQUESTS:
        raise OwnerLeadError("an owner lead is to sell or to let, and asks for a call or a listing")
    lead = OwnerLead(customer_id=customer.id, intent=intent, request=request, status="new", phone=phone,
                     intake=dict(intake), valuation=dict(valuation), source_text=source_text)
    work.session.add(lead)
    await work.session.flush()
    if request == "list":
        await make_draft(work, lead)
    await work.audit("owner_lead", target_type="owner_lead", target_id=lead.id,
                     details={"intent": intent, "request": request})
    district_zh = await work.session.scalar(select(District.name_zh).where(District.name == intake.get("district")))
    await notify_team(work, "owner_lead", link=f"{LINK}/{lead.id}", customer=customer.display_name,
                      intent=intent, home=home_line(intake), home_zh=home_line(intake, district_zh, "zh"),
                      request=request)
    return lead


def home_line(intake: dict[str, Any], district_name: str | None = None, lang: str = "en") -> str:
    """'Wangjing, 89 m², 2 br' (or '望京，89 m²，2室') for staff: the facts, the district in the reader's language."""
    facts = Intake.read(intake)
    parts = [district_name or facts.district]
    if facts.area_m2:
        parts.append(f"{facts.area_m2:g} m²")
    if facts.bedrooms is not None:
        parts.append(f"{facts.bedrooms}室" if lang == "zh" else f"{facts.bedrooms} br")
    return ("，" if lang == "zh" else ", ").join(part for part in parts if part)


# An intake's decoration as listings carry it (storage.vocabulary.DECORATIONS; early intakes said "simple").
DECORATION_OF = {"fine": "fine", "basic": "basic", "simple": "basic", "bare": "bare"}


async def make_draft(work: Work, lead: OwnerLead) -> Listing:
    """A draft listing from the intake (status draft: never recommended) for an agent to complete and publish."""
    if lead.listing_id is not None:
        existing = await work.session.get(Listing, lead.listing_id)
        if existing is not None:
            return existing
    facts = Intake.read(lead.intake)
    price = listing_price(lead.intake, lead.valuation)
    if price is None:
        raise OwnerLeadError("there is no price to start the draft from: no expected price and no valuation")
    if not NUMBERS["area_m2"].allows(Decimal(str(facts.area_m2))):
        raise OwnerLeadError("the home's area is missing")
    district = await work.session.scalar(select(District).where(District.name == facts.district))
    floor = facts.floor if facts.floor is not None and NUMBERS["floor"].allows(facts.floor) else None
    bedrooms = facts.bedrooms if facts.bedrooms is not None and NUMBERS["bedrooms"].allows(facts.bedrooms) else 0
    notes = [f"Owner lead #{lead.id}"]
    if facts.community:
        notes.append(facts.community)
    if facts.decoration:
        notes.append(f"decoration: {facts.decoration}")
    draft = ListingDraft(
        deal_type="sale" if lead.intent == "sell" else "rent", property_type="apartment",
        status=DRAFT_LISTING_STATUS, city=district.city if district else "",
        district_id=district.id if district else None,
        district_name=district.name if district else facts.district[:64], address=facts.community[:256],
        price=Decimal(str(price)), currency="CNY", bedrooms=bedrooms, bathrooms=1, area_m2=facts.area_m2,
        floor=floor, floors_total=None, available_from=facts.available_from, furnished=None, pets_allowed=None,
        decoration=DECORATION_OF.get(facts.decoration or ""),
        features=[], description=" · ".join(notes), agent_id=lead.agent_id, lat=district.lat if district else None,
        lon=district.lon if district else None)
    listing = await listings.create(work, f"OWN-{lead.id}", draft)
    lead.listing_id = listing.id
    await work.session.flush()
    return listing


async def take(work: Work, lead: OwnerLead, staff_id: int) -> None:
    """An agent takes the lead (and its draft listing, when it has no agent yet)."""
    lead.agent_id = staff_id
    if lead.status == "new":
        lead.status = "contacted"
    if lead.listing_id is not None:
        listing = await work.session.get(Listing, lead.listing_id)
        if listing is not None and listing.agent_id is None:
            listing.agent_id = staff_id
    await work.session.flush()
    await work.audit("owner_lead_take", target_type="owner_lead", target_id=lead.id)


async def set_status(work: Work, lead: OwnerLead, status: str) -> None:
    if status not in OWNER_LEAD_STATUSES:
        raise OwnerLeadError(f"unknown status {status!r}")
    old, lead.status = lead.status, status
    await work.session.flush()
    await work.audit("owner_lead_status", target_type="owner_lead", target_id=lead.id,
                     details={"from": old, "to": status})
