"""Satisfaction surveys: one per ticket, viewing or human conversation; a low score opens a follow-up for a lead.

Stable API (other packages rely on these signatures):

    await create_survey(session, *, subject_type, subject_id, customer_id, staff_id=None, category=None)
        -> Survey | None
        One survey per subject ("ticket" | "viewing" | "conversation"), guaranteed by the unique constraint
        (subject_type, subject_id): a second call, even a concurrent one, returns None. Show it to the
        customer with `dialogs.flows.survey.survey_reply(lang, survey)`.
    await answer(session, survey_id, *, score, customer_id=None) -> AnswerResult
        Record the 1-5 score once (a second press changes nothing). Score 1-2 opens a FollowUpTask for a team
        lead. `customer_id`, when given, must be the survey's customer.
    await add_comment(session, survey_id, comment, *, customer_id=None) -> Survey
    await open_follow_up(session, *, customer_id, reason, survey_id=None, team=None, note=None) -> FollowUpTask
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import FollowUpTask, Staff, StaffNotification, Survey

SUBJECT_TYPES = ("ticket", "viewing", "conversation")
LOW_SCORE = 2  # this score or lower asks a lead to call the customer
MAX_COMMENT = 2000


class SurveyError(Exception):
    """The survey does not exist, belongs to someone else, or the score is out of range."""


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
    session: AsyncSession, survey_id: int, *, score: int, customer_id: int | None = None
) -> AnswerResult:
    if not 1 <= int(score) <= 5:
        raise SurveyError("the score must be between 1 and 5")
    survey = await _load(session, survey_id, customer_id)
    now = clock.now()
    # Conditional update: a double press or two devices answering at once record one score.
    result = await session.execute(
        update(Survey).where(Survey.id == survey.id, Survey.score.is_(None))
        .values(score=int(score), answered_at=now).execution_options(synchronize_session=False)
    )
    await session.refresh(survey)
    if result.rowcount != 1:
        return AnswerResult(survey, False, None)
    follow_up = None
    if survey.score is not None and survey.score <= LOW_SCORE:
        team = None
        if survey.staff_id is not None:
            team = await session.scalar(select(Staff.team).where(Staff.id == survey.staff_id))
        follow_up = await open_follow_up(
            session, customer_id=survey.customer_id, reason="low_score", survey_id=survey.id, team=team,
            note=f"{survey.subject_type} #{survey.subject_id} scored {survey.score}/5",
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
        (Staff.role == "admin",),
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
) -> FollowUpTask:
    """A task for a lead to contact the customer, with a console notification for that lead."""
    lead = await lead_for(session, team)
    task = FollowUpTask(survey_id=survey_id, customer_id=customer_id, assignee_id=lead.id if lead else None,
                        reason=reason, note=note, status="open", created_at=clock.now())
    session.add(task)
    await session.flush()
    if lead is not None:
        session.add(StaffNotification(staff_id=lead.id, text=f"Follow-up needed ({reason}): {note or ''}".strip(),
                                      link=f"/customers/{customer_id}", created_at=clock.now()))
        await session.flush()
    return task


async def close_follow_up(session: AsyncSession, task_id: int, note: str | None = None) -> FollowUpTask:
    task = await session.get(FollowUpTask, task_id)
    if task is None:
        raise SurveyError("no such follow-up task")
    task.status, task.done_at = "done", clock.now()
    if note:
        task.note = f"{task.note or ''}\n{note}".strip()
    await session.flush()
    return task
