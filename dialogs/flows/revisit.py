"""Revisit answers: "All good" thanks the customer; "I need help" opens a follow-up for a lead and offers a repair
request or a person."""

from __future__ import annotations

from functools import partial

from dialogs.flow import DialogContext, Flow
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say
from storage.services import revisits
from storage.services.notices import notify_staff

NAME = "revisit"


class RevisitFlow(Flow):
    name = NAME
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return []

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        action, _, value = token.partition(":")
        if action not in ("good", "help") or not value.isdigit():
            return None
        try:
            await revisits.answer(ctx.session, int(value), "all_good" if action == "good" else "need_help",
                                  customer_id=ctx.customer.id, notify=partial(notify_staff, ctx.work))
        except revisits.RevisitError:
            return None
        if action == "good":
            return [Say(ctx.t("Glad to hear it! We are here whenever you need us."), edit=True)]
        return [Say(ctx.t("Sorry to hear that. A team lead will contact you. You can also report a repair now or "
                          "talk to a person."),
                    choices=[[Choice(ctx.t("Report a repair"), "repair:start")],
                             [Choice(ctx.t("Talk to a person"), "handoff:start")]], edit=True)]

