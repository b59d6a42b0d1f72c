"""What every importer shares: reading the CSV, checking the header, parsing cells, batching, the report."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.services.listings import NUMBERS, ListingError, parse_number

BATCH_SIZE = 500
LIST_SEPARATOR = ";"
_TRUE = {"yes", "y", "true", "1", "是", "有"}
_FALSE = {"no", "n", "false", "0", "否", "无"}

CsvSource = str | Path | bytes | IO[str] | IO[bytes]
ProgressCallback = Callable[[int, int], None]
T = TypeVar("T")


class CsvFormatError(ValueError):
    """The file as a whole is unusable (not UTF-8, no header, missing columns); nothing was imported."""


class RowError(ValueError):
    """One row is invalid; the message is the reason shown to whoever imports."""


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.errors)} rejected, {len(self.warnings)} warnings"
        )


@dataclass(frozen=True)
class Row:
    line: int  # line in the file where the row starts (the header is line 1)
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()


def _read_text(source: CsvSource) -> str:
    if isinstance(source, str | Path):
        data: str | bytes = Path(source).read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CsvFormatError(f"not UTF-8 text (byte {exc.start})") from None
    return data.removeprefix("\ufeff")


def read_rows(
    source: CsvSource, columns: Sequence[str], required: Sequence[str], report: ImportReport
) -> list[Row]:
    """Parse the whole file; checks the header (required columns present, unknown ones warned about)."""
    text = _read_text(source)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CsvFormatError("the file is empty; a header row is required") from None
    except csv.Error as exc:
        raise CsvFormatError(f"line 1: {exc}") from None
    missing = [name for name in required if name not in header]
    if missing:
        raise CsvFormatError(
            f"header is missing column(s) {', '.join(missing)}; expected {','.join(columns)}"
        )
    unknown = [name for name in header if name and name not in columns]
    if unknown:
        report.warnings.append((1, f"ignored unknown column(s) {', '.join(unknown)}"))
    rows: list[Row] = []
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvFormatError(f"line {start}: {exc}") from None
        if any(value.strip() for value in values):
            if len(values) > len(header):
                report.errors.append((start, f"{len(values)} cells but the header has {len(header)} columns"))
            else:
                rows.append(Row(start, dict(zip(header, values, strict=False))))
        start = reader.line_num + 1
    return rows


async def run_batches(
    factory: async_sessionmaker[AsyncSession],
    items: Sequence[T],
    handle_batch: Callable[[AsyncSession, Sequence[T]], Awaitable[None]],
    progress: ProgressCallback | None,
    batch_size: int = BATCH_SIZE,
) -> None:
    """One transaction per batch, so a long import commits as it goes and reports progress after each."""
    total = len(items)
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        async with factory() as session, session.begin():
            await handle_batch(session, batch)
        if progress is not None:
            progress(min(start + batch_size, total), total)


def validate_rows(rows: Sequence[Row], parse: Callable[[Row], T], report: ImportReport) -> list[tuple[Row, T]]:
    good: list[tuple[Row, T]] = []
    for row in rows:
        try:
            good.append((row, parse(row)))
        except RowError as exc:
            report.errors.append((row.line, str(exc)))
    return good


def last_wins(
    good: list[tuple[Row, T]], key: Callable[[T], Hashable], report: ImportReport
) -> list[tuple[Row, T]]:
    """A key repeated in one file: the later row wins (as a rerun would), with a warning."""
    seen: dict[Hashable, tuple[Row, T]] = {}
    for row, parsed in good:
        k = key(parsed)
        if k in seen:
            report.warnings.append((row.line, f"{_show(k)} repeats line {seen[k][0].line}; this row wins"))
            del seen[k]  # keep file order: the winner is written where it last appears
        seen[k] = (row, parsed)
    return list(seen.values())


def _show(key: Hashable) -> str:
    return " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)


# Cell parsers: each takes the column name so the reason names it.


def required(row: Row, column: str, max_length: int | None = None) -> str:
    value = text_cell(row, column, max_length)
    if not value:
        raise RowError(f"{column} is required")
    return value


def text_cell(row: Row, column: str, max_length: int | None = None) -> str:
    value = row.get(column)
    if max_length is not None and len(value) > max_length:
        raise RowError(f"{column} is longer than {max_length} characters")
    return value


def enum_cell(row: Row, column: str, allowed: Sequence[str], default: str | None = None) -> str:
    value = row.get(column).lower()
    if not value and default is not None:
        return default
    if value not in allowed:
        shown = value or "empty"
        raise RowError(f"{column} is {shown!r}; expected one of {', '.join(allowed)}")
    return value


def bool_cell(row: Row, column: str) -> bool | None:
    value = row.get(column).lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"{column} is {value!r}; expected yes/no, true/false, 1/0 or 是/否")


def number_cell(row: Row, column: str) -> Decimal | None:
    """A listing number read by the one parser the console's form uses too (`storage.services.listings`), with
    that column's range: a huge, non-finite or malformed value is this row's rejection, never an error later."""
    value = row.get(column)
    if not value:
        return None
    try:
        return parse_number(value, column, NUMBERS[column])
    except ListingError as exc:
        raise RowError(str(exc)) from None


def required_number(row: Row, column: str) -> Decimal:
    number = number_cell(row, column)
    if number is None:
        raise RowError(f"{column} is required")
    return number


def int_cell(row: Row, column: str, default: int | None = None) -> int | None:
    number = number_cell(row, column)
    return default if number is None else int(number)


def date_cell(row: Row, column: str) -> date | None:
    value = row.get(column)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{column} is {value!r}; expected a date as YYYY-MM-DD") from None


def coordinates(row: Row) -> tuple[float | None, float | None]:
    """lat and lon, both or neither, inside their ranges."""
    if not row.get("lat") and not row.get("lon"):
        return None, None
    if not row.get("lat") or not row.get("lon"):
        raise RowError("lat and lon go together: give both or neither")
    return float(required_number(row, "lat")), float(required_number(row, "lon"))


def list_cell(row: Row, column: str) -> list[str]:
    return split_list(row.get(column))


def split_list(value: str) -> list[str]:
    items: list[str] = []
    for part in value.split(LIST_SEPARATOR):
        part = part.strip()
        if part and part not in items:
            items.append(part)
    return items

