"""The words people read for the names the system stores (`storage.vocabulary`): ticket statuses, categories,
priorities and deadlines. Message ids, translated where they are shown (`t(lang, STATUS_NAMES[...])`).

Flows, the reminder tick and anything else that names a ticket's state take the words from here.
"""

from __future__ import annotations

from dialogs.i18n import N_
from storage.vocabulary import TicketStatus

STATUS_NAMES: dict[str, str] = {
    TicketStatus.NEW: N_("new"), TicketStatus.ASSIGNED: N_("assigned"), TicketStatus.IN_PROGRESS: N_("in progress"),
    TicketStatus.WAITING_CUSTOMER: N_("waiting for you"), TicketStatus.RESOLVED: N_("resolved"),
    TicketStatus.CLOSED: N_("closed"), TicketStatus.CANCELLED: N_("cancelled"),
}
# Repair, complaint and suggestion categories (storage.vocabulary.CATEGORIES_BY_KIND).
CATEGORY_NAMES: dict[str, str] = {
    "plumbing": N_("Plumbing"), "electrical": N_("Electrical"), "waterproofing": N_("Waterproofing / leak"),
    "heating_cooling": N_("Heating / cooling"), "doors_windows": N_("Doors / windows"),
    "walls_decoration": N_("Walls / decoration"), "equipment": N_("Equipment"), "other": N_("Other"),
    "service_attitude": N_("Service attitude"), "product_quality": N_("Product quality"),
    "delayed_handover": N_("Delayed handover"), "property_management": N_("Property management"),
    "contract_sales": N_("Contract / sales"),
    # The design-life warranty (foundations and main structure) and the suggestions' topics.
    "structure": N_("Structure (foundations, walls, cracks)"),
    "service": N_("Our service"), "homes": N_("Homes and design"), "community": N_("Community and facilities"),
    "online": N_("This chat and our website"),
}
PRIORITY_NAMES: dict[str, str] = {"emergency": N_("emergency"), "normal": N_("normal"), "low": N_("low")}
# The two SLA deadlines of a ticket.
DEADLINE_NAMES: dict[str, str] = {"first_response": N_("first response"), "resolution": N_("resolution")}

# How finished a listing is (storage.vocabulary.DECORATIONS).
DECORATION_NAMES: dict[str, str] = {"fine": N_("Fine decoration"), "basic": N_("Basic decoration"),
                                    "bare": N_("Bare shell")}

# Deals (storage.services.deals, .milestones): payment methods, tracks, their steps, the loan's documents.
PAYMENT_METHOD_NAMES: dict[str, str] = {
    "full": N_("full payment"), "mortgage": N_("commercial mortgage"), "provident_fund": N_("provident-fund loan"),
    "combined": N_("combined loan"),
}
TRACK_NAMES: dict[str, str] = {
    "loan": N_("Loan"), "move_in": N_("Move-in"), "settlement": N_("Area settlement"),
    "certificate": N_("Property certificate"),
}
MILESTONE_STATUS_NAMES: dict[str, str] = {
    "pending": N_("not started"), "documents_requested": N_("documents requested"),
    "documents_received": N_("documents received"), "submitted": N_("submitted to the bank"),
    "approved": N_("approved"), "rejected": N_("rejected"), "disbursed": N_("disbursed"), "closed": N_("closed"),
    "notice_sent": N_("move-in notice sent"), "slot_booked": N_("inspection booked"),
    "inspected": N_("inspected"), "handed_over": N_("handed over"), "computed": N_("computed"),
    "notified": N_("owner notified"), "settled": N_("settled"), "documents_collected": N_("documents collected"),
    "filed": N_("filed"), "issued": N_("issued"), "ready_for_pickup": N_("ready for pick-up"),
    "signed_for": N_("signed for"),
}
DOCUMENT_NAMES: dict[str, str] = {
    "id_card": N_("ID card"), "marriage_certificate": N_("marriage certificate or single status"),
    "income_proof": N_("proof of income"), "bank_statement": N_("bank statement (6 months)"),
    "fund_statement": N_("provident-fund statement"),
}
