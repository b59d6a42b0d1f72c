"""Deals: a signed sale or lease linking a customer to a home. One place for creating and updating them (the
console's form and `homedesk import-deals` both call `save_deal`), for linking the chat customer who proved the
contract's phone number, and for what a customer may ask about their deals (`status_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Building, Customer, Deal, Milestone, Project, Staff, Unit, Viewing
from storage.services import milestones
from storage.services.phones import is_plausible_phone, normalise_phone
from storage.settings import Settings

PAYMENT_METHODS = ("full", "mortgage", "provident_fund", "combined")
DEAL_KINDS = ("sale", "lease")
CURRENCIES = ("CNY", "USD", "EUR", "HKD")
MAX_PRICE = Decimal("1000000000000")
MAX_AREA = Decimal("100000")


class DealError(ValueError):
    """A deal that cannot be saved; the message names the field."""


@dataclass
class DealInput:
    """A deal as the console's form or a CSV row gives it, already split into typed fields."""

    contract_no: str
    project: str
    building: str
    unit_no: str
    customer_name: str
    customer_phone: str
    signed_on: date
    price: Decimal
    currency: str
    payment_method: str
    handover_date: date | None = None
    staff_email: str | None = None
    kind: str = "sale"
    contract_area: Decimal | None = None
    measured_area: Decimal | None = None
    unit_price: Decimal | None = None
    loan_amount: Decimal | None = None
    bank: str | None = None
    notes: str | None = None
    listing_id: int | None = None
    viewing_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_decimal(value: str | None, name: str, *, limit: Decimal = MAX_PRICE, required: bool = False
                  ) -> Decimal | None:
    """A non-negative amount or area ('1,234.50', '1234.5'); DealError naming the field otherwise."""
    text = (value or "").strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            raise DealError(f"{name} is required")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise DealError(f"{name} is {text!r}; expected a number") from None
    if not number.is_finite() or number < 0 or number > limit:
        raise DealError(f"{name} must be a number from 0 to {limit}")
    return number.quantize(Decimal("0.01"))


def check(data: DealInput) -> DealInput:
    """Validate and normalise (the phone to digits, the currency upper-case); DealError naming the field."""
    data.contract_no = data.contract_no.strip()
    if not data.contract_no or len(data.contract_no) > 64:
        raise DealError("contract_no is required (at most 64 characters)")
    for name, limit in (("project", 128), ("building", 64), ("unit_no", 32), ("customer_name", 128)):
        value = str(getattr(data, name) or "").strip()
        if not value and name != "customer_name":
            raise DealError(f"{name} is required")
        if len(value) > limit:
            raise DealError(f"{name} is longer than {limit} characters")
        setattr(data, name, value)
    phone = normalise_phone(data.customer_phone)
    if not is_plausible_phone(phone):
        raise DealError(f"customer_phone {data.customer_phone!r} is not a phone number (7 to 15 digits)")
    data.customer_phone = phone
    data.currency = (data.currency or "CNY").strip().upper()
    if len(data.currency) != 3 or not data.currency.isalpha():
        raise DealError(f"currency {data.currency!r} must be a three-letter code such as CNY")
    if data.payment_method not in PAYMENT_METHODS:
        raise DealError(f"payment_method is {data.payment_method!r}; expected one of {', '.join(PAYMENT_METHODS)}")
    if data.kind not in DEAL_KINDS:
        raise DealError(f"kind is {data.kind!r}; expected one of {', '.join(DEAL_KINDS)}")
    if data.price <= 0:
        raise DealError("price must be more than 0")
    for name in ("contract_area", "measured_area"):
        area = getattr(data, name)
        if area is not None and (area <= 0 or area > MAX_AREA):
            raise DealError(f"{name} must be more than 0 and at most {MAX_AREA} m²")
    if data.handover_date is not None and data.handover_date < data.signed_on:
        raise DealError("handover_date is before signed_on")
    return data


async def _building(session: AsyncSession, project_name: str, building_name: str) -> tuple[int, int]:
    project = await session.scalar(select(Project).where(Project.name == project_name))
    if project is None:
        project = Project(name=project_name)
        session.add(project)
        await session.flush()
    building = await session.scalar(select(Building).where(Building.project_id == project.id,
                                                           Building.name == building_name))
    if building is None:
        building = Building(project_id=project.id, name=building_name)
        session.add(building)
        await session.flush()
    return project.id, building.id


