"""The console's inbox: waiting, mine, all open, closed; one row per conversation with what an agent scans for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Conversation, Customer, Message, Staff
from storage.vocabulary import ConversationMode

VIEWS = ("waiting", "team", "mine", "open", "closed")
# What service staff see (they work the chats transferred to their team): storage.vocabulary.HANDOFF_TEAMS.
SERVICE_VIEWS = ("team", "mine")


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
    last_text: str
    version: int
    team: str | None = None  # the team it waits for (a transfer to a team)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("waiting_since", "last_message_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _waiting_for_team(team: str | None) -> ColumnElement[bool]:
    """Waiting for this team; for everybody's teams when `team` is None (admins)."""
    waiting = and_(Conversation.status == "open", Conversation.mode == ConversationMode.WAITING)
    return and_(waiting, Conversation.team == team if team else Conversation.team.is_not(None))


def _query(view: str, staff_id: int | None, team: str | None = None) -> Select[Any]:
    assignee = aliased(Staff)
    last_message = (
        select(Message.text)
        .where(Message.conversation_id == Conversation.id, Message.private_note.is_(False))
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Conversation, Customer, assignee.name, last_message)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(assignee, assignee.id == Conversation.assignee_id)
    )
    if view == "waiting":
        return query.where(Conversation.status == "open", Conversation.mode == ConversationMode.WAITING).order_by(
            Conversation.waiting_since, Conversation.id
        )
    if view == "team":
        return query.where(_waiting_for_team(team)).order_by(Conversation.waiting_since, Conversation.id)
    if view == "mine":
        return query.where(Conversation.status == "open", Conversation.assignee_id == staff_id).order_by(
            Conversation.updated_at.desc()
        )
    if view == "open":
        return query.where(Conversation.status == "open").order_by(Conversation.updated_at.desc(), Conversation.id)
    if view == "closed":
        return query.where(Conversation.status == "closed").order_by(Conversation.closed_at.desc())
    raise ValueError(f"unknown inbox view {view!r}")


def _row(conversation: Conversation, customer: Customer, assignee_name: str | None, last_text: str | None) -> InboxRow:
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
        last_text=(last_text or "")[:200],
        version=conversation.version,
        team=conversation.team if conversation.mode == ConversationMode.WAITING else None,
    )


async def list_view(
    session: AsyncSession, view: str, *, staff_id: int | None = None, search: str | None = None, limit: int = 200,
    team: str | None = None,
) -> list[InboxRow]:
    """One view's rows; `team` is the staff member's team for the "team" view (None: every team's, for admins)."""
    query = _query(view, staff_id, team)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Customer.first_name).like(like), func.lower(Customer.username).like(like),
                                func.lower(func.coalesce(Customer.last_name, "")).like(like)))
    rows = (await session.execute(query.limit(limit))).all()
    return [_row(*row) for row in rows]


async def many(session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, InboxRow]:
    """Inbox rows for these conversations in one query (live updates batch their look-ups)."""
    if not conversation_ids:
        return {}
    assignee = aliased(Staff)
    last_message = (
        select(Message.text)
        .where(Message.conversation_id == Conversation.id, Message.private_note.is_(False))
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(Conversation, Customer, assignee.name, last_message)
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(assignee, assignee.id == Conversation.assignee_id)
            .where(Conversation.id.in_(set(conversation_ids)))
        )
    ).all()
    return {row[0].id: _row(*row) for row in rows}


async def one(session: AsyncSession, conversation_id: int) -> InboxRow | None:
    return (await many(session, [conversation_id])).get(conversation_id)


async def counts(session: AsyncSession, staff_id: int, team: str | None = None) -> dict[str, int]:
    open_ = Conversation.status == "open"
    waiting = Conversation.mode == ConversationMode.WAITING
    rows = {
        "waiting": select(func.count()).select_from(Conversation).where(open_, waiting),
        "team": select(func.count()).select_from(Conversation).where(_waiting_for_team(team)),
        "mine": select(func.count()).select_from(Conversation).where(open_, Conversation.assignee_id == staff_id),
        "open": select(func.count()).select_from(Conversation).where(open_),
    }
    return {view: (await session.scalar(query)) or 0 for view, query in rows.items()}


@dataclass
class LeadCard:
    """What an agent needs beside the chat: who, what they want, what they saw, and how it went before."""

    customer: Customer
    needs: list[Any]
    recommendations: list[tuple[Any, Any]]  # (Recommendation, Listing)
    viewings: list[tuple[Any, Any]]  # (Viewing, Listing)
    tickets: list[Any]
    surveys: list[Any]
    conversations: int


async def lead_card(session: AsyncSession, customer_id: int) -> LeadCard | None:
    from storage.models import Listing, Need, Recommendation, Survey, Ticket, Viewing

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
    tickets = (await session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)
                                     .order_by(Ticket.id.desc()).limit(8))).all()
    surveys = (await session.scalars(select(Survey).where(Survey.customer_id == customer_id)
                                     .order_by(Survey.sent_at.desc()).limit(8))).all()
    total = await session.scalar(select(func.count()).select_from(Conversation)
                                 .where(Conversation.customer_id == customer_id)) or 0
    return LeadCard(customer, list(needs), list(recommendations), list(viewings), list(tickets), list(surveys), total)
