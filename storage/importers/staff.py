"""Staff, technicians above all: `email,name,role,team,areas,skills,level,hours,language`, keyed by email.

`email` and `name` are required; `role` is admin, agent or service (service when empty); `areas` (projects or
districts) and `skills` (ticket categories) are lists separated by `;`; `level` is 1-5; `hours` is a week like
`mon-fri 09:00-18:00; sat 10:00-16:00` (storage.services.staff_profiles.parse_hours_option, where `;` separates
days, so separate several ranges of one day with `,`: `mon-fri 09:00-12:00, 13:00-18:00`); `language` en or zh.

A new email becomes a new staff member with a generated first password (returned, for whoever imports to pass
on; the console can reset it). For an email that exists, the row's non-empty cells replace what is stored and
empty cells leave it as it is. An area no project or district is called yet is a warning, not a rejection.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.importers.common import (
    BATCH_SIZE,
    CsvSource,
    ImportReport,
    ProgressCallback,
    Row,
    RowError,
    enum_cell,
    last_wins,
    read_rows,
    required,
    run_batches,
    text_cell,
    validate_rows,
)
from storage.services import staff_accounts, staff_profiles
from storage.services.staff_accounts import StaffAccountError
from storage.vocabulary import STAFF_ROLES

STAFF_COLUMNS = ("email", "name", "role", "team", "areas", "skills", "level", "hours", "language")
_REQUIRED = ("email", "name")
LANGUAGES = ("en", "zh")


@dataclass
class StaffRow:
    email: str
    name: str
    role: str
    # Only the fields the row gives (non-empty cells), checked.
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class StaffImport:
    report: ImportReport
    passwords: list[tuple[str, str]]  # (email, first password) of each staff member created


def parse_staff(row: Row) -> StaffRow:
    email = staff_accounts.normalise_email(required(row, "email", 254))
    if not staff_accounts.is_email(email):
        raise RowError(f"email {email} is not an email address")
    role = enum_cell(row, "role", STAFF_ROLES, default="")  # empty: service when new, unchanged otherwise
    fields: dict[str, Any] = {}
    try:
        if row.get("team"):
            fields["team"] = text_cell(row, "team", 64)
        if row.get("areas"):
            fields["service_areas"] = staff_profiles.check_areas(row.get("areas"))
        if row.get("skills"):
            fields["skills"] = staff_profiles.check_skills(row.get("skills"))
        if row.get("level"):
            fields["level"] = staff_profiles.check_level(row.get("level"))
        if row.get("hours"):
            fields["working_hours"] = staff_profiles.parse_hours_option(row.get("hours"))
    except StaffAccountError as exc:
        raise RowError(str(exc)) from None
    if row.get("language"):
        fields["language"] = enum_cell(row, "language", LANGUAGES)
    return StaffRow(email=email, name=required(row, "name", 128), role=role, fields=fields)


async def import_staff(
    factory: async_sessionmaker[AsyncSession],
    source: CsvSource,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
    *,
    default_language: str = "en",
) -> StaffImport:
    report = ImportReport()
    rows = read_rows(source, STAFF_COLUMNS, _REQUIRED, report)
    good = last_wins(validate_rows(rows, parse_staff, report), lambda parsed: parsed.email, report)
    passwords: list[tuple[str, str]] = []

    async def handle(session: AsyncSession, batch: Sequence[tuple[Row, StaffRow]]) -> None:
        for row, parsed in batch:
            unknown = await staff_profiles.unknown_areas(session, parsed.fields.get("service_areas", []))
            if unknown:
                report.warnings.append((row.line, f"no project or district is called {', '.join(unknown)} yet"))
            person = await staff_accounts.by_email(session, parsed.email)
            if person is None:
                password = secrets.token_urlsafe(12)
                hashed = await asyncio.to_thread(staff_accounts.hash_password, password)
                await staff_accounts.create_staff(session, parsed.email, parsed.name, parsed.role or "service",
                                                  password, password_hash=hashed,
                                                  **{"language": default_language, **parsed.fields})
                passwords.append((parsed.email, password))
                report.inserted += 1
                continue
            values = {"name": parsed.name, **({"role": parsed.role} if parsed.role else {}), **parsed.fields}
            if all(getattr(person, name) == value for name, value in values.items()):
                report.unchanged += 1
                continue
            for name, value in values.items():
                setattr(person, name, value)
            report.updated += 1

    await run_batches(factory, good, handle, progress, batch_size)
    return StaffImport(report, passwords)
