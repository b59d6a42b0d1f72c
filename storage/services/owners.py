"""Owner verification: a phone the customer shared (Telegram's contact button) matched against imported unit owners.

A number the customer only typed (the web chat's phone field) proves nothing: `units_under_phone` finds the homes
registered under it without linking them, and tickets filed for them wait for staff to verify the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import Building, Customer, CustomerUnit, Project, Unit
from storage.services import revisits
from storage.services.phones import is_plausible_phone, normalise_phone
from storage.settings import Settings


@dataclass(frozen=True)
class OwnedUnit:
    unit: Unit
    project: str
    building: str
    verified_at: datetime | None = None  # when the owner was linked (owned_units only)

    @property
    def label(self) -> str:
        return f"{self.project} {self.building}-{self.unit.unit_no}"


async def units_by_phone(session: AsyncSession, phone: str) -> list[Unit]:
    digits = normalise_phone(phone)
    if not is_plausible_phone(digits):
        return []
    return list((await session.scalars(select(Unit).where(Unit.owner_phone == digits).order_by(Unit.id))).all())


async def verify_owner(session: AsyncSession, customer: Customer, phone: str, *, settings: Settings) -> list[Unit]:
    """Store the customer's own phone and link every unit owned under it. Returns the newly and already linked units."""
    digits = normalise_phone(phone)
    if not is_plausible_phone(digits):
        return []
    now = clock.now()
    customer.phone = digits
    customer.phone_verified_at = now
    units = await units_by_phone(session, digits)
    linked = set((await session.scalars(select(CustomerUnit.unit_id).where(CustomerUnit.customer_id == customer.id)))
                 .all())
    for unit in units:
        if unit.id in linked:
            continue
        try:
            async with session.begin_nested():
                session.add(CustomerUnit(customer_id=customer.id, unit_id=unit.id, verified_at=now))
        except IntegrityError:
            continue
        await revisits.after_move_in(session, customer.id, unit.id, unit.handover_date, settings=settings)
    await session.flush()
    from storage.services.deals import link_customer  # deals know owners' homes; this links their contracts

    await link_customer(session, customer)
    return units


async def owned_units(session: AsyncSession, customer_id: int) -> list[OwnedUnit]:
    rows = await session.execute(
        select(Unit, Project.name, Building.name, CustomerUnit.verified_at)
        .join(CustomerUnit, CustomerUnit.unit_id == Unit.id)
        .join(Building, Building.id == Unit.building_id)
        .join(Project, Project.id == Building.project_id)
        .where(CustomerUnit.customer_id == customer_id)
        .order_by(Project.name, Building.name, Unit.unit_no)
    )
    return [OwnedUnit(unit, project, building, verified_at) for unit, project, building, verified_at in rows.all()]


async def units_under_phone(session: AsyncSession, phone: str) -> list[OwnedUnit]:
    """The homes registered under this number, not linked to anyone (an unverified, typed number)."""
    digits = normalise_phone(phone)
    if not is_plausible_phone(digits):
        return []
    rows = await session.execute(
        select(Unit, Project.name, Building.name)
        .join(Building, Building.id == Unit.building_id)
        .join(Project, Project.id == Building.project_id)
        .where(Unit.owner_phone == digits)
        .order_by(Project.name, Building.name, Unit.unit_no)
    )
    return [OwnedUnit(unit, project, building) for unit, project, building in rows.all()]


async def owns(session: AsyncSession, customer_id: int, unit_id: int) -> bool:
    return await session.scalar(select(CustomerUnit.id).where(CustomerUnit.customer_id == customer_id,
                                                              CustomerUnit.unit_id == unit_id)) is not None


async def complaint_home(session: AsyncSession, customer_id: int) -> tuple[int | None, bool]:
    """What a complaint is filed against when nobody picked a home, the bot and staff alike: (the home of a
    one-home owner, else None; whether the customer still needs verifying, i.e. owns no verified home)."""
    units = await owned_units(session, customer_id)
    return (units[0].unit.id if len(units) == 1 else None), not units
