"""Make a complaint: category, description, optional photos; routed to the responsible team, and the conversation
goes to the human queue (dialogs.flows.handoff.queue_and_tell with reason "complaint").

Customers who are not verified owners can complain too; their ticket is flagged for staff to verify.
"""

from __future__ import annotations

from dialogs.flow import DialogContext, Flow
from dialogs.flows.handoff import queue_and_tell
from dialogs.i18n import N_
from dialogs.inbound import Inbound
from dialogs.reminders import CATEGORY_NAMES
from dialogs.replies import Choice, Reply, Say
from storage.models import COMPLAINT_CATEGORIES
from storage.services import owners, tickets

NAME = "complaint"
MAX_PHOTOS = 10


class ComplaintFlow(Flow):
    name = NAME
    menu_label = N_("Make a complaint")
    commands = ("complaint",)
    intent_words = ("complaint", "complain", "投诉", "不满意")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        ctx.goto(NAME, "category", photos=[])
        rows = [[self.choice(ctx.t(CATEGORY_NAMES[c]), f"cat:{c}")] for c in COMPLAINT_CATEGORIES]
        return [Say(ctx.t("I am sorry something went wrong. What is your complaint about?"),
                    choices=[*rows, [Choice(ctx.t("Cancel"), "menu:main")]])]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        kind, _, value = token.partition(":")
        step = ctx.conversation.step if ctx.conversation.flow == NAME else None
        if kind == "cat" and step == "category" and value in COMPLAINT_CATEGORIES:
            ctx.goto(NAME, "describe", category=value)
            return [Say(ctx.t("Please tell us what happened. Names, dates and places help us act quickly."),
                        edit=True)]
        if kind == "photos" and step == "photos":
            return await self._file(ctx)
        return None

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        step = ctx.conversation.step
        if step == "describe" and event.kind in ("text", "photo"):
            text = event.text.strip()
            photos = list(event.photo_file_ids[-1:]) if event.kind == "photo" else []
            if not text and not photos:
                return None
            ctx.goto(NAME, "photos", description=text[:4000], photos=photos)
            return [self._photos_prompt(ctx, len(photos))]
        if step == "photos" and event.kind == "photo":
            photos = [*ctx.slots.get("photos", []), *event.photo_file_ids[-1:]][:MAX_PHOTOS]
            ctx.set_slots(photos=photos)
            return [self._photos_prompt(ctx, len(photos))]
        if step == "photos" and event.kind == "text" and event.text.strip():
            ctx.set_slots(description=f"{ctx.slots.get('description', '')}\n{event.text.strip()}".strip()[:4000])
            return [self._photos_prompt(ctx, len(ctx.slots.get("photos", [])))]
        return None

    def _photos_prompt(self, ctx: DialogContext, count: int) -> Say:
        text = (ctx.t("Got {count} photo(s). Send more, or press Send complaint.", count=count) if count
                else ctx.t("You may add photos, or press Send complaint."))
        return Say(text, choices=[[self.choice(ctx.t("Send complaint"), "photos:done")]])

    async def _file(self, ctx: DialogContext) -> list[Reply]:
        slots = ctx.slots
        units = await owners.owned_units(ctx.session, ctx.customer.id)
        ticket = await tickets.create_ticket(
            ctx.session, kind="complaint", category=str(slots.get("category")), customer_id=ctx.customer.id,
            description=str(slots.get("description", "")), unit_id=units[0].unit.id if len(units) == 1 else None,
            conversation_id=ctx.conversation.id, photo_file_ids=list(slots.get("photos", [])),
            needs_verification=not units,
            settings=ctx.settings,
        )
        ctx.events.append(tickets.changed_event(ticket, created=True))
        filed = Say(ctx.t("Your complaint is registered. Number: {number}. It goes to the responsible team, and a "
                          "person will talk to you here.", number=ticket.number))
        return [filed, *await queue_and_tell(ctx, "complaint")]

