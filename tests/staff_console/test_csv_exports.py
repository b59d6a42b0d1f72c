"""CSV formula injection (issue 14, item 9): every CSV the console exports neutralises text cells that a
spreadsheet would run as a formula; numbers the application writes stay numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from storage.csv_export import csv_text, safe_cell
from storage.db import transaction
from storage.repositories import customers
from storage.services import reports
from tests.staff_console.conftest import sign_in

CALC = "+SUM(1+1)*cmd|' /C calc'!A0"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "cell"), [
    (CALC, "'" + CALC),
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("+8613800000000", "'+8613800000000"),  # text that looks like a number is still text
    ("-5", "'-5"),
    ("Wang Li", "Wang Li"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
    # Numbers the application writes itself stay numbers: a spreadsheet can add them up.
    (-5, -5),
    (-2.5, -2.5),
    (Decimal("-3.10"), Decimal("-3.10")),
    (0, 0),
    (True, "True"),
])
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_csv_text_reads_back():
    rows = list(csv.reader(io.StringIO(csv_text(["name", "=n"], [[CALC, -5], ["a,b", 2.5]]))))
    assert rows == [["name", "'=n"], ["'" + CALC, "-5"], ["a,b", "2.5"]]


async def test_customers_export_neutralises_names(client, team, sessions):
    async with transaction(sessions) as session:
        hostile, _ = await customers.get_or_create(session, telegram_user_id=71, chat_id=71, first_name=CALC,
                                                   last_name="=HYPERLINK(\"http://evil.example\")",
                                                   username="@cmd")
        hostile.phone, hostile.tags = "+8613800000000", ["-1+1", "vip"]
        await customers.get_or_create(session, telegram_user_id=72, chat_id=72, first_name="Wang", last_name="Li")
    await sign_in(client, "admin@example.com")
    response = await client.get("/customers/export.csv")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig")))}
    exported = rows[str(hostile.id)]
    assert exported["first_name"] == "'" + CALC
    assert exported["last_name"] == "'=HYPERLINK(\"http://evil.example\")"
    assert exported["username"] == "'@cmd" and exported["phone"] == "'+8613800000000"
    assert exported["tags"] == "'-1+1;vip"
    assert any(row["first_name"] == "Wang" and row["last_name"] == "Li" for row in rows.values())


def test_report_export_neutralises_labels_and_keeps_numbers():
    report = reports.Report(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 4, 1, tzinfo=UTC))
    report.by_category = [(CALC, 2)]
    report.by_project = [("=cmd|' /C calc'!A0", 1)]
    report.times = {"first_response_median": -5.0}
    report.staff = [{"staff": "@Evil Agent", "assigned": 3, "resolved": 1, "open": 2, "breached": 0,
                     "resolution_median_h": None}]
    report.satisfaction_by_staff = [("-Mallory", 1, 4.0)]
    rows = list(csv.reader(io.StringIO(reports.to_csv(report))))
    assert ["tickets by category", "'" + CALC, "2", ""] in rows
    assert ["tickets by project", "'=cmd|' /C calc'!A0", "1", ""] in rows
    assert ["times (hours)", "first_response_median", "-5.0", ""] in rows  # our own number: still a number
    assert any(row[:3] == ["staff", "'@Evil Agent", "3"] for row in rows)
    assert ["satisfaction by staff", "'-Mallory", "4.0", "answers=1"] in rows


def test_every_console_csv_goes_through_the_one_helper():
    """A new export cannot forget: csv writers live only in storage.csv_export (and the demo data generator,
    which writes import files, not exports), and every module answering text/csv uses the helper."""
    writers, exporters = [], []
    for path in sorted([*ROOT.joinpath("staff_console").rglob("*.py"), *ROOT.joinpath("storage").rglob("*.py")]):
        source = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        if re.search(r"csv\.(writer|DictWriter)\(", source):
            writers.append(name)
        if "text/csv" in source and "import" in source:
            exporters.append((name, "csv_text" in source or "reports.to_csv" in source))
    assert writers == ["storage/csv_export.py", "storage/demo.py"]
    assert exporters and all(uses for _, uses in exporters), exporters


async def test_the_report_csv_opens_in_excel_with_chinese_intact(client, team, sessions):
    token = await sign_in(client, "admin@example.com")
    await client.post("/language", data={"language": "zh", "csrf_token": token, "next": "/reports"})
    response = await client.get("/reports.csv?from=2020-01-01&to=2030-12-31")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # the UTF-8 byte order mark Excel needs to read UTF-8
    text = body.decode("utf-8-sig")
    assert not text.startswith("\ufeff") and any("\u4e00" <= ch <= "\u9fff" for ch in text)
