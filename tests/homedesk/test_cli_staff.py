"""`homedesk create-staff` with a technician's and an agent's data, and `homedesk import-staff FILE`."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

from homedesk.cli import main
from storage.services.staff_accounts import verify_password

STAFF_CSV = (
    "email,name,role,team,areas,skills,level,hours,language\n"
    "li@example.com,Li Gong,,repair,Sunny Garden;朝阳,plumbing;electrical,4,,zh\n"
    "wang@example.com,Wang Fang,agent,sales,,,,\"mon-fri 09:00-12:00, 13:00-18:00; sat 10:00-16:00\",\n"
    "bad@example.com,Bad Level,service,,,,7,,\n"
    "worse@example.com,Bad Skill,service,,,roofing,,,\n"
    "not-an-email,Nobody,service,,,,,,\n"
    "hours@example.com,Bad Hours,agent,,,,,mon-fri 18:00-09:00,\n"
)


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_create_staff_takes_areas_skills_level_hours_and_the_default_language(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("DEFAULT_LOCALE", "zh")
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-pass\n"))
    assert main(["create-staff", "tech@example.com", "--name", "Tech", "--role", "service", "--team", "repair",
                 "--areas", "Sunny Garden; Wangjing", "--skills", "plumbing;waterproofing", "--level", "3",
                 "--hours", "mon-fri 08:00-17:00"]) == 0
    out, err = capsys.readouterr()
    assert "created service tech@example.com" in out
    assert "warning: no project or district is called Sunny Garden yet" in err
    [(language, areas, skills, level, hours, team)] = rows(
        cli_env / "homedesk.db", "SELECT language, service_areas, skills, level, working_hours, team FROM staff")
    assert language == "zh" and team == "repair" and level == 3
    assert json.loads(areas) == ["Sunny Garden", "Wangjing"] and json.loads(skills) == ["plumbing", "waterproofing"]
    assert json.loads(hours)["fri"] == [["08:00", "17:00"]] and "sat" not in json.loads(hours)

    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-pass\n"))
    assert main(["create-staff", "en@example.com", "--name", "En", "--role", "agent", "--language", "en"]) == 0
    assert rows(cli_env / "homedesk.db", "SELECT language FROM staff WHERE email = 'en@example.com'") == [("en",)]


def test_create_staff_refuses_bad_data_in_one_line_before_asking_for_a_password(cli_env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # never read: the flags are checked first
    for flags, message in ((["--level", "9"], "homedesk: the level is a whole number from 1 to 5"),
                           (["--skills", "roofing"], "homedesk: unknown skill roofing; use ticket categories:"),
                           (["--hours", "weekdays 9-5"],
                            "homedesk: hours: weekdays 9-5 does not start with weekdays like mon-fri"),
                           (["--hours", "mon 18:00-09:00"], "homedesk: Monday: 18:00-09:00 ends before it starts")):
        assert main(["create-staff", "t@example.com", "--name", "T", "--role", "service", *flags]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(message), err


def test_import_staff_reports_rows_creates_and_updates(cli_env, capsys):
    (cli_env / "staff.csv").write_text(STAFF_CSV, encoding="utf-8")
    assert main(["import-staff", "staff.csv"]) == 1  # some rows were rejected
    out, err = capsys.readouterr()
    assert "staff: 2 inserted, 0 updated, 0 unchanged, 4 rejected" in out
    assert "staff.csv:4: rejected: the level is a whole number from 1 to 5" in err
    assert "staff.csv:5: rejected: unknown skill roofing" in err
    assert "staff.csv:6: rejected: email not-an-email is not an email address" in err
    assert "staff.csv:7: rejected: Monday: 18:00-09:00 ends before it starts" in err
    assert "staff.csv:2: warning: no project or district is called Sunny Garden, 朝阳 yet" in err
    passwords = dict(line.removeprefix("created ").split(": first password ") for line in out.splitlines()
                     if line.startswith("created "))
    assert set(passwords) == {"li@example.com", "wang@example.com"}
    db = cli_env / "homedesk.db"
    [(role, language, areas, skills, level, password_hash)] = rows(
        db, "SELECT role, language, service_areas, skills, level, password_hash FROM staff "
            "WHERE email='li@example.com'")
    assert role == "service" and language == "zh" and level == 4
    assert json.loads(areas) == ["Sunny Garden", "朝阳"] and json.loads(skills) == ["plumbing", "electrical"]
    assert verify_password(password_hash, passwords["li@example.com"])
    [(hours, language)] = rows(db, "SELECT working_hours, language FROM staff WHERE email='wang@example.com'")
    assert json.loads(hours)["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]] and language == "en"

    # A rerun changes nothing; a changed row updates only what it gives (the role stays when empty).
    (cli_env / "staff.csv").write_text(STAFF_CSV.splitlines()[0] + "\n" + STAFF_CSV.splitlines()[1] + "\n"
                                       "wang@example.com,Wang Fang,,,,,2,,\n", encoding="utf-8")
    assert main(["import-staff", "staff.csv"]) == 0
    assert "staff: 0 inserted, 1 updated, 1 unchanged, 0 rejected" in capsys.readouterr().out
    [(role, level, hours)] = rows(db, "SELECT role, level, working_hours FROM staff WHERE email='wang@example.com'")
    assert role == "agent" and level == 2 and json.loads(hours)["sat"] == [["10:00", "16:00"]]
    assert rows(db, "SELECT count(*) FROM staff") == [(2,)]
