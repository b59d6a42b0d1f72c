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
