"""The names the system stores: ticket kinds, statuses and categories, conversation modes, staff roles, listing and
viewing states. Every layer imports them from here, and only from here.

The values are what the database holds, so they never change; the enums are `StrEnum`s, which compare equal to
those strings, so rows read back as plain strings still match them. The words people read for these names live
in the dialogs (`dialogs.names`), in both languages. This module imports nothing of ours.
"""

from __future__ import annotations

from enum import StrEnum


class TicketKind(StrEnum):
    REPAIR = "repair"
    COMPLAINT = "complaint"


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ConversationMode(StrEnum):
    """Who answers a conversation: the bot, nobody yet (waiting in the queue), or a person."""

    BOT = "bot"
    WAITING = "waiting"
    HUMAN = "human"


class Channel(StrEnum):
    """Where a customer talks to us: Telegram, or the web chat on the company's site (and /chat)."""

    TELEGRAM = "telegram"
    WEB = "web"


class StaffRole(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    SERVICE = "service"


TICKET_KINDS: tuple[TicketKind, ...] = tuple(TicketKind)
TICKET_STATUSES: tuple[TicketStatus, ...] = tuple(TicketStatus)
# A ticket the customer can no longer add to.
FINISHED_TICKET_STATUSES = (TicketStatus.CLOSED, TicketStatus.CANCELLED)
REPAIR_CATEGORIES = (
    "plumbing", "electrical", "waterproofing", "heating_cooling",
    "doors_windows", "walls_decoration", "equipment", "other",
)
COMPLAINT_CATEGORIES = (
    "service_attitude", "product_quality", "delayed_handover", "property_management", "contract_sales", "other",
)
PRIORITIES = ("emergency", "normal", "low")

CONVERSATION_MODES: tuple[ConversationMode, ...] = tuple(ConversationMode)
STAFF_ROLES: tuple[StaffRole, ...] = tuple(StaffRole)
CHANNELS: tuple[Channel, ...] = tuple(Channel)
# Who answers customers in chat and owns conversations (service staff work on tickets instead).
CHAT_ROLES = (StaffRole.AGENT, StaffRole.ADMIN)

DEAL_TYPES = ("sale", "rent")
PROPERTY_TYPES = ("apartment", "house", "villa", "office", "shop", "parking")
LISTING_STATUSES = ("active", "reserved", "sold", "rented", "withdrawn")

VIEWING_STATUSES = ("booked", "cancelled", "done", "no_show")
VIEWING_OUTCOMES = ("interested", "offer", "not_interested", "signed")  # signed: the console opens a new deal
