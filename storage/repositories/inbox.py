"""The console's inbox: waiting, mine, all open, closed; one row per conversation with what an agent scans for."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import clock
from storage.db import LIKE_ESCAPE, like_pattern
from storage.models import Conversation, Customer, Message, Staff
from storage.text import plain_text
from storage.vocabulary import ConversationMode

VIEWS = ("waiting", "team", "mine", "open", "closed")
# What service staff see (they work the chats transferred to their team): storage.vocabulary.HANDOFF_TEAMS.
SERVICE_VIEWS = ("team", "mine")
SORTS = ("activity", "waiting")  # latest activity first, or longest waiting first
MAX_WAITING_MINUTES = 60 * 24 * 365


@dataclass(frozen=True)
class InboxRow:
    conversation_id: int
    customer_id: int
    customer_name: str
    username: str | None
    language: str
    channel: str
    mode: str
    status: str
    reason: str | None
    assignee_id: int | None
    assignee_name: str | None
    waiting_since: datetime | None
    last_message_at: datetime | None
    last_text: str  # the customer's last words (or, before they said anything, the last thing said, as plain text)
    unread: int  # the customer's messages no staff member has seen yet
    version: int
    team: str | None = None  # the team it waits for (a transfer to a team)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("waiting_since", "last_message_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class InboxFilters:
    """What an agent narrows the list by; empty means everything."""

    search: str = ""  # customer name, username or phone, or words in any message of the conversation
    channel: str = ""
    language: str = ""
    team: str = ""  # the team it waits for, or its assignee's team
    waiting_minutes: int | None = None  # waiting longer than this
    sort: str = "activity"


def _columns() -> tuple[Any, ...]:
    """The row's computed columns: the customer's last words, the last message (a fallback), and the unread count."""
    visible = (Message.conversation_id == Conversation.id, Message.private_note.is_(False))
    customer_said = select(Message.text).where(*visible, Message.direction == "in").order_by(
        Message.id.desc()).limit(1).scalar_subquery()
    last = aliased(Message)
    last_said = select(last.direction + ":" + last.sender + ":" + last.text).where(
        last.conversation_id == Conversation.id, last.private_note.is_(False)).order_by(
        last.id.desc()).limit(1).scalar_subquery()
    unread = select(func.count(Message.id)).where(
        *visible, Message.direction == "in",
        Message.id > func.coalesce(Conversation.staff_seen_message_id, 0)).scalar_subquery()
    return customer_said, last_said, unread


def _base() -> Select[Any]:
    assignee = aliased(Staff)
    return (
        select(Conversation, Customer, assignee.name, *_columns())
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(assignee, assignee.id == Conversation.assignee_id)
    )


def _waiting_for_team(team: str | None) -> ColumnElement[bool]:
    """Waiting for this team; for everybody's teams when `team` is None (admins)."""
    waiting = and_(Conversation.status == "open", Conversation.mode == ConversationMode.WAITING)
    return and_(waiting, Conversation.team == team if team else Conversation.team.is_not(None))


def _in_view(query: Select[Any], view: str, staff_id: int | None, team: str | None = None) -> Select[Any]:
    if view == "waiting":  # for the chat team: a chat transferred to another team waits in that team's view
        return query.where(Conversation.status == "open", Conversation.mode == ConversationMode.WAITING,
                           Conversation.team.is_(None))
    if view == "team":
        return query.where(_waiting_for_team(team))
    if view == "mine":
        return query.where(Conversation.status == "open", Conversation.assignee_id == staff_id)
    if view == "open":
        return query.where(Conversation.status == "open")
    if view == "closed":
        return query.where(Conversation.status == "closed")
    raise ValueError(f"unknown inbox view {view!r}")


