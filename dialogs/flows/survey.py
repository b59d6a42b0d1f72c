"""Satisfaction surveys after a ticket or a viewing: 1-5 buttons, then an optional comment.

Other flows and the reminder tick call `survey_reply(lang, survey)` after
`storage.services.surveys.create_survey(...)`. A score of 1-2 opens a follow-up task for a team lead
(in storage.services.surveys). The buttons keep working while a person owns the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated

from dialogs.flow import DialogContext, Flow
from dialogs.i18n import t
from dialogs.inbound import Inbound
from dialogs.replies import Choice, Reply, Say
from dialogs.tokens import Token, button_data, decode, number
from storage.models import Survey
from storage.services import surveys
from storage.services.notices import notify_staff
from storage.vocabulary import ConversationMode

NAME = "survey"
LOWEST, HIGHEST = 1, 5


@dataclass(frozen=True)
class Rate(Token):
    prefix = "r"
    survey_id: int
    score: Annotated[int, number(LOWEST, HIGHEST)]


@dataclass(frozen=True)
class SkipComment(Token):
    prefix = "skip"
    survey_id: int


def survey_reply(lang: str, survey: Survey, subject: str = "") -> Say:
    """The question with five buttons; `subject` (a ticket number...) is shown when given."""
    return survey_question(lang, subject_type=survey.subject_type, subject_id=survey.subject_id,
                           survey_id=survey.id, subject=subject)


def survey_question(lang: str, *, subject_type: str, subject_id: int, survey_id: int, subject: str = "") -> Say:
    """The same question from plain values, for callers that hold no Survey row (`dialogs.notices`)."""
    if subject_type == "ticket":
        text = t(lang, "Your request {subject} is closed. How satisfied are you with how we handled it? "
                       "1 = very unsatisfied, 5 = very satisfied.", subject=subject or f"#{subject_id}")
    elif subject_type == "viewing":
        text = t(lang, "How was your viewing? 1 = very unsatisfied, 5 = very satisfied.")
    else:
        text = t(lang, "How satisfied are you with the help you got? 1 = very unsatisfied, 5 = very satisfied.")
    return Say(text, choices=[[Choice(str(score), button_data(NAME, Rate(survey_id, score)))
                               for score in range(LOWEST, HIGHEST + 1)]])


class SurveyFlow(Flow):
    name = NAME
    works_while_human = True

    async def start(self, ctx: DialogContext, event: Inbound) -> list[Reply]:
        return []

    async def on_choice(self, ctx: DialogContext, token: str, event: Inbound) -> list[Reply] | None:
        match decode(token, Rate, SkipComment):
            case Rate(survey_id, score):
                return await self._rate(ctx, survey_id, score)
            case SkipComment():
                if ctx.conversation.flow == NAME:
                    ctx.clear()
                return [Say(ctx.t("Thank you for your feedback!"), edit=True)]
        return None

    async def _rate(self, ctx: DialogContext, survey_id: int, score: int) -> list[Reply] | None:
        try:
            result = await surveys.answer(ctx.session, survey_id, score=score, customer_id=ctx.customer.id,
                                          notify=partial(notify_staff, ctx.work))
        except surveys.SurveyError:
            return None
        if not result.recorded:
            return [Say(ctx.t("You have already answered this survey. Thank you!"), edit=True)]
        if ctx.conversation.mode != ConversationMode.BOT:
            return [Say(ctx.t("Thank you for your feedback!"), edit=True)]
        ctx.goto(NAME, "comment", survey_id=survey_id)
        if result.follow_up is not None:
            text = ctx.t("We are sorry we let you down. A team lead will contact you. "
                         "What went wrong? Write it here, or skip.")
        else:
            text = ctx.t("Thank you! You rated us {score} of 5. Anything you would like to add? "
                         "Write it here, or skip.", score=score)
        return [Say(text, choices=[[self.button(ctx.t("Skip"), SkipComment(survey_id))]], edit=True)]

    async def on_input(self, ctx: DialogContext, event: Inbound) -> list[Reply] | None:
        if ctx.conversation.step != "comment" or event.kind != "text" or not event.text.strip():
            return None
        survey_id = ctx.slots.get("survey_id")
        if not isinstance(survey_id, int):
            return None
        try:
            await surveys.add_comment(ctx.session, survey_id, event.text, customer_id=ctx.customer.id)
        except surveys.SurveyError:
            return None
        ctx.clear()
        return [Say(ctx.t("Thank you for your feedback!"))]

