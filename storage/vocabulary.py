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
    SUGGESTION = "suggestion"


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
    "doors_windows", "walls_decoration", "equipment", "structure", "other",
)
COMPLAINT_CATEGORIES = (
    "service_attitude", "product_quality", "delayed_handover", "property_management", "contract_sales", "other",
)
SUGGESTION_CATEGORIES = ("service", "homes", "community", "online", "other")
CATEGORIES_BY_KIND: dict[str, tuple[str, ...]] = {
    TicketKind.REPAIR: REPAIR_CATEGORIES, TicketKind.COMPLAINT: COMPLAINT_CATEGORIES,
    TicketKind.SUGGESTION: SUGGESTION_CATEGORIES,
}
PRIORITIES = ("emergency", "normal", "low")

# Departments (Staff.team, Ticket.team): who owns a ticket or a chat, and the rows of the reports per team.
TEAMS = ("sales", "repair", "complaints", "property")
CHAT_TEAM = "sales"  # chats go to the sales desk unless they come from a complaint
# Complaint handling: the verification's outcome, who is responsible, and the root cause.
VERIFICATIONS = ("verified", "unsubstantiated")
RESPONSIBLE_PARTIES = (*TEAMS, "contractor", "developer", "other")
ROOT_CAUSES = (
    "staff_conduct", "communication", "workmanship", "materials", "design", "schedule", "process", "third_party",
    "expectation", "other",
)

CONVERSATION_MODES: tuple[ConversationMode, ...] = tuple(ConversationMode)
STAFF_ROLES: tuple[StaffRole, ...] = tuple(StaffRole)
CHANNELS: tuple[Channel, ...] = tuple(Channel)
# Who answers customers in chat and owns conversations (service staff work on tickets instead).
CHAT_ROLES = (StaffRole.AGENT, StaffRole.ADMIN)

DEAL_TYPES = ("sale", "rent")
PROPERTY_TYPES = ("apartment", "house", "villa", "office", "shop", "parking")
LISTING_STATUSES = ("active", "reserved", "sold", "rented", "withdrawn")

VIEWING_STATUSES = ("booked", "cancelled", "done", "no_show")
VIEWING_OUTCOMES = ("interested", "offer", "not_interested")
