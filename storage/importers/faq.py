"""FAQ entries: `language,question,answer,keywords,retired`, keyed by (language, question).

Keywords are separated by ";"; `retired` is yes/no (empty: no). Importing an export changes nothing: cells the
export protected against spreadsheet formulas (a leading "'" before "=", "+", "-", "@") are read back as written.
Importing again updates the entry with the same language and question (letters compared case-insensitively).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import clock
from storage.csv_export import FORMULA_STARTS
from storage.importers.common import (
    CsvSource,
    ImportReport,
    Row,
    RowError,
    bool_cell,
    enum_cell,
    last_wins,
    read_rows,
    split_list,
    validate_rows,
)
from storage.models import FaqEntry
from storage.services.faq import FaqDraft, FaqError, check_entry
from storage.vocabulary import FAQ_LANGUAGES

FAQ_COLUMNS = ("language", "question", "answer", "keywords", "retired")
_REQUIRED = ("language", "question", "answer")


@dataclass(frozen=True)
class FaqRow:
    draft: FaqDraft
    retired: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.draft.language, self.draft.question.lower()


def _unprotected(value: str) -> str:
    """A cell as written before the export protected it (storage.csv_export.safe_cell)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def parse_faq(row: Row) -> FaqRow:
    language = enum_cell(row, "language", FAQ_LANGUAGES)
    try:
        draft = check_entry(language=language, question=_unprotected(row.get("question")),
                            answer=_unprotected(row.get("answer")),
                            keywords=split_list(_unprotected(row.get("keywords"))))
    except FaqError as exc:
        raise RowError(str(exc)) from None
    return FaqRow(draft, bool(bool_cell(row, "retired")))


async def import_faq(session: AsyncSession, source: CsvSource) -> ImportReport:
    """Check every row, then write the good ones in this session's transaction (the FAQ is small)."""
    report = ImportReport()
    rows = read_rows(source, FAQ_COLUMNS, _REQUIRED, report)
    good = last_wins(validate_rows(rows, parse_faq, report), lambda parsed: parsed.key, report)
    existing: dict[tuple[str, str], FaqEntry] = {}
    for stored in (await session.scalars(select(FaqEntry).order_by(FaqEntry.id.desc()))).all():
        existing[(stored.language, stored.question.lower())] = stored  # the oldest wins a (legacy) duplicate
    now = clock.now()
    for _, parsed in good:
        draft = parsed.draft
        entry = existing.get(parsed.key)
        if entry is None:
            session.add(FaqEntry(language=draft.language, question=draft.question, answer=draft.answer,
                                 keywords=draft.keywords, retired_at=now if parsed.retired else None))
            report.inserted += 1
            continue
        was = (entry.question, entry.answer, list(entry.keywords or []), entry.retired_at is not None)
        if was == (draft.question, draft.answer, draft.keywords, parsed.retired):
            report.unchanged += 1
            continue
        entry.question, entry.answer, entry.keywords = draft.question, draft.answer, draft.keywords
        if parsed.retired != (entry.retired_at is not None):
            entry.retired_at = now if parsed.retired else None
        report.updated += 1
    await session.flush()
    return report


async def export_rows(session: AsyncSession) -> list[list[str]]:
    """Every entry (retired ones too) as rows of FAQ_COLUMNS; written with storage.csv_export.csv_text they are a
    file `import_faq` reads back unchanged."""
    entries = (await session.scalars(select(FaqEntry).order_by(FaqEntry.language, FaqEntry.id))).all()
    return [[entry.language, entry.question, entry.answer, ";".join(entry.keywords or []),
             "yes" if entry.retired_at is not None else "no"] for entry in entries]
