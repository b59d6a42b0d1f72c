"""Revisit answers: "All good" thanks the customer; "I need help" opens a follow-up for a lead and offers a repair
request or a person. The reminder tick asks the question with `answer_choices`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from dialogs.flow import DialogContext, Flow
from dialogs.i18n import t
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data
from storage.services import revisits
from storage.services.notices import notify_staff

NAME = "revisit"


class RevisitAnswer(StrEnum):
    ALL_GOOD = "good"
    NEED_HELP = "help"


@dataclass(frozen=True)
class AnswerRevisit(Token):
    prefix = ""
    answer: RevisitAnswer
    revisit_id: int


# What each button records on the revisit (storage.services.revisits).
RECORDED = {RevisitAnswer.ALL_GOOD: "all_good", RevisitAnswer.NEED_HELP: "need_help"}


def answer_choices(lang: str, revisit_id: int) -> list[list[Choice]]:
    return [[Choice(t(lang, "All good"), button_data(NAME, AnswerRevisit(RevisitAnswer.ALL_GOOD, revisit_id))),
             Choice(t(lang, "I need help"), button_data(NAME, AnswerRevisit(RevisitAnswer.NEED_HELP, revisit_id)))]]


class RevisitFlow(Flow):
    name = NAME
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return []

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        pressed = AnswerRevisit.decode(token)
        if pressed is None:
            return None
        try:
            await revisits.answer(ctx.session, pressed.revisit_id, RECORDED[pressed.answer],
                                  customer_id=ctx.customer.id, notify=partial(notify_staff, ctx.work))
        except revisits.RevisitError:
            return None
        if pressed.answer is RevisitAnswer.ALL_GOOD:
            return [Say(ctx.t("Glad to hear it! We are here whenever you need us."), edit=True)]
        return [Say(ctx.t("Sorry to hear that. A team lead will contact you. You can also report a repair now or "
                          "talk to a person."),
                    choices=[[Choice(ctx.t("Report a repair"), "repair:start")],
                             [Choice(ctx.t("Talk to a person"), "handoff:start")]], edit=True)]
