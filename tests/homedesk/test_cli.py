"""`homedesk` commands through `homedesk.cli.main(argv)`: happy paths and the one-line errors (exit code 2)."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import sys
import types
from pathlib import Path

import pytest

from homedesk import cli
from homedesk.cli import UsageError, main, read_password
from storage.demo import DemoReport
from storage.services.staff_accounts import verify_password

DISTRICTS = "city,name,aliases,lat,lon,neighbours\nBeijing,Chaoyang,朝阳区;Wangjing;望京,39.92,116.44,\n"
LISTINGS = (
    "ref_code,deal_type,property_type,city,district,address,price,currency,bedrooms,bathrooms,area_m2,floor,"
    "floors_total,available_from,furnished,pets_allowed,features,photos,agent_email,status,description,lat,lon\n"
    "L1,rent,apartment,Beijing,Wangjing,,9000,CNY,2,1,80,3,18,2026-04-01,yes,no,elevator,,,active,Nice,,\n"
    "L2,rent,apartment,Beijing,Nowhere,,9000,CNY,2,1,80,3,18,2026-04-01,yes,no,elevator,,,active,Nice,,\n"
    "L3,sale,apartment,Beijing,Chaoyang,,3000000,CNY,2,1,80,3,18,,,,,,,active,Nice,,\n"
)
DB_ERROR = "homedesk: DATABASE_URL: "
UNITS = "project,building,unit_no,owner_name,owner_phone,handover_date\nP,B1,101,王伟,+86 13800138000,2022-01-01\n"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_migrate_creates_the_schema(cli_env: Path, capsys) -> None:
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert query(cli_env / "homedesk.db", "SELECT version_num FROM alembic_version")
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM listings") == [(0,)]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://localhost/x", f"{DB_ERROR}must start with sqlite+aiosqlite://"),
        ("DATABASE_URL", "postgresql://u:pw@127.0.0.1:abc/x", f"{DB_ERROR}malformed (port must be a number)"),
        ("DATABASE_URL", "sqlite+aiosqlite:////no/such/dir/h.db", f"{DB_ERROR}cannot open /no/such/dir/h.db"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "homedesk: TELEGRAM_BOT_TOKEN: does not look like a Telegram bot token"),
        ("CONSOLE_PORT", "70000", "homedesk: CONSOLE_PORT: must be between 0 and 65535"),
        ("CONSOLE_PORT", "eighty", "homedesk: CONSOLE_PORT:"),
        ("LOG_LEVEL", "LOUD", "homedesk: LOG_LEVEL: unknown level 'LOUD'"),
    ],
)
def test_bad_settings_end_with_one_line_and_code_2(cli_env, capsys, monkeypatch, variable, value, expected) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["migrate"]) == 2
    line = one_error_line(capsys)
    assert line.startswith(expected)
    assert "pw@" not in line


def test_unreachable_database_names_the_setting(cli_env, capsys, monkeypatch, closed_port) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://homedesk:secret@127.0.0.1:{closed_port}/homedesk")
    assert main(["migrate"]) == 2
    line = one_error_line(capsys)
    assert line == f"homedesk: DATABASE_URL: cannot connect to 127.0.0.1:{closed_port} (connection refused)"


def test_usage_errors_are_one_line(cli_env, capsys) -> None:
    assert main([]) == 2
    assert "required: COMMAND" in one_error_line(capsys)
    assert main(["create-staff", "a@example.com", "--name", "A", "--role", "boss"]) == 2
    assert "invalid choice: 'boss'" in one_error_line(capsys)
    assert main(["match", "--text", "flat", "--top", "0"]) == 2
    assert "--top: must be at least 1" in one_error_line(capsys)


def test_create_staff_reads_the_password_from_stdin(cli_env, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-pass\n"))
    assert main(["create-staff", "Boss@Example.com", "--name", "The Boss", "--role", "admin"]) == 0
    assert "created admin boss@example.com" in capsys.readouterr().out
    [(role, password_hash)] = query(cli_env / "homedesk.db", "SELECT role, password_hash FROM staff")
    assert role == "admin" and verify_password(password_hash, "s3cret-pass")

    monkeypatch.setattr(sys, "stdin", io.StringIO("another-pass\n"))
    assert main(["create-staff", "boss@example.com", "--name", "Again", "--role", "agent"]) == 2
    assert one_error_line(capsys) == "homedesk: a staff member with email boss@example.com already exists"

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["create-staff", "new@example.com", "--name", "New", "--role", "agent"]) == 2
    assert one_error_line(capsys) == "homedesk: password must be at least 8 characters"
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM staff") == [(1,)]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_password_is_prompted_twice_on_a_terminal() -> None:
    answers = iter(["first-pass", "first-pass"])
    assert read_password(FakeTerminal(), prompt=lambda _: next(answers)) == "first-pass"
    answers = iter(["first-pass", "other-pass"])
    with pytest.raises(UsageError, match="do not match"):
        read_password(FakeTerminal(), prompt=lambda _: next(answers))


def test_imports_report_rows_progress_and_rejections(cli_env, capsys) -> None:
    (cli_env / "districts.csv").write_text(DISTRICTS, encoding="utf-8")
    (cli_env / "listings.csv").write_text(LISTINGS, encoding="utf-8")
    (cli_env / "units.csv").write_text(UNITS, encoding="utf-8")

    assert main(["import-districts", "districts.csv"]) == 0
    out, err = capsys.readouterr()
    assert "districts: 1 inserted" in out and "imported 1/1" in err

    assert main(["import-listings", "listings.csv"]) == 1  # some rows were rejected
    out, err = capsys.readouterr()
    assert "listings: 2 inserted" in out and "1 rejected" in out
    assert "listings.csv:3: rejected: district 'Nowhere' is not a known district of Beijing" in err
    assert "imported 2/2" in err

    assert main(["import-units", "units.csv"]) == 0
    assert query(cli_env / "homedesk.db", "SELECT owner_phone FROM units") == [("13800138000",)]
    capsys.readouterr()

    assert main(["import-listings", "listings.csv"]) == 1  # a rerun updates, never duplicates
    assert "0 inserted, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM listings") == [(2,)]


def test_import_errors_in_use(cli_env, capsys) -> None:
    assert main(["import-listings", "missing.csv"]) == 2
    assert one_error_line(capsys) == "homedesk: FILE: missing.csv does not exist or is not a file"
    (cli_env / "bad.csv").write_text("ref_code,price\nX,1\n", encoding="utf-8")
    assert main(["import-listings", "bad.csv"]) == 2
    assert one_error_line(capsys).startswith("homedesk: bad.csv: header is missing column(s) deal_type")


def test_seed_demo_prints_accounts_once(cli_env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HOMEDESK_DEMO_PASSWORD", "demo-pass-42")
    assert main(["seed-demo"]) == 0
    out = capsys.readouterr().out
    assert "listings: 340 inserted" in out
    assert "admin@homedesk.local" in out and "sun.mei@homedesk.local" in out
    assert out.count("demo-pass-42") == 1 and "(shown only now): demo-pass-42" in out
    assert (cli_env / "media" / "listings" / "BJ-R0001-1.png").is_file()

    assert main(["seed-demo"]) == 0
    assert "listings exist already" in capsys.readouterr().out
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM listings") == [(340,)]


def test_seed_demo_rejects_a_short_demo_password(cli_env, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HOMEDESK_DEMO_PASSWORD", "short")
    assert main(["seed-demo"]) == 2
    assert one_error_line(capsys) == "homedesk: HOMEDESK_DEMO_PASSWORD: must be at least 8 characters"


def test_match_hands_the_request_to_matching(cli_env, capsys, monkeypatch) -> None:
    calls = []

    async def run_match(factory, text, deal, top, as_json, usd_cny=None):
        calls.append((text, deal, top, as_json, usd_cny))
        return '{"criteria": {}, "results": []}'

    monkeypatch.setitem(sys.modules, "matching.cli", types.SimpleNamespace(run_match=run_match))
    monkeypatch.setenv("USD_CNY_RATE", "7.1")
    assert main(["match", "--text", "2br in Wangjing", "--deal", "rent", "--top", "3", "--json"]) == 0
    assert capsys.readouterr().out.strip() == '{"criteria": {}, "results": []}'
    assert calls == [("2br in Wangjing", "rent", 3, True, 7.1)]  # the setting reaches the parser


@pytest.fixture
def fake_app(monkeypatch):
    """Stands in for homedesk.app (the channels and web server), recording the settings it was started with."""
    started = []

    async def run(settings, *, role="all"):
        started.append((settings, role))

    module = types.SimpleNamespace(run=run)
    monkeypatch.setitem(sys.modules, "homedesk.app", module)
    return module, started


def test_run_migrates_seeds_demo_when_empty_and_starts_the_app(cli_env, capsys, monkeypatch, fake_app) -> None:
    _, started = fake_app
    seeded = []

    async def fake_seed(factory, media, *, force=False, password=None, today=None, settings=None):
        seeded.append(media)
        return DemoReport()

    monkeypatch.setattr("storage.demo.seed_demo", fake_seed)
    assert main(["run"]) == 0
    assert seeded == [] and len(started) == 1
    assert query(cli_env / "homedesk.db", "SELECT count(*) FROM alembic_version") == [(1,)]

    assert main(["run", "--demo"]) == 0
    assert seeded == [cli_env / "media"] and len(started) == 2

    assert main(["run", "--role", "worker"]) == 0
    assert [role for _, role in started] == ["all", "all", "worker"]
    assert main(["run", "--role", "everything"]) == 2
    assert "--role" in one_error_line(capsys)


def test_run_with_bad_settings_never_starts_the_app(cli_env, capsys, monkeypatch, fake_app, closed_port) -> None:
    _, started = fake_app
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:short")
    assert main(["run"]) == 2
    assert one_error_line(capsys).startswith("homedesk: TELEGRAM_BOT_TOKEN:")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://u@127.0.0.1:{closed_port}/x")
    assert main(["run", "--demo"]) == 2
    assert "cannot connect" in one_error_line(capsys)
    assert started == []


def test_run_reports_a_busy_console_port(cli_env, capsys, monkeypatch, fake_app) -> None:
    module, _ = fake_app

    async def busy(settings, *, role="all"):
        raise OSError(98, "Address already in use")

    module.run = busy
    monkeypatch.setenv("CONSOLE_PORT", "8099")
    assert main(["run"]) == 2
    assert one_error_line(capsys) == "homedesk: CONSOLE_PORT: cannot listen on 127.0.0.1:8099 (Address already in use)"


def test_logs_never_show_secrets(cli_env, monkeypatch) -> None:
    token = "123456789:AAExampleExampleExampleExampleExample1"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    settings = cli.settings_and_logging()
    stream = io.StringIO()
    handler = logging.getLogger().handlers[-1]
    handler.setStream(stream)
    logging.getLogger("aiohttp.client").warning("GET https://api.telegram.org/bot%s/getMe failed", token)
    logging.getLogger("x").error("connecting to postgresql://user:hunter2@db:5432/app")
    text = stream.getvalue()
    assert token not in text and "hunter2" not in text
    assert "bot***/getMe" in text and "postgresql://user:***@db:5432/app" in text
    assert settings.bot_token == token


def test_match_json_follows_the_contract(cli_env, capsys) -> None:
    """End to end with the real matcher: the JSON shape ARCHITECTURE.md promises to other tools."""
    (cli_env / "districts.csv").write_text(DISTRICTS, encoding="utf-8")
    (cli_env / "listings.csv").write_text(LISTINGS, encoding="utf-8")
    assert main(["import-districts", "districts.csv"]) == 0
    assert main(["import-listings", "listings.csv"]) == 1
    capsys.readouterr()

    assert main(["match", "--text", "2 bedroom flat in Wangjing under 10000", "--deal", "rent", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["criteria"]["deal_type"] == "rent" and answer["criteria"]["districts"] == ["Chaoyang"]
    assert {"budget_max", "bedrooms_min", "must_have", "pets"} <= set(answer["criteria"])
    assert [result["ref_code"] for result in answer["results"]] == ["L1"]
    assert 0 <= answer["results"][0]["score"] <= 100 and answer["results"][0]["reasons"]