async def save_deal(session: AsyncSession, data: DealInput, *, settings: Settings,
                    staff_ids: dict[str, int] | None = None) -> tuple[Deal, str]:
    """Create or update the deal with this contract number; returns it and 'inserted', 'updated' or 'unchanged'.

    The home is created on first mention (project, building, unit), with the buyer as its owner, so after-sales
    (repairs, revisits) know them; the deal's tracks are created (`milestones.ensure_tracks`); a chat customer who
    already proved this phone number is linked at once.
    """
    check(data)
    staff_id = None
    if data.staff_email:
        email = data.staff_email.strip().lower()
        staff_id = (staff_ids or {}).get(email) if staff_ids is not None else await session.scalar(
            select(Staff.id).where(Staff.email == email))
        if staff_id is None:
            raise DealError(f"staff_email {data.staff_email!r} is not a staff member")
    project_id, building_id = await _building(session, data.project, data.building)
    unit = await session.scalar(select(Unit).where(Unit.building_id == building_id, Unit.unit_no == data.unit_no))
    if unit is None:
        unit = Unit(building_id=building_id, unit_no=data.unit_no, owner_name=data.customer_name,
                    owner_phone=data.customer_phone, handover_date=data.handover_date)
        session.add(unit)
        await session.flush()
    elif data.kind == "sale":
        unit.owner_name, unit.owner_phone = data.customer_name or unit.owner_name, data.customer_phone
        if data.handover_date is not None:
            unit.handover_date = data.handover_date
    values: dict[str, Any] = {
        "kind": data.kind, "customer_name": data.customer_name, "customer_phone": data.customer_phone,
        "project_id": project_id, "unit_id": unit.id, "signed_on": data.signed_on, "price": data.price,
        "currency": data.currency, "payment_method": data.payment_method, "handover_date": data.handover_date,
        "staff_id": staff_id, "contract_area": data.contract_area, "measured_area": data.measured_area,
        "unit_price": data.unit_price, "loan_amount": data.loan_amount, "bank": data.bank or None,
        "notes": data.notes or None,
    }
    if data.listing_id is not None:
        values["listing_id"] = data.listing_id
    if data.viewing_id is not None:
        values["viewing_id"] = data.viewing_id
    deal = await session.scalar(select(Deal).where(Deal.contract_no == data.contract_no))
    if deal is None:
        deal = Deal(contract_no=data.contract_no, status="active", **values)
        session.add(deal)
        outcome = "inserted"
    elif any(getattr(deal, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(deal, name, value)
        outcome = "updated"
    else:
        outcome = "unchanged"
    await session.flush()
    await milestones.ensure_tracks(session, deal, settings)
    customer = await session.scalar(select(Customer).where(Customer.phone == deal.customer_phone,
                                                           Customer.phone_verified_at.is_not(None))
                                    .order_by(Customer.id).limit(1))
    if customer is not None and deal.customer_id is None:
        deal.customer_id = customer.id
        customer.has_deal = True
    return deal, outcome


async def link_customer(session: AsyncSession, customer: Customer) -> int:
    """Link the deals signed under the customer's verified phone to them; returns how many are theirs now."""
    if not customer.phone or customer.phone_verified_at is None:
        return 0
    await session.execute(update(Deal).where(Deal.customer_phone == customer.phone, Deal.customer_id.is_(None))
                          .values(customer_id=customer.id).execution_options(synchronize_session=False))
    count = len((await session.scalars(select(Deal.id).where(Deal.customer_id == customer.id))).all())
    customer.has_deal = count > 0
    return count


async def from_viewing(session: AsyncSession, viewing_id: int) -> dict[str, Any]:
    """What the console's new-deal form starts with when a viewing ended with outcome 'signed'."""
    viewing = await session.get(Viewing, viewing_id)
    if viewing is None:
        return {}
    customer = await session.get(Customer, viewing.customer_id)
    agent = await session.get(Staff, viewing.agent_id) if viewing.agent_id else None
    return {"viewing_id": viewing.id, "listing_id": viewing.listing_id,
            "customer_name": customer.display_name if customer else "",
            "customer_phone": (customer.phone or "") if customer else "",
            "staff_email": agent.email if agent else ""}


# ---- what a customer may ask -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrackStatus:
    milestone: Milestone
    staff: str
    missing: list[str]


@dataclass(frozen=True)
class DealStatus:
    deal: Deal
    home: str
    tracks: list[TrackStatus]

    def track(self, name: str) -> TrackStatus | None:
        return next((t for t in self.tracks if t.milestone.track == name), None)


async def status_of(session: AsyncSession, customer_id: int) -> list[DealStatus]:
    """The customer's active deals with each track's step, what is missing from them and who is responsible."""
    deals = (await session.scalars(select(Deal).where(Deal.customer_id == customer_id, Deal.status == "active")
                                   .order_by(Deal.signed_on.desc(), Deal.id))).all()
    if not deals:
        return []
    rows = (await session.scalars(select(Milestone).where(Milestone.deal_id.in_([d.id for d in deals]))
                                  .order_by(Milestone.id))).all()
    staff_ids = {m.staff_id for m in rows if m.staff_id} | {d.staff_id for d in deals if d.staff_id}
    names = dict((await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))).tuples()
                 .all()) if staff_ids else {}
    order = {name: index for index, name in enumerate(milestones.TRACK_NAMES)}
    out = []
    for deal in deals:
        tracks = sorted((m for m in rows if m.deal_id == deal.id), key=lambda m: order.get(m.track, 99))
        out.append(DealStatus(deal, await milestones.home_label(session, deal), [
            TrackStatus(m, names.get(m.staff_id or deal.staff_id or 0, ""),
                        milestones.missing_documents(m) if m.track == milestones.LOAN else [])
            for m in tracks]))
    return out
