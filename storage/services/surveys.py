"""Satisfaction surveys: one per ticket, viewing or human conversation; a low score opens a follow-up for a lead.

Stable API (other packages rely on these signatures):

    await create_survey(session, *, subject_type, subject_id, customer_id, staff_id=None, category=None)
        -> Survey | None
        One survey per subject ("ticket" | "viewing" | "conversation"), guaranteed by the unique constraint
        (subject_type, subject_id): a second call, even a concurrent one, returns None. Show it to the
        customer with `dialogs.flows.survey.survey_reply(lang, survey)`.
    await answer(session, survey_id, *, score, customer_id=None, notify=None) -> AnswerResult
        Record the 1-5 score once (a second press changes nothing). Score 1-2 opens a FollowUpTask for a team
        lead. `customer_id`, when given, must be the survey's customer.
    await add_comment(session, survey_id, comment, *, customer_id=None) -> Survey
    await open_follow_up(session, *, customer_id, reason, survey_id=None, team=None, note=None, notify=None)
        -> FollowUpTask
    await close_follow_up(work, task_id, note=None) -> FollowUpTask     (by the acting staff member, audited)

`notify` is how the lead hears of a new follow-up: `storage.services.notices.notify_staff` bound to the caller's
unit of work (`functools.partial(notify_staff, work)`), which renders the notice in the lead's language for the
console and their Telegram chat. Without it the task is only listed on the console's follow-ups page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.db import rows_changed
from storage.models import Customer, FollowUpTask, Staff, Survey
from storage.unit_of_work import Work
from storage.vocabulary import StaffRole

SUBJECT_TYPES = ("ticket", "viewing", "conversation")
LOW_SCORE = 2  # this score or lower asks a lead to call the customer
MAX_COMMENT = 2000


# Why a follow-up was opened; dialogs.notices words each reason for staff.
FOLLOW_UP_REASONS = ("low_score", "revisit_help", "loan_rejected")  # loan_rejected: storage.services.milestones


class StaffNotifier(Protocol):
    """Tells staff members one kind of notice: `notify_staff` bound to a unit of work."""

    def __call__(self, recipients: Iterable[int], kind: str, *, link: str | None = None,
                 **params: Any) -> Awaitable[object]: ...


class SurveyError(Exception):
    """The survey does not exist, belongs to someone else, or the score is out of range."""


class NotYourFollowUp(SurveyError):
    """Only a follow-up's assignee, a team lead or an admin closes it."""


@dataclass(frozen=True)
class AnswerResult:
    survey: Survey
    recorded: bool  # False when the survey had already been answered
    follow_up: FollowUpTask | None


async def create_survey(
    session: AsyncSession,
    *,
    subject_type: str,
    subject_id: int,
    customer_id: int,
    staff_id: int | None = None,
    category: str | None = None,
) -> Survey | None:
    if subject_type not in SUBJECT_TYPES:
        raise ValueError(f"unknown survey subject {subject_type!r}")
    exists = await session.scalar(
        select(Survey.id).where(Survey.subject_type == subject_type, Survey.subject_id == subject_id)
    )
    if exists is not None:
        return None
    survey = Survey(subject_type=subject_type, subject_id=subject_id, customer_id=customer_id, staff_id=staff_id,
                    category=category, sent_at=clock.now())
    try:
        async with session.begin_nested():  # a concurrent creator loses on the unique constraint
            session.add(survey)
    except IntegrityError:
        return None
    return survey


async def _load(session: AsyncSession, survey_id: int, customer_id: int | None) -> Survey:
    survey = await session.get(Survey, survey_id)
    if survey is None or (customer_id is not None and survey.customer_id != customer_id):
        raise SurveyError("no such survey")
    return survey


