"""The FAQ the bot answers from (dialogs.flows.faq): entries per language, written and retired by admins.

    check_entry(language=, question=, answer=, keywords=) -> FaqDraft      (CsvFormat-free validation, FaqError)
    await create_entry(work, draft) / update_entry(work, entry_id, draft) / set_retired(work, entry_id, retired)
    await active_entries(session, language)                                 what the bot may answer with

A retired entry is kept (it can be restored) but never answered with. One question is asked once per language:
the CSV import (storage.importers.faq) updates the entry with the same language and question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.models import FaqEntry
from storage.unit_of_work import Work
from storage.vocabulary import FAQ_LANGUAGES

QUESTION_LENGTH = 500
ANSWER_LENGTH = 4000
KEYWORD_LENGTH = 64
MAX_KEYWORDS = 30


class FaqError(Exception):
    """The entry cannot be saved; the message says why."""


@dataclass(frozen=True)
class FaqDraft:
    language: str
    question: str
    answer: str
    keywords: list[str]


def split_keywords(text: str) -> list[str]:
    """Keywords as staff type them: separated by ";" or commas (also the Chinese ones), duplicates dropped."""
    found: list[str] = []
    for part in text.replace("；", ";").replace("，", ";").replace(",", ";").replace("、", ";").split(";"):
        keyword = part.strip()
        if keyword and keyword not in found:
            found.append(keyword)
    return found


def check_entry(*, language: str, question: str, answer: str, keywords: Sequence[str]) -> FaqDraft:
    question, answer = question.strip(), answer.strip()
    if language not in FAQ_LANGUAGES:
        raise FaqError(f"unknown language {language}")
    if not question:
        raise FaqError("the question is empty")
    if not answer:
        raise FaqError("the answer is empty")
    if len(question) > QUESTION_LENGTH:
        raise FaqError(f"the question is longer than {QUESTION_LENGTH} characters")
    if len(answer) > ANSWER_LENGTH:
        raise FaqError(f"the answer is longer than {ANSWER_LENGTH} characters")
    if len(keywords) > MAX_KEYWORDS:
        raise FaqError(f"more than {MAX_KEYWORDS} keywords")
    for keyword in keywords:
        if len(keyword) > KEYWORD_LENGTH:
            raise FaqError(f"a keyword is longer than {KEYWORD_LENGTH} characters")
    return FaqDraft(language=language, question=question, answer=answer, keywords=list(keywords))


async def same_question(session: AsyncSession, language: str, question: str) -> FaqEntry | None:
    return await session.scalar(select(FaqEntry).where(FaqEntry.language == language,
                                                       func.lower(FaqEntry.question) == question.lower())
                                .order_by(FaqEntry.id).limit(1))


# Built once: the FAQ is looked up for every message the dialogs do not otherwise understand (issue 17).
_ACTIVE = (select(FaqEntry).where(FaqEntry.language == bindparam("faq_language"), FaqEntry.retired_at.is_(None))
           .order_by(FaqEntry.id))


async def active_entries(session: AsyncSession, language: str) -> list[FaqEntry]:
    return list((await session.scalars(_ACTIVE, {"faq_language": language})).all())


async def create_entry(work: Work, draft: FaqDraft) -> FaqEntry:
    if await same_question(work.session, draft.language, draft.question) is not None:
        raise FaqError("this question is already in the FAQ in this language")
    entry = FaqEntry(language=draft.language, question=draft.question, answer=draft.answer,
                     keywords=draft.keywords)
    work.session.add(entry)
    await work.session.flush()
    await work.audit("faq_create", target_type="faq", target_id=entry.id, details={"language": draft.language})
    return entry


async def update_entry(work: Work, entry_id: int, draft: FaqDraft) -> FaqEntry:
    entry = await work.session.get(FaqEntry, entry_id)
    if entry is None:
        raise FaqError("no such FAQ entry")
    other = await same_question(work.session, draft.language, draft.question)
    if other is not None and other.id != entry.id:
        raise FaqError("this question is already in the FAQ in this language")
    entry.language, entry.question, entry.answer, entry.keywords = (draft.language, draft.question, draft.answer,
                                                                    draft.keywords)
    await work.session.flush()
    await work.audit("faq_edit", target_type="faq", target_id=entry.id)
    return entry


async def set_retired(work: Work, entry_id: int, retired: bool) -> FaqEntry:
    """Retire an entry (the bot stops answering with it) or bring it back."""
    entry = await work.session.get(FaqEntry, entry_id)
    if entry is None:
        raise FaqError("no such FAQ entry")
    if retired and entry.retired_at is None:
        entry.retired_at = clock.now()
    elif not retired and entry.retired_at is not None:
        if await _active_twin(work.session, entry):
            raise FaqError("this question is already in the FAQ in this language")
        entry.retired_at = None
    await work.session.flush()
    await work.audit("faq_retire" if retired else "faq_restore", target_type="faq", target_id=entry.id)
    return entry


async def _active_twin(session: AsyncSession, entry: FaqEntry) -> bool:
    twin = await session.scalar(select(FaqEntry.id).where(
        FaqEntry.id != entry.id, FaqEntry.language == entry.language, FaqEntry.retired_at.is_(None),
        func.lower(FaqEntry.question) == entry.question.lower()).limit(1))
    return twin is not None