def _filtered(query: Select[Any], filters: InboxFilters, now: datetime) -> Select[Any]:
    if filters.search.strip():
        like = like_pattern(filters.search.strip())
        said = select(Message.id).where(Message.conversation_id == Conversation.id,
                                        func.lower(Message.text).like(like, escape=LIKE_ESCAPE)).exists()
        query = query.where(or_(
            func.lower(Customer.first_name + " " + func.coalesce(Customer.last_name, "")).like(
                like, escape=LIKE_ESCAPE),
            func.lower(func.coalesce(Customer.username, "")).like(like, escape=LIKE_ESCAPE),
            func.coalesce(Customer.phone, "").like(like, escape=LIKE_ESCAPE),
            said,
        ))
    if filters.channel:
        query = query.where(Customer.channel == filters.channel)
    if filters.language:
        query = query.where(Customer.language == filters.language)
    if filters.team:
        query = query.where(or_(Conversation.team == filters.team,
                                Conversation.assignee_id.in_(select(Staff.id).where(Staff.team == filters.team))))
    if filters.waiting_minutes is not None:
        query = query.where(Conversation.mode == ConversationMode.WAITING,
                            Conversation.waiting_since <= now - timedelta(minutes=filters.waiting_minutes))
    return query


def _ordered(query: Select[Any], view: str, sort: str) -> Select[Any]:
    if view == "closed":
        return query.order_by(Conversation.closed_at.desc(), Conversation.id.desc())
    if sort == "waiting" or view in ("waiting", "team"):
        return query.order_by(Conversation.waiting_since.is_(None), Conversation.waiting_since, Conversation.id)
    activity = func.coalesce(Conversation.last_customer_message_at, Conversation.updated_at)
    return query.order_by(activity.desc(), Conversation.id.desc())


def _row(conversation: Conversation, customer: Customer, assignee_name: str | None, customer_said: str | None,
         last_said: str | None, unread: int | None) -> InboxRow:
    if customer_said is None and last_said:
        direction, sender, text = last_said.split(":", 2)
        customer_said = plain_text(text, sender, direction)
    return InboxRow(
        conversation_id=conversation.id,
        customer_id=customer.id,
        customer_name=customer.display_name,
        username=customer.username,
        language=customer.language,
        channel=customer.channel,
        mode=conversation.mode,
        status=conversation.status,
        reason=conversation.handoff_reason,
        assignee_id=conversation.assignee_id,
        assignee_name=assignee_name,
        waiting_since=conversation.waiting_since if conversation.mode == ConversationMode.WAITING else None,
        last_message_at=max(
            (t for t in (conversation.last_customer_message_at, conversation.last_agent_message_at) if t),
            default=None,
        ),
        last_text=" ".join((customer_said or "").split())[:200],
        unread=unread or 0,
        version=conversation.version,
        team=conversation.team if conversation.mode == ConversationMode.WAITING else None,
    )


async def list_view(
    session: AsyncSession, view: str, *, staff_id: int | None = None, search: str | None = None,
    filters: InboxFilters | None = None, limit: int = 200, team: str | None = None,
) -> list[InboxRow]:
    """One view's rows; `team` is the staff member's team for the "team" view (None: every team's, for admins)."""
    filters = filters or InboxFilters(search=search or "")
    query = _ordered(_filtered(_in_view(_base(), view, staff_id, team), filters, clock.now()), view, filters.sort)
    rows = (await session.execute(query.limit(limit))).all()
    return [_row(*row) for row in rows]


@functools.cache
def _many_statement() -> Select[Any]:
    # Built once: the live updates run it for every batch of events, and building it (an alias, three correlated
    # subqueries) and its cache key cost more than running it (py-spy of bench/relay.py, issue 17).
    return _base().where(Conversation.id.in_(bindparam("inbox_conversation_ids", expanding=True)))


async def many(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, InboxRow]:
    """Inbox rows for these conversations in one query (live updates batch their look-ups)."""
    if not conversation_ids:
        return {}
    rows = (await session.execute(_many_statement(),
                                  {"inbox_conversation_ids": sorted(set(conversation_ids))})).all()
    return {row[0].id: _row(*row) for row in rows}


async def one(session: AsyncSession, conversation_id: int) -> InboxRow | None:
    return (await many(session, [conversation_id])).get(conversation_id)


