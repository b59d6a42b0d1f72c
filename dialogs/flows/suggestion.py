"""Make a suggestion: a light flow beside repairs and complaints. A topic, then the idea in the customer's words,
and it is filed at once as a suggestion ticket (S-2026-000001) for customer relations, who answer it here. No
home, no warranty, no photos and no queue: nothing is wrong, so nobody needs to be fetched.
"""

from __future__ import annotations

from dialogs.flow import DialogContext, Flow
from dialogs.flows.describe import MAX_DESCRIPTION, PickCategory, cancel_choice
from dialogs.i18n import N_
from dialogs.inbound import Inbound
from dialogs.names import CATEGORY_NAMES
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import button_data
from storage.events import ticket_changed
from storage.services import tickets
from storage.vocabulary import SUGGESTION_CATEGORIES, TicketKind

NAME = "suggestion"
TOPIC, IDEA = "topic", "idea"


class SuggestionFlow(Flow):
    name = NAME
    menu_label = N_("Make a suggestion")
    commands = ("suggest", "suggestion")
    intent_words = ("suggestion", "make a suggestion", "提建议", "意见反馈")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        ctx.goto(NAME, TOPIC)
        rows = [[Choice(ctx.t(CATEGORY_NAMES[c]), button_data(NAME, PickCategory(c)))] for c in SUGGESTION_CATEGORIES]
        return [Say(ctx.t("Thank you for helping us improve. What is your suggestion about?"),
                    choices=[*rows, [cancel_choice(ctx)]])]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        picked = PickCategory.decode(token)
        if picked is None or picked.category not in SUGGESTION_CATEGORIES or self._step(ctx) != TOPIC:
            return None
        ctx.goto(NAME, IDEA, category=picked.category)
        return [Say(ctx.t("Please write your suggestion in a few sentences."), choices=[[cancel_choice(ctx)]],
                    edit=True)]

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        text = event.text.strip()
        if self._step(ctx) != IDEA or event.kind not in ("text", "photo") or not text:
            return None
        ticket = await tickets.create_ticket(
            ctx.session, kind=TicketKind.SUGGESTION, category=str(ctx.slots.get("category")),
            customer_id=ctx.customer.id, description=text[:MAX_DESCRIPTION], conversation_id=ctx.conversation.id,
            settings=ctx.settings)
        ctx.work.publish(ticket_changed(ticket, created=True))
        ctx.clear()
        return [Say(ctx.t("Thank you! Your suggestion is registered. Number: {number}. Our customer relations team "
                          "reads every suggestion and will answer you here.", number=ticket.number),
                    choices=[[Choice(ctx.t("My requests"), "tickets:start")],
                             [Choice(ctx.t("Main menu"), "menu:main")]], receipt=True)]

    def _step(self, ctx: DialogContext) -> str | None:
        return ctx.conversation.step if ctx.conversation.flow == NAME else None
