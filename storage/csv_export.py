"""Every CSV the console exports is written here, with cells neutralised against formula injection.

A spreadsheet opening a CSV runs a cell that starts with `=`, `+`, `-` or `@` as a formula (tab and carriage
return can hide such a start), so a customer named `=HYPERLINK(...)` or `+cmd|' /C calc'!A0` would run in the
exporting admin's spreadsheet. Following OWASP's guidance, every *text* cell starting with one of those
characters gets a single quote in front, which spreadsheets show as text. This includes text that merely looks
like a number, such as a phone number `+8613800000000` (exported as `'+8613800000000`).

Numbers the application itself writes (int, float, Decimal: counts, averages, ids) stay as they are, so a
negative figure like -5 stays a number the spreadsheet can add up: a Python number cannot carry a formula.
It lives in storage because report exports are built there; it imports nothing of ours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: numbers unchanged, None as empty, text with a leading quote when it could start a
    formula."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV (header first), every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()