async def answer(
    session: AsyncSession, survey_id: int, *, score: int, customer_id: int | None = None,
    notify: StaffNotifier | None = None,
) -> AnswerResult:
    if not 1 <= int(score) <= 5:
        raise SurveyError("the score must be between 1 and 5")
    survey = await _load(session, survey_id, customer_id)
    now = clock.now()
    # Conditional update: a double press or two devices answering at once record one score.
    changed = await rows_changed(
        session, update(Survey).where(Survey.id == survey.id, Survey.score.is_(None))
        .values(score=int(score), answered_at=now).execution_options(synchronize_session=False)
    )
    await session.refresh(survey)
    if changed != 1:
        return AnswerResult(survey, False, None)
    follow_up = None
    if survey.score is not None and survey.score <= LOW_SCORE:
        team = None
        if survey.staff_id is not None:
            team = await session.scalar(select(Staff.team).where(Staff.id == survey.staff_id))
        follow_up = await open_follow_up(
            session, customer_id=survey.customer_id, reason="low_score", survey_id=survey.id, team=team,
            note=f"{survey.subject_type} #{survey.subject_id} scored {survey.score}/5", notify=notify,
        )
    return AnswerResult(survey, True, follow_up)


async def add_comment(session: AsyncSession, survey_id: int, comment: str, *, customer_id: int | None = None) -> Survey:
    survey = await _load(session, survey_id, customer_id)
    text = comment.strip()[:MAX_COMMENT]
    survey.comment = f"{survey.comment}\n{text}" if survey.comment else text
    task = await session.scalar(select(FollowUpTask).where(FollowUpTask.survey_id == survey.id))
    if task is not None:
        task.note = f"{task.note or ''}\n{text}".strip()
    await session.flush()
    return survey


async def lead_for(session: AsyncSession, team: str | None) -> Staff | None:
    """The team's lead with the fewest open follow-ups; any lead, then any admin, when the team has none."""
    open_tasks = (
        select(func.count()).select_from(FollowUpTask)
        .where(FollowUpTask.assignee_id == Staff.id, FollowUpTask.status == "open").scalar_subquery()
    )
    candidates = [
        (Staff.is_team_lead.is_(True), Staff.team == team) if team else None,
        (Staff.is_team_lead.is_(True),),
        (Staff.role == StaffRole.ADMIN,),
    ]
    for conditions in candidates:
        if conditions is None:
            continue
        lead = await session.scalar(
            select(Staff).where(Staff.is_active.is_(True), *conditions).order_by(open_tasks, Staff.id).limit(1)
        )
        if lead is not None:
            return lead
    return None


async def open_follow_up(
    session: AsyncSession,
    *,
    customer_id: int,
    reason: str,
    survey_id: int | None = None,
    team: str | None = None,
    note: str | None = None,
    notify: StaffNotifier | None = None,
) -> FollowUpTask:
    """A task for a lead to contact the customer; the lead is told through `notify`."""
    if reason not in FOLLOW_UP_REASONS:
        raise ValueError(f"unknown follow-up reason {reason!r}")
    lead = await lead_for(session, team)
    task = FollowUpTask(survey_id=survey_id, customer_id=customer_id, assignee_id=lead.id if lead else None,
                        reason=reason, note=note, status="open", created_at=clock.now())
    session.add(task)
    await session.flush()
    if lead is not None and notify is not None:
        customer = await session.get(Customer, customer_id)
        await notify([lead.id], "follow_up", link=f"/customers/{customer_id}", reason=reason,
                     customer=customer.display_name if customer else f"#{customer_id}")
    return task


async def close_follow_up(work: Work, task_id: int, note: str | None = None) -> FollowUpTask:
    """The acting staff member marks a follow-up done: its assignee, a team lead or an admin (open tasks with no
    assignee are anyone's)."""
    task = await work.session.get(FollowUpTask, task_id)
    if task is None:
        raise SurveyError("no such follow-up task")
    staff_id = work.actor.staff_id
    me = await work.session.get(Staff, staff_id) if staff_id is not None else None
    if me is None or (task.assignee_id not in (None, me.id) and me.role != StaffRole.ADMIN and not me.is_team_lead):
        raise NotYourFollowUp("This follow-up belongs to someone else.")
    task.status, task.done_at = "done", clock.now()
    if note:
        task.note = f"{task.note or ''}\n{note}".strip()
    await work.session.flush()
    await work.audit("follow_up_done", target_type="follow_up", target_id=task.id)
    return task
