"""Make a complaint: category, description, optional photos; routed to the responsible team, and the conversation
goes to the human queue (dialogs.flows.handoff.queue_and_tell with reason "complaint").

Customers who are not verified owners can complain too; their ticket is flagged for staff to verify.
"""

from __future__ import annotations

from dialogs.flow import DialogContext, Flow
from dialogs.flows import describe
from dialogs.flows.describe import CATEGORY, DescribeStep
from dialogs.flows.handoff import queue_and_tell
from dialogs.i18n import N_
from dialogs.inbound import Inbound
from dialogs.receipts import ticket_filed_text
from dialogs.replies import Reply, Say
from storage.events import ticket_changed
from storage.services import owners, tickets
from storage.vocabulary import COMPLAINT_CATEGORIES, TicketKind

NAME = "complaint"
DESCRIBE_STEP = DescribeStep(
    NAME, COMPLAINT_CATEGORIES,
    question=N_("Please tell us what happened. Names, dates and places help us act quickly."),
    with_one_photo=N_("Got 1 photo. Send more, or press Send complaint."),
    with_photos=N_("Got {count} photos. Send more, or press Send complaint."),
    without_photos=N_("You may add photos, or press Send complaint."), done=N_("Send complaint"))


class ComplaintFlow(Flow):
    name = NAME
    menu_label = N_("Make a complaint")
    commands = ("complaint",)
    intent_words = ("complaint", "complain", "投诉", "不满意")

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        ctx.goto(NAME, CATEGORY, photos=[])
        return [Say(ctx.t("I am sorry something went wrong. What is your complaint about?"),
                    choices=[*DESCRIBE_STEP.category_rows(ctx), [describe.cancel_choice(ctx)]])]

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        if DESCRIBE_STEP.finished(ctx, token):
            return await self._file(ctx)
        return await DESCRIBE_STEP.on_choice(ctx, token)

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        return await DESCRIBE_STEP.on_input(ctx, event)

    async def _file(self, ctx: DialogContext) -> list[Reply]:
        slots = ctx.slots
        unit_id, unverified = await owners.complaint_home(ctx.session, ctx.customer.id)
        ticket = await tickets.create_ticket(
            ctx.session, kind=TicketKind.COMPLAINT, category=str(slots.get("category")), customer_id=ctx.customer.id,
            description=describe.description(ctx), unit_id=unit_id,
            conversation_id=ctx.conversation.id, photo_file_ids=describe.photos(ctx),
            needs_verification=unverified,
            settings=ctx.settings,
        )
        ctx.work.publish(ticket_changed(ticket, created=True))
        filed = Say(ticket_filed_text(ctx.lang, kind=ticket.kind, number=ticket.number), receipt=True)
        return [filed, *await queue_and_tell(ctx, "complaint")]

