"""What staff do to a ticket, one unit of work each: assign, move along, quote, record the cost, change the
priority, write a note (to the file or to the customer), reclassify it, and for complaints verify them and record
the responsible party, root cause and improvement action.

Each operation loads the ticket and the acting staff member (`work.actor`), applies one rule from
storage.services.tickets, audits it and publishes `ticket.changed`; an entry point (the console) only reads
its form and calls one of these. A TicketError leaves nothing behind: the caller's transaction rolls back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from storage.events import ticket_changed
from storage.models import Staff, Ticket, TicketEvent
from storage.services import tickets
from storage.services.tickets import TicketError
from storage.unit_of_work import Work


class NoSuchTicket(TicketError):
    """The ticket does not exist (a stale page or a forged id)."""


@contextlib.asynccontextmanager
async def _change(work: Work, ticket_id: int, action: str,
                  details: dict[str, Any]) -> AsyncIterator[tuple[Ticket, Staff]]:
    """The ticket and the acting staff member; once the change succeeded, its audit row and live event."""
    ticket = await work.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NoSuchTicket("no such ticket")
    staff_id = work.actor.staff_id
    me = await work.session.get(Staff, staff_id) if staff_id is not None else None
    if me is None or not me.is_active:
        raise TicketError("only an active staff member can change tickets")
    yield ticket, me
    await work.audit(action, target_type="ticket", target_id=ticket.id, details=details)
    work.publish(ticket_changed(ticket))


async def assign(work: Work, ticket_id: int, staff_id: int) -> Ticket:
    async with _change(work, ticket_id, "ticket_assign", {"staff_id": staff_id}) as (ticket, me):
        await tickets.assign(work.session, ticket, staff_id, by=me, settings=work.settings)
    return ticket


async def change_status(work: Work, ticket_id: int, to: str, *, note: str | None = None) -> Ticket:
    async with _change(work, ticket_id, "ticket_status", {"to": to, "note": note}) as (ticket, me):
        await tickets.change_status(work.session, ticket, to, staff=me, note=note, settings=work.settings)
    return ticket


async def set_quote(work: Work, ticket_id: int, amount: str | Decimal) -> Ticket:
    async with _change(work, ticket_id, "ticket_quote", {"amount": str(amount)}) as (ticket, me):
        await tickets.set_quote(work.session, ticket, amount, staff=me, settings=work.settings)
    return ticket


async def set_cost(work: Work, ticket_id: int, amount: str | Decimal) -> Ticket:
    async with _change(work, ticket_id, "ticket_cost", {"amount": str(amount)}) as (ticket, me):
        await tickets.set_cost(work.session, ticket, amount, staff=me)
    return ticket


async def set_priority(work: Work, ticket_id: int, priority: str) -> Ticket:
    async with _change(work, ticket_id, "ticket_priority", {"priority": priority}) as (ticket, me):
        await tickets.set_priority(work.session, ticket, priority, staff=me, settings=work.settings)
    return ticket


async def add_note(work: Work, ticket_id: int, text: str, *, to_customer: bool = False) -> TicketEvent:
    """An internal note, or with `to_customer` a message the customer receives."""
    details = {"text": text[:200], "to_customer": to_customer}
    async with _change(work, ticket_id, "ticket_note", details) as (ticket, me):
        event = await tickets.add_note(work.session, ticket, text, staff=me, to_customer=to_customer,
                                       settings=work.settings)
    return event


async def reclassify(work: Work, ticket_id: int, category: str, *, note: str | None = None) -> Ticket:
    async with _change(work, ticket_id, "ticket_reclassify", {"category": category}) as (ticket, me):
        await tickets.reclassify(work.session, ticket, category, staff=me, note=note, settings=work.settings)
    return ticket


async def verify(work: Work, ticket_id: int, outcome: str, *, note: str | None = None) -> Ticket:
    async with _change(work, ticket_id, "ticket_verify", {"outcome": outcome}) as (ticket, me):
        await tickets.verify(work.session, ticket, outcome, staff=me, note=note)
    return ticket


async def set_responsibility(work: Work, ticket_id: int, *, party: str, cause: str, action: str) -> Ticket:
    details = {"party": party, "cause": cause, "action": action[:200]}
    async with _change(work, ticket_id, "ticket_responsibility", details) as (ticket, me):
        await tickets.set_responsibility(work.session, ticket, party=party, cause=cause, action=action, staff=me)
    return ticket
