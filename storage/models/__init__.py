"""All tables, importable from one place: `from storage.models import Listing`."""

from storage.models.aftersales import (
    Building,
    CustomerUnit,
    Holiday,
    Project,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketCounter,
    TicketEvent,
    Unit,
    WarrantyPeriod,
)
from storage.models.base import Base, UTCDateTime
from storage.models.broadcasts import Broadcast
from storage.models.consultations import Consultation
from storage.models.conversations import ChatWait, Conversation, DeadLetter, Handoff, InboundUpdate, Message
from storage.models.deals import (
    Deal,
    DealAttachment,
    InspectionSlot,
    Milestone,
    MilestoneEvent,
    MilestoneStep,
    ProjectFee,
)
from storage.models.delivery import (
    PRIORITY_AGENT,
    PRIORITY_BOT,
    PRIORITY_BROADCAST,
    PRIORITY_REMINDER,
    OutboxMessage,
    Reminder,
    StaffNotification,
)
from storage.models.listings import (
    District,
    Listing,
    ListingFeedback,
    ListingPhoto,
    ListingReport,
    Need,
    OwnerLead,
    Recommendation,
    SavedListing,
)
from storage.models.people import Customer, Staff, StaffTimeOff
from storage.models.service import AuditLog, CannedReply, FaqEntry, FollowUpTask, Revisit, Survey
from storage.models.viewings import Viewing, ViewingSlot

__all__ = [
    "AuditLog", "Base", "Broadcast", "Building", "CannedReply", "ChatWait", "Consultation", "Conversation",
    "Customer", "CustomerUnit", "DeadLetter",
    "District", "FaqEntry", "FollowUpTask", "Handoff", "Holiday", "InboundUpdate", "Listing", "ListingFeedback",
    "ListingPhoto", "ListingReport", "Message", "Need", "OutboxMessage", "OwnerLead", "Project", "Recommendation",
    "Reminder", "Revisit",
    "SavedListing", "SlaPolicy", "Staff", "StaffNotification", "StaffTimeOff", "Survey", "Ticket", "TicketAttachment",
    "TicketCounter", "TicketEvent", "Unit", "UTCDateTime", "Viewing", "ViewingSlot", "WarrantyPeriod",
    "Deal", "DealAttachment", "InspectionSlot", "Milestone", "MilestoneEvent", "MilestoneStep", "ProjectFee",
    "PRIORITY_AGENT", "PRIORITY_BOT", "PRIORITY_BROADCAST", "PRIORITY_REMINDER",
]