async def counts(session: AsyncSession, staff_id: int, team: str | None = None) -> dict[str, int]:
    """The tab counters, plus "unread": the customer messages nobody has seen in my open conversations."""
    open_ = Conversation.status == "open"
    mine = Conversation.assignee_id == staff_id
    waiting = Conversation.mode == ConversationMode.WAITING
    unread = select(func.count(Message.id)).join(Conversation, Conversation.id == Message.conversation_id).where(
        open_, mine, Message.direction == "in", Message.private_note.is_(False),
        Message.id > func.coalesce(Conversation.staff_seen_message_id, 0))
    row = (await session.execute(select(
        select(func.count()).select_from(Conversation).where(open_, waiting, Conversation.team.is_(None))
        .scalar_subquery(),
        select(func.count()).select_from(Conversation).where(_waiting_for_team(team)).scalar_subquery(),
        select(func.count()).select_from(Conversation).where(open_, mine).scalar_subquery(),
        select(func.count()).select_from(Conversation).where(open_).scalar_subquery(),
        unread.scalar_subquery(),
    ))).one()
    return {"waiting": row[0] or 0, "team": row[1] or 0, "mine": row[2] or 0, "open": row[3] or 0,
            "unread": row[4] or 0}


async def mark_seen(session: AsyncSession, conversation_id: int, up_to_message_id: int | None = None) -> int | None:
    """Staff have seen the conversation up to this message (default: everything in it). The marker only moves
    forward, so a page that reports late never makes seen messages unread again. Returns the marker."""
    newest = await session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
    if newest is None:
        return None
    target = min(up_to_message_id, newest) if up_to_message_id is not None else newest
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id, or_(
            Conversation.staff_seen_message_id.is_(None), Conversation.staff_seen_message_id < target))
        .values(staff_seen_message_id=target).execution_options(synchronize_session=False))
    return target


@dataclass
class LeadCard:
    """What an agent needs beside the chat: who, what they want, what they saw, and how it went before."""

    customer: Customer
    needs: list[Any]
    recommendations: list[tuple[Any, Any]]  # (Recommendation, Listing)
    viewings: list[tuple[Any, Any]]  # (Viewing, Listing)
    tickets: list[Any]  # open ones first
    surveys: list[Any]
    conversations: int
    units: list[tuple[Any, str, str]] = field(default_factory=list)  # (Unit, building name, project name) owned


async def lead_card(session: AsyncSession, customer_id: int) -> LeadCard | None:
    from storage.models import (
        Building,
        CustomerUnit,
        Listing,
        Need,
        Project,
        Recommendation,
        Survey,
        Ticket,
        Unit,
        Viewing,
    )
    from storage.vocabulary import OPEN_TICKET_STATUSES

    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    needs = (await session.scalars(select(Need).where(Need.customer_id == customer_id, Need.active.is_(True))
                                   .order_by(Need.updated_at.desc()))).all()
    recommendations = (await session.execute(
        select(Recommendation, Listing).join(Listing, Listing.id == Recommendation.listing_id)
        .where(Recommendation.customer_id == customer_id).order_by(Recommendation.created_at.desc()).limit(8)
    )).tuples().all()
    viewings = (await session.execute(
        select(Viewing, Listing).join(Listing, Listing.id == Viewing.listing_id)
        .where(Viewing.customer_id == customer_id).order_by(Viewing.starts_at.desc()).limit(8)
    )).tuples().all()
    still_open = Ticket.status.in_(OPEN_TICKET_STATUSES)
    tickets = (await session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)
                                     .order_by(still_open.desc(), Ticket.id.desc()).limit(8))).all()
    units = (await session.execute(
        select(Unit, Building.name, Project.name).join(CustomerUnit, CustomerUnit.unit_id == Unit.id)
        .join(Building, Building.id == Unit.building_id).join(Project, Project.id == Building.project_id)
        .where(CustomerUnit.customer_id == customer_id).order_by(Project.name, Building.name, Unit.unit_no)
    )).tuples().all()
    surveys = (await session.scalars(select(Survey).where(Survey.customer_id == customer_id)
                                     .order_by(Survey.sent_at.desc()).limit(8))).all()
    total = await session.scalar(select(func.count()).select_from(Conversation)
                                 .where(Conversation.customer_id == customer_id)) or 0
    return LeadCard(customer, list(needs), list(recommendations), list(viewings), list(tickets), list(surveys), total,
                    units=list(units))
