"""Every flow the engine knows, in one ordered table.

The order of FLOWS is the main menu's order (flows without a menu label can sit anywhere); FALLBACKS are tried in
their order on free text that no flow or intent claimed; DEEP_LINKS answer `/start <prefix>...`. Adding a flow
means adding it here: nothing registers itself on import.
"""

from __future__ import annotations

from dialogs.flow import DeepLinkHandler, FallbackHandler, Flow, Registry
from dialogs.flows.booking import BookingFlow
from dialogs.flows.complaint import ComplaintFlow
from dialogs.flows.deals import DealsFlow, document_photo_fallback
from dialogs.flows.faq import faq_fallback
from dialogs.flows.handoff import HandoffFlow, link_staff_chat
from dialogs.flows.needs import NeedsFlow, sentence_fallback
from dialogs.flows.owners import OwnerFlow
from dialogs.flows.recommend import RecommendFlow
from dialogs.flows.repair import RepairFlow
from dialogs.flows.revisit import RevisitFlow
from dialogs.flows.start import MenuFlow
from dialogs.flows.suggestion import SuggestionFlow
from dialogs.flows.survey import SurveyFlow
from dialogs.flows.tickets import TicketsFlow
from dialogs.flows.viewings import ViewingsFlow
from storage.services.staff_link import DEEP_LINK_PREFIX

FLOWS: tuple[Flow, ...] = (
    MenuFlow(),
    NeedsFlow(),
    RecommendFlow(),
    OwnerFlow(),
    BookingFlow(),
    ViewingsFlow(),
    RepairFlow(),
    ComplaintFlow(),
    SuggestionFlow(),
    TicketsFlow(),
    DealsFlow(),
    SurveyFlow(),
    RevisitFlow(),
    HandoffFlow(),
)
FALLBACKS: tuple[FallbackHandler, ...] = (
    sentence_fallback,  # "2br in Wangjing under 12k" starts the needs intake...
    faq_fallback,  # ...before the FAQ tries to answer it as a question
    document_photo_fallback,  # a photo from an owner asked for documents: which document it is
)
DEEP_LINKS: dict[str, DeepLinkHandler] = {
    DEEP_LINK_PREFIX: link_staff_chat,  # staff linking their Telegram chat from the console
}
REGISTRY = Registry(FLOWS, FALLBACKS, DEEP_LINKS)
