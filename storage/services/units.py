"""Homes already sold, kept by service staff: owner details, handover dates, owners verified by hand.

    check_unit(owner_name=, owner_phone=, handover_date=) -> UnitDetails      (UnitError names the problem)
    await update_unit(work, unit_id, details) -> Unit          handover date known -> "warranty unknown" rechecked
    await link_owner(work, unit_id, customer_id) -> Unit      verified by hand -> "owner not yet verified" cleared
    await unlink_owner(work, unit_id, customer_id)

Tickets filed before the facts were known carry two flags (storage.services.tickets.create_ticket): "owner not yet
verified" (a typed phone, or a complaint from someone who owns no known home) and "warranty unknown" (no handover
date). Here they clear: linking the customer to the home clears the first on their open tickets for that home
(and on those naming no home), and a handover date settles the second for the home's open repair tickets, as of
the day each was filed. Each cleared flag is a ticket event naming the staff member; each change an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.events import ticket_changed
from storage.models import Customer, CustomerUnit, Ticket, TicketEvent, Unit
from storage.services import revisits, warranty
from storage.services.phones import is_plausible_phone, normalise_phone
from storage.services.tickets import OPEN_STATUSES
from storage.unit_of_work import Work
from storage.vocabulary import TicketKind

OWNER_NAME_LENGTH = 128
EARLIEST_HANDOVER = date(1950, 1, 1)


class UnitError(Exception):
    """The change is refused; the message says why."""


@dataclass(frozen=True)
class UnitDetails:
    owner_name: str
    owner_phone: str  # normalised digits
    handover_date: date | None


def check_unit(*, owner_name: str, owner_phone: str, handover_date: str) -> UnitDetails:
    name = owner_name.strip()
    if len(name) > OWNER_NAME_LENGTH:
        raise UnitError(f"the owner's name is longer than {OWNER_NAME_LENGTH} characters")
    digits = normalise_phone(owner_phone)
    if not is_plausible_phone(digits):
        raise UnitError(f"owner_phone {owner_phone.strip()[:40]} is not a phone number (7 to 15 digits)")
    day: date | None = None
    if handover_date.strip():
        try:
            day = date.fromisoformat(handover_date.strip())
        except ValueError:
            raise UnitError(f"handover_date is {handover_date.strip()[:40]}; expected a date as YYYY-MM-DD") from None
        if day < EARLIEST_HANDOVER or day.year > clock.now().year + 10:
            raise UnitError(f"the handover date {day.isoformat()} is not plausible")
    return UnitDetails(owner_name=name, owner_phone=digits, handover_date=day)


async def update_unit(work: Work, unit_id: int, details: UnitDetails) -> Unit:
    unit = await work.session.get(Unit, unit_id)
    if unit is None:
        raise UnitError("no such home")
    changed: dict[str, list[str | None]] = {}
    for name in ("owner_name", "owner_phone", "handover_date"):
        before, after = getattr(unit, name), getattr(details, name)
        if before != after:
            changed[name] = [_shown(before), _shown(after)]
            setattr(unit, name, after)
    await work.session.flush()
    if not changed:
        return unit
    await work.audit("unit_edit", target_type="unit", target_id=unit.id, details=changed)
    if "handover_date" in changed and unit.handover_date is not None:
        await settle_warranty(work, unit)
    return unit


def _shown(value: object) -> str | None:
    return value.isoformat() if isinstance(value, date) else None if value is None else str(value)


async def settle_warranty(work: Work, unit: Unit) -> list[Ticket]:
    """The home's open repair tickets whose warranty was unknown, decided from its handover date now known."""
    settled = await settle_warranty_in(work.session, unit, staff_id=work.actor.staff_id)
    for ticket in settled:
        work.publish(ticket_changed(ticket))
    return settled


async def settle_warranty_in(session: AsyncSession, unit: Unit, *, staff_id: int | None = None) -> list[Ticket]:
    """`settle_warranty` inside a session of its own (the units import): the same rule, no live events."""
    if unit.handover_date is None:
        return []
    found = (await session.scalars(select(Ticket).where(
        Ticket.unit_id == unit.id, Ticket.kind == TicketKind.REPAIR, Ticket.warranty_status == "unknown",
        Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id))).all()
    for ticket in found:
        ticket.warranty_status = await warranty.status(session, unit.handover_date, ticket.category,
                                                       ticket.created_at.date())
        session.add(TicketEvent(ticket_id=ticket.id, at=clock.now(), kind="warranty", actor_staff_id=staff_id,
                                data={"warranty": ticket.warranty_status,
                                      "handover_date": unit.handover_date.isoformat()}))
    await session.flush()
    return list(found)


async def link_owner(work: Work, unit_id: int, customer_id: int) -> Unit:
    """Staff checked the customer owns the home (papers, a call): linked and verified, audited, flags cleared."""
    session = work.session
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise UnitError("no such home")
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise UnitError("no such customer")
    now = clock.now()
    link = await session.scalar(select(CustomerUnit).where(CustomerUnit.customer_id == customer.id,
                                                           CustomerUnit.unit_id == unit.id))
    if link is None:
        session.add(CustomerUnit(customer_id=customer.id, unit_id=unit.id, verified_at=now))
        await session.flush()
        await revisits.after_move_in(session, customer.id, unit.id, unit.handover_date, settings=work.settings)
    cleared = (await session.scalars(select(Ticket).where(
        Ticket.customer_id == customer.id, Ticket.needs_verification.is_(True), Ticket.status.in_(OPEN_STATUSES),
        or_(Ticket.unit_id == unit.id, Ticket.unit_id.is_(None))).order_by(Ticket.id))).all()
    for ticket in cleared:
        ticket.needs_verification = False
        session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="owner_verified",
                                actor_staff_id=work.actor.staff_id, data={"unit_id": unit.id}))
        work.publish(ticket_changed(ticket))
    await session.flush()
    await work.audit("owner_verified", target_type="unit", target_id=unit.id,
                     details={"customer_id": customer.id, "by_hand": True, "already_linked": link is not None,
                              "tickets": [ticket.number for ticket in cleared]})
    return unit


async def unlink_owner(work: Work, unit_id: int, customer_id: int) -> None:
    """The customer does not (or no longer) own the home."""
    link = await work.session.scalar(select(CustomerUnit).where(CustomerUnit.customer_id == customer_id,
                                                                CustomerUnit.unit_id == unit_id))
    if link is None:
        raise UnitError("this customer is not linked to this home")
    await work.session.delete(link)
    await work.session.flush()
    await work.audit("owner_unlinked", target_type="unit", target_id=unit_id, details={"customer_id": customer_id})
