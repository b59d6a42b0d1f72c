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
# A ticket someone still has to work on (a resolved one waits only for the customer's confirmation).
OPEN_TICKET_STATUSES = (
    TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER,
)
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
# Notices to owners (storage/services/broadcasts.py): scheduled -> queueing -> sending -> done, or cancelled while
# still scheduled, queueing or sending.
BROADCAST_STATUSES = ("scheduled", "queueing", "sending", "done", "cancelled")
BROADCAST_ACTIVE = ("scheduled", "queueing", "sending")  # can still be cancelled
# Each recipient's status, read from their outbox row.
RECIPIENT_STATUSES = ("queued", "sent", "failed", "blocked", "cancelled")

CONVERSATION_MODES: tuple[ConversationMode, ...] = tuple(ConversationMode)
STAFF_ROLES: tuple[StaffRole, ...] = tuple(StaffRole)
CHANNELS: tuple[Channel, ...] = tuple(Channel)
# Who answers customers in chat and owns conversations (service staff work on tickets instead).
CHAT_ROLES = (StaffRole.AGENT, StaffRole.ADMIN)

DEAL_TYPES = ("sale", "rent")
PROPERTY_TYPES = ("apartment", "house", "villa", "office", "shop", "parking")
LISTING_STATUSES = ("active", "reserved", "sold", "rented", "withdrawn", "draft")
# A listing drafted from an owner's intake: never recommended until an agent completes and publishes it.
DRAFT_LISTING_STATUS = "draft"
# What a customer can report from a listing card.
LISTING_REPORT_REASONS = ("taken", "price", "photos")
# Why a listing is kept out of recommendations until verified.
WITHHELD_REASONS = ("stale", "reports")
# Owners (sellers and landlords): what they want, what they asked for, where their lead stands.
OWNER_INTENTS = ("sell", "let")
OWNER_REQUESTS = ("call", "list")
OWNER_LEAD_STATUSES = ("new", "contacted", "listed", "closed")
# How finished a home is (装修), lowest first: bare shell (毛坯), basic (简装), fine (精装).
DECORATIONS = ("bare", "basic", "fine")

VIEWING_STATUSES = ("booked", "cancelled", "done", "no_show")
VIEWING_OUTCOMES = ("interested", "offer", "not_interested", "signed")  # signed: the console opens a new deal

# Customers staff enter themselves (storage.services.customer_records): how they met, and what staff note.
CUSTOMER_SOURCES = ("phone", "walk_in")
GENDERS = ("female", "male")
CUSTOMER_LANGUAGES = ("en", "zh")
FAQ_LANGUAGES = ("en", "zh")
# ---- work staff enter from the customer card ---------------------------------------------------------------------
# How a consultation reached us, and what it was about (storage.models.Consultation; reports group by both).
CONSULTATION_CHANNELS = ("phone", "walk_in", "wechat", "email")
CONSULTATION_TOPICS = ("buying", "renting", "after_sales", "complaint", "other")
# Teams a chat can be transferred to besides a single agent: it waits for them (Conversation.team). A team's
# members are the active staff whose Staff.team is that name (the complaint team is the one complaints go to,
# storage.services.tickets.COMPLAINT_TEAMS); any of them, whatever their role, may take it, and so may admins.
HANDOFF_TEAMS = ("repair", "complaints")  # the service team is repair and maintenance (售后); see TEAMS
