"""Work a staff member enters for a customer from the customer card: a repair or complaint ticket, a viewing
booked, moved or cancelled, a message in the customer's channel.

Each operation uses the very rules the bot's flows use (storage.services.tickets for numbers, warranty, SLAs
and the team's reminders; storage.services.viewings for slots, reminders and the survey), records who entered
it (`entered_by_id`, the audit log) and tells the customer with the bot's own words (dialogs.receipts, through
`work.texts`), in their current conversation and channel, through the outbox. The viewing's agent is told when
someone else changed their diary.

    await homes_for_repair(session, customer) -> list[Home]
    await file_ticket(work, customer_id, kind=..., category=..., description=..., unit_id=None, priority="normal",
                      access_window=None) -> Ticket
    await book_viewing(work, customer_id, listing_id, starts_at) -> Viewing
    await reschedule_viewing(work, viewing_id, starts_at) -> Viewing
    await cancel_viewing(work, viewing_id) -> Viewing
    await send_message(work, customer_id, payload, text=...) -> Message
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.events import conversation_changed, message_new, ticket_changed
from storage.models import PRIORITY_AGENT, Customer, District, Listing, Message, Staff, Ticket, Viewing
from storage.outbox import queue_to_customer
from storage.repositories import conversations
from storage.services import handoff, owners, tickets, viewings
from storage.services.notices import notify_staff, tell_customer
from storage.unit_of_work import Work
from storage.vocabulary import ConversationMode, TicketKind


class OnBehalfError(Exception):
    """The work cannot be entered for this customer; the message says why."""


@dataclass(frozen=True)
class Home:
    """A home a repair can be filed for: one the customer owns (verified), or one registered under their phone
    number that is not yet linked to them (filed as "owner not yet verified", as in the bot)."""

    unit_id: int
    label: str
    verified: bool


def reachable(customer: Customer) -> bool:
    """Whether a message can reach the customer in the channel they last wrote from."""
    if customer.unreachable_at is not None:
        return False
    return customer.chat_id is not None if customer.channel == "telegram" else bool(customer.web_visitor_id)


async def _me(work: Work) -> Staff:
    staff_id = work.actor.staff_id
    me = await work.session.get(Staff, staff_id) if staff_id is not None else None
    if me is None or not me.is_active:
        raise OnBehalfError("only an active staff member can do this")
    return me


async def _customer(work: Work, customer_id: int) -> Customer:
    customer = await work.session.get(Customer, customer_id)
    if customer is None:
        raise OnBehalfError("no such customer")
    return customer


async def _tell(work: Work, customer: Customer, notice: str, /, **params: Any) -> Message | None:
    """The customer hears it in their current conversation (a fresh one with the bot when none is open)."""
    if not reachable(customer):
        return None
    conversation = await conversations.current(work.session, customer)
    return await tell_customer(work, conversation, notice, **params)


async def homes_for_repair(session: AsyncSession, customer: Customer) -> list[Home]:
    owned = await owners.owned_units(session, customer.id)
    homes = [Home(u.unit.id, u.label, True) for u in owned]
    if customer.phone:
        known = {home.unit_id for home in homes}
        homes += [Home(u.unit.id, u.label, False) for u in await owners.units_under_phone(session, customer.phone)
                  if u.unit.id not in known]
    return homes


async def file_ticket(
    work: Work, customer_id: int, *, kind: str, category: str, description: str, unit_id: int | None = None,
    priority: str = "normal", access_window: str | None = None,
) -> Ticket:
    """File a repair or complaint for the customer, as the bot would; the customer gets its number."""
    me = await _me(work)
    session = work.session
    customer = await _customer(work, customer_id)
    if kind not in (TicketKind.REPAIR, TicketKind.COMPLAINT):
        raise OnBehalfError(f"unknown ticket kind {kind}")
    if not description.strip():
        raise OnBehalfError("describe the problem")
    homes = await homes_for_repair(session, customer)
    home = next((h for h in homes if h.unit_id == unit_id), None) if unit_id is not None else None
    if unit_id is not None and home is None:
        raise OnBehalfError("that home is not registered to this customer")
    if kind == TicketKind.REPAIR:
        if home is None:
            raise OnBehalfError("a repair needs one of the customer's homes")
        needs_verification = not home.verified
    else:  # the bot's rule: a one-home owner's complaint is about that home; no verified home, verify them
        default_unit, needs_verification = await owners.complaint_home(session, customer.id)
        if home is None and default_unit is not None:
            home = next(h for h in homes if h.unit_id == default_unit)
    conversation = await conversations.current(session, customer) if reachable(customer) else None
    ticket = await tickets.create_ticket(
        session, kind=kind, category=category, customer_id=customer.id, description=description,
        unit_id=home.unit_id if home else None, priority=priority, access_window=access_window,
        conversation_id=conversation.id if conversation else None, needs_verification=needs_verification,
        entered_by=me, settings=work.settings,
    )
    work.publish(ticket_changed(ticket, created=True))
    await work.audit("ticket_file", target_type="ticket", target_id=ticket.id,
                     details={"customer_id": customer.id, "number": ticket.number, "kind": kind})
    await _tell(work, customer, "ticket_filed", ticket_kind=ticket.kind, number=ticket.number,
                needs_verification=ticket.needs_verification, warranty_status=ticket.warranty_status,
                ticket_priority=ticket.priority, call_by=ticket.first_response_due_at, tz=work.settings.tz)
    if kind == TicketKind.COMPLAINT and conversation is not None and conversation.mode == ConversationMode.BOT:
        # As the bot does with a complaint (its receipt says so): the conversation waits for a person.
        await handoff.request_handoff(session, conversation, "complaint")
        work.publish(conversation_changed(conversation, queued=True))
    return ticket


async def _viewing_words(work: Work, viewing: Viewing) -> dict[str, Any]:
    """What the customer's and the agent's notices name: the home, its district in Chinese, the time, the agent."""
    listing = await work.session.get(Listing, viewing.listing_id)
    if listing is None:
        raise OnBehalfError("listing not available")
    district_zh = await work.session.scalar(select(District.name_zh).where(
        District.name == (listing.district_name or listing.city)).limit(1))
    agent = await work.session.get(Staff, viewing.agent_id)
    return {"listing": listing, "district_zh": district_zh or "", "starts_at": viewing.starts_at,
            "tz": work.settings.tz, "agent": agent.name if agent else ""}


async def _tell_agent(work: Work, me: Staff, viewing: Viewing, customer: Customer, kind: str,
                      words: dict[str, Any]) -> None:
    if viewing.agent_id == me.id:
        return
    await notify_staff(work, [viewing.agent_id], kind, link="/viewings", by=me.name,
                       customer=customer.display_name, listing=words["listing"].ref_code,
                       starts_at=words["starts_at"], tz=words["tz"])


async def book_viewing(work: Work, customer_id: int, listing_id: int, starts_at: datetime) -> Viewing:
    """Book a viewing for the customer with the listing's agent, under the bot's slot rules."""
    me = await _me(work)
    customer = await _customer(work, customer_id)
    viewing = await viewings.book(work.session, listing_id=listing_id, customer_id=customer.id, starts_at=starts_at,
                                  settings=work.settings)
    viewing.entered_by_id = me.id
    await work.session.flush()
    words = await _viewing_words(work, viewing)
    await work.audit("viewing_book", target_type="viewing", target_id=viewing.id,
                     details={"customer_id": customer.id, "listing_id": listing_id,
                              "starts_at": viewing.starts_at.isoformat()})
    await _tell(work, customer, "viewing_booked", **words)
    await _tell_agent(work, me, viewing, customer, "viewing_booked_for", words)
    return viewing


async def _customer_of(work: Work, viewing_id: int) -> Customer:
    viewing = await work.session.get(Viewing, viewing_id)
    if viewing is None:
        raise OnBehalfError("viewing not found or no longer booked")
    return await _customer(work, viewing.customer_id)


async def reschedule_viewing(work: Work, viewing_id: int, starts_at: datetime) -> Viewing:
    """Move the customer's viewing to a free time of the same agent (the bot's rule)."""
    me = await _me(work)
    customer = await _customer_of(work, viewing_id)
    change = await viewings.reschedule(work.session, viewing_id, starts_at, settings=work.settings)
    viewing = change.viewing
    words = await _viewing_words(work, viewing)
    await work.audit("viewing_reschedule", target_type="viewing", target_id=viewing.id,
                     details={"from": change.previous_start.isoformat() if change.previous_start else None,
                              "to": viewing.starts_at.isoformat()})
    await _tell(work, customer, "viewing_moved", **words)
    await _tell_agent(work, me, viewing, customer, "viewing_moved_for", words)
    return viewing


async def cancel_viewing(work: Work, viewing_id: int) -> Viewing:
    """Cancel the customer's viewing (by staff); its time is free again and its reminders are withdrawn."""
    me = await _me(work)
    customer = await _customer_of(work, viewing_id)
    change = await viewings.cancel(work.session, viewing_id, by="staff")
    viewing = change.viewing
    words = await _viewing_words(work, viewing)
    await work.audit("viewing_cancel", target_type="viewing", target_id=viewing.id,
                     details={"customer_id": customer.id})
    await _tell(work, customer, "viewing_cancelled", **words)
    await _tell_agent(work, me, viewing, customer, "viewing_cancelled_for", words)
    return viewing


async def send_message(work: Work, customer_id: int, payload: dict[str, Any], *, text: str) -> Message:
    """A message from the acting staff member to the customer, in the channel they last wrote from, recorded in
    their current conversation. `payload` is a reply (`dialogs.replies.Reply.to_payload()`), `text` the history's
    plain text."""
    me = await _me(work)
    customer = await _customer(work, customer_id)
    if not text.strip():
        raise OnBehalfError("the message is empty")
    if not reachable(customer):
        raise OnBehalfError("the customer cannot be reached in any channel")
    conversation = await conversations.current(work.session, customer)
    message = await queue_to_customer(work.session, conversation, customer, payload, text=text, sender="agent",
                                      priority=PRIORITY_AGENT, staff_id=me.id)
    work.publish(message_new(message))
    await work.audit("customer_message", target_type="customer", target_id=customer.id,
                     details={"conversation_id": conversation.id, "text": text[:200]})
    return message
