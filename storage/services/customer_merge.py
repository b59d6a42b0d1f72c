"""Merging a web chat visitor into the same person's other customer record (usually their Telegram one), so their
history is one: conversations, tickets, viewings, needs, saved listings, surveys, reminders and the mailbox move
over, and the visitor's token now opens the merged customer.

Where both records hold the same thing (a need for the same deal type, the same saved listing, the same unit), the
kept customer's row wins and the visitor's copy is dropped. If both have an open conversation, the one the
customer used last stays open and the other is closed. Replies go to the channel the customer last wrote from
(`storage.repositories.customers.get_or_create` records it).

A customer staff entered themselves (a caller or a walk-in, no chat identity yet: storage.services.customer_records)
is merged the same way into the record the person later wrote from; the kept record takes the entered details it
lacks (phone, gender, how staff met them) and every home the entered record owned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, select, tuple_, update

from storage import clock
from storage.events import conversation_changed
from storage.models import (
    Conversation,
    Customer,
    CustomerUnit,
    FollowUpTask,
    Handoff,
    ListingFeedback,
    Need,
    OutboxMessage,
    Recommendation,
    Reminder,
    Revisit,
    SavedListing,
    Survey,
    Ticket,
    TicketEvent,
    Viewing,
)
from storage.unit_of_work import Work
from storage.vocabulary import Channel


class MergeError(Exception):
    """The two records cannot be merged; the message says why."""


# Rows with no other key: moved as they are.
_MOVED: tuple[tuple[Any, str], ...] = (
    (Ticket, "customer_id"), (TicketEvent, "actor_customer_id"), (Viewing, "customer_id"), (Survey, "customer_id"),
    (FollowUpTask, "customer_id"), (OutboxMessage, "customer_id"), (Reminder, "recipient_customer_id"),
)
# Rows unique per customer and these columns: the kept customer's copy wins.
_UNIQUE: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (CustomerUnit, ("unit_id",)), (Need, ("deal_type",)), (ListingFeedback, ("listing_id",)),
    (SavedListing, ("listing_id",)), (Recommendation, ("listing_id", "channel")),
    (Revisit, ("reason", "subject_id")),
)


def _column(model: Any, name: str) -> Any:
    table: Table = model.__table__
    return table.c[name]


def mergeable(customer: Customer) -> bool:
    """Can this record be merged into another one: a web chat visitor, or a customer staff entered (no Telegram
    identity: a Telegram user's record is the one others are merged into)."""
    return customer.telegram_user_id is None and (customer.channel == Channel.WEB or customer.source is not None)


async def merge_customer(work: Work, visitor_id: int, into_id: int) -> Customer:
    """Move everything of customer `visitor_id` (a web visitor or a customer entered by staff) to customer `into_id`
    and remove the merged record."""
    session = work.session
    if visitor_id == into_id:
        raise MergeError("a customer cannot be merged into itself")
    visitor = await session.get(Customer, visitor_id)
    kept = await session.get(Customer, into_id)
    if visitor is None or kept is None:
        raise MergeError("no such customer")
    if not mergeable(visitor):
        raise MergeError("only a web chat visitor or a customer entered by staff can be merged into another customer")
    if visitor.web_visitor_id and kept.web_visitor_id:
        raise MergeError("that customer already has a web chat visitor")
    await _one_open_conversation(work, visitor, kept)
    for model, column in _MOVED:
        await session.execute(update(model).where(_column(model, column) == visitor.id)
                              .values({column: kept.id}).execution_options(synchronize_session=False))
    for model, keys in _UNIQUE:
        theirs = select(*(_column(model, key) for key in keys)).where(_column(model, "customer_id") == kept.id)
        mine = tuple_(*(_column(model, key) for key in keys)) if len(keys) > 1 else _column(model, keys[0])
        await session.execute(delete(model).where(_column(model, "customer_id") == visitor.id, mine.in_(theirs))
                              .execution_options(synchronize_session=False))
        await session.execute(update(model).where(_column(model, "customer_id") == visitor.id)
                              .values(customer_id=kept.id).execution_options(synchronize_session=False))
    moved = (await session.scalars(select(Conversation).where(Conversation.customer_id == visitor.id))).all()
    await session.execute(update(Conversation).where(Conversation.customer_id == visitor.id)
                          .values(customer_id=kept.id).execution_options(synchronize_session=False))
    web_visitor = visitor.web_visitor_id
    if not kept.phone and visitor.phone:
        kept.phone, kept.phone_verified_at = visitor.phone, visitor.phone_verified_at
    kept.tags = sorted({*(kept.tags or []), *(visitor.tags or [])})
    kept.notes = "\n".join(note for note in (kept.notes, visitor.notes) if note) or None
    kept.first_name = kept.first_name or visitor.first_name
    kept.last_name = kept.last_name or visitor.last_name
    kept.gender = kept.gender or visitor.gender
    kept.source = kept.source or visitor.source
    seen = [moment for moment in (kept.last_seen_at, visitor.last_seen_at) if moment]
    kept.last_seen_at = max(seen) if seen else None
    await session.delete(visitor)
    await session.flush()
    if web_visitor:
        kept.web_visitor_id = web_visitor
        if kept.telegram_user_id is None:  # a record staff entered: the web chat is now where they talk to us
            kept.channel = Channel.WEB
    await session.flush()
    for conversation in moved:
        await session.refresh(conversation)
        work.publish(conversation_changed(conversation))
    await work.audit("customer_merge", target_type="customer", target_id=kept.id,
                     details={"web_visitor" if web_visitor else "entered_by_staff": visitor_id,
                              "conversations": len(moved)})
    return kept


async def _one_open_conversation(work: Work, visitor: Customer, kept: Customer) -> None:
    """At most one open conversation after the merge: the one used last stays open."""
    session = work.session
    open_ones = (await session.scalars(
        select(Conversation).where(Conversation.customer_id.in_((visitor.id, kept.id)),
                                   Conversation.status == "open").order_by(Conversation.updated_at, Conversation.id)
    )).all()
    now = clock.now()
    for conversation in open_ones[:-1]:
        conversation.status, conversation.mode, conversation.closed_at = "closed", "bot", now
        conversation.assignee_id = None
        conversation.flow = conversation.step = None
        conversation.slots = {}
        conversation.version += 1
        await session.execute(update(Handoff).where(Handoff.conversation_id == conversation.id,
                                                     Handoff.ended_at.is_(None))
                              .values(ended_at=now, ended_how="closed").execution_options(synchronize_session=False))
        work.publish(conversation_changed(conversation))
    await session.flush()


merge_web_visitor = merge_customer  # its first use: a web chat visitor into their Telegram record
