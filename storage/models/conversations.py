"""Conversations (state of the dialog and who owns it), every message in and out, handoffs, inbound updates
and the dead letters of intake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage import clock
from storage.models.base import Base, BigId, JSONType, Timestamps


class Conversation(Timestamps, Base):
    """A customer's thread. `mode` decides who answers: the bot, nobody yet (waiting), or a person."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_queue", "status", "mode", "waiting_since"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    slots: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    misunderstandings: Mapped[int] = mapped_column(default=0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    # While waiting: the team it was transferred to (storage.vocabulary.HANDOFF_TEAMS); None = any agent.
    team: Mapped[str | None] = mapped_column(String(32))
    waiting_since: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    last_customer_message_at: Mapped[datetime | None]
    last_agent_message_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The newest message a staff member has seen on the conversation page: the customer's messages after it are
    # "unread" in the inbox (one marker per conversation, as the assignee and a supervisor read the same thread).
    staff_seen_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Bumped by every state change so two writers can detect a lost update.
    version: Mapped[int] = mapped_column(default=0)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    sender: Mapped[str] = mapped_column(String(8))  # customer | bot | agent | system
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # file ids, coordinates, choice data
    private_note: Mapped[bool] = mapped_column(default=False)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    delivery_status: Mapped[str | None] = mapped_column(String(12))  # pending | sent | failed (outgoing only)
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())


class Handoff(Base):
    """One stretch of a conversation with people: asked for, taken, ended."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # asked | misunderstood | complaint | agent_takeover
    requested_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    taken_at: Mapped[datetime | None]
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ended_at: Mapped[datetime | None]
    ended_how: Mapped[str | None] = mapped_column(String(16))  # returned | closed | requeued


class ChatWait(Base):
    """One stretch of a chat waiting for staff: from the request for a person (or the customer's unanswered message
    in a chat staff already answered) to the staff's reply. Its first-response deadline follows the chat SLA policy
    (storage.services.sla); a promise of an answer by a date pauses it until then."""

    __tablename__ = "chat_waits"
    __table_args__ = (Index("ix_chat_waits_open", "answered_at", "ended_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # storage.vocabulary.Channel
    topic: Mapped[str] = mapped_column(String(32))  # the flow the customer was in, or "general"
    team: Mapped[str | None] = mapped_column(String(64))  # the department that owes the answer
    started_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None]  # closed, returned to the bot or left the queue without an answer
    ended_how: Mapped[str | None] = mapped_column(String(12))  # closed | returned | cancelled
    paused_at: Mapped[datetime | None]
    promised_at: Mapped[datetime | None]  # the answer promised to the customer by then
    breached: Mapped[bool] = mapped_column(default=False)


class InboundUpdate(Base):
    """Every Telegram update, stored before it is handled; the primary key de-duplicates update_ids."""

    __tablename__ = "inbound_updates"
    # ix_inbound_chat_pending: the claim's "no earlier update of this chat still waiting" (storage.updates.claim).
    __table_args__ = (Index("ix_inbound_pending", "status", "update_id"),
                      Index("ix_inbound_chat_pending", "chat_id", "status", "update_id"))

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10), default="received")  # received | done | failed
    error: Mapped[str | None] = mapped_column(Text)
    # Failed handling attempts (not counting a database outage): bounded, then the update is dead-lettered.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    received_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    processed_at: Mapped[datetime | None]


class DeadLetter(Base):
    """An update that could not be stored or handled after a few tries; intake went on without it.

    `raw` is the update's JSON as text (whatever the database could not take in a JSON column or an integer
    column is kept here); `stage` says where it stopped: invalid (not an update Telegram documents), store
    (the database refused it) or handle (a flow kept failing on it).
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    update_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # None beyond 64 bits or missing
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(8))  # invalid | store | handle
    raw: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), index=True)
