"""The `homedesk` command: run, migrate, seed-demo, create-staff, import-* (import-staff too), match.

Mistakes in use or configuration end with exit code 2 and one line on standard error, naming the
setting or the argument at fault; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import logging
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from storage.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from storage.importers import ImportReport
    from storage.unit_of_work import Workplace

log = logging.getLogger("homedesk")
USAGE_ERROR = 2
ROLES = ("admin", "agent", "service")
CONNECT_TIMEOUT_SECONDS = 10.0
DEMO_PASSWORD_ENV = "HOMEDESK_DEMO_PASSWORD"


class UsageError(Exception):
    """A mistake in use or configuration; the message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block; one line that names the problem is easier to act on.
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="homedesk", description="Chat-first customer service for real-estate agencies.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help="migrate, then run the bot, sender, reminders and web console")
    run.add_argument("--demo", action="store_true", help="seed demo data first when there are no listings")
    run.add_argument("--role", choices=("all", "bot", "console", "worker"), default="all",
                     help="what this process runs: bot (Telegram intake and sender), console (web server), "
                          "worker (periodic jobs) or all (default); see README, Several instances")
    run.set_defaults(handler=cmd_run)

    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(handler=cmd_migrate)

    seed = commands.add_parser("seed-demo", help="load the Beijing demo data set (once)")
    seed.add_argument("--force", action="store_true", help="seed even when listings exist (updates in place)")
    seed.set_defaults(handler=cmd_seed_demo)

    staff = commands.add_parser("create-staff", help="add a console user; the password is prompted or read from stdin")
    staff.add_argument("email")
    staff.add_argument("--name", required=True)
    staff.add_argument("--role", required=True, choices=ROLES)
    staff.add_argument("--team", help="e.g. sales, repair, complaints")
    staff.add_argument("--areas", help='projects or districts a technician covers, separated by ";"')
    staff.add_argument("--skills", help='ticket categories, separated by ";" (plumbing;electrical...)')
    staff.add_argument("--level", help="1 (junior) to 5 (senior); emergencies prefer seniors")
    staff.add_argument("--hours", help='working hours, e.g. "mon-fri 09:00-12:00, 13:00-18:00; sat 10:00-16:00"')
    staff.add_argument("--language", choices=("en", "zh"), help="the console's language (default DEFAULT_LOCALE)")
    staff.set_defaults(handler=cmd_create_staff)

    for kind in ("listings", "districts", "units", "staff", "deals"):
        command = commands.add_parser(f"import-{kind}", help=f"import {kind} from a CSV file (see README)")
        command.add_argument("file", type=Path, metavar="FILE")
        command.set_defaults(handler=cmd_import, kind=kind)

    match = commands.add_parser("match", help="parse a request and show the best matching listings")
    match.add_argument("--text", required=True, help='what a customer would write, e.g. "2br in Wangjing under 12k"')
    match.add_argument("--deal", choices=("rent", "sale"))
    match.add_argument("--top", type=_positive_int, default=5)
    match.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")
    match.set_defaults(handler=cmd_match)
    return parser


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], Coroutine[Any, Any, int]] = args.handler
        return asyncio.run(handler(args))
    except UsageError as exc:
        print(f"homedesk: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


# --- shared steps -----------------------------------------------------------------------------------------------


def settings_and_logging() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    configure_logging(settings)
    return settings


class RedactSecrets(logging.Filter):
    """Masks bot tokens and URL passwords in every record, whichever library logged it."""

    _TOKEN = re.compile(r"\d{3,15}:[A-Za-z0-9_-]{30,64}")
    _URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = self._TOKEN.sub("<bot token>", text)
        return self._URL_PASSWORD.sub(r"\1***@", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _OurLogHandler(logging.StreamHandler):
    """The handler `configure_logging` installs, told apart from others' so a second call replaces it."""


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise UsageError(f"LOG_LEVEL: unknown level {settings.log_level!r}; use DEBUG, INFO, WARNING or ERROR")
    secrets = [
        value.get_secret_value()
        for value in (settings.telegram_bot_token, settings.webhook_secret, settings.console_secret)
        if value is not None
    ]
    handler = _OurLogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurLogHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every plugin and migration step at INFO; its news matters only when debugging.
    logging.getLogger("alembic").setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))


def _where(url: str) -> str:
    """The database's location for messages: host:port or the SQLite path, never the credentials."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def describe_connect_error(exc: BaseException) -> str:
    """A short reason for a failed connection, from asyncpg, sqlite or the socket layer."""
    cause: BaseException = getattr(exc, "orig", None) or exc
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "unknown host"
    if isinstance(cause, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS:g} s"
    if isinstance(cause, OverflowError):
        return "port must be 0-65535"
    text = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    text = re.sub(r"^\([\w.]+\)\s*", "", text)  # SQLAlchemy's "(sqlite3.OperationalError) " prefix
    return RedactSecrets().redact(text)


async def connect(url: str) -> AsyncEngine:
    from storage.db import DatabaseUrlError, check_connection, create_engine, is_sqlite

    try:
        engine = create_engine(url)
        where = _where(url)
    except DatabaseUrlError as exc:
        raise UsageError(f"DATABASE_URL: {exc}") from None
    except ValueError as exc:
        reason = "port must be a number" if "int()" in str(exc) else RedactSecrets().redact(str(exc))
        raise UsageError(f"DATABASE_URL: malformed ({reason})") from None
    if is_sqlite(url) and where != ":memory:" and not Path(where).parent.is_dir():
        await engine.dispose()
        raise UsageError(f"DATABASE_URL: cannot open {where} (directory {Path(where).parent} does not exist)")
    try:
        await asyncio.wait_for(check_connection(engine), CONNECT_TIMEOUT_SECONDS)
    except Exception as exc:  # asyncpg, sqlite and socket errors share no base class
        await engine.dispose()
        raise UsageError(f"DATABASE_URL: cannot connect to {where} ({describe_connect_error(exc)})") from None
    return engine


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A checked connection, the schema brought up to date, and a session factory; disposed on exit."""
    from storage.db import session_factory
    from storage.migrate import upgrade

    engine = await connect(settings.database_url)
    try:
        await upgrade(engine)
        yield session_factory(engine)
    finally:
        await engine.dispose()


def workplace(settings: Settings, factory: async_sessionmaker[AsyncSession]) -> Workplace:
    """Where a command's units of work come from, as for `homedesk run`; its live events stay in this process
    (a one-shot command has no console to refresh)."""
    from dialogs.notices import NOTICES
    from storage.events import EventBus
    from storage.gate import WriteGate
    from storage.unit_of_work import Workplace

    return Workplace(WriteGate(factory), EventBus(), settings, NOTICES)


# --- commands -----------------------------------------------------------------------------------------------------


async def cmd_migrate(args: argparse.Namespace) -> int:
    settings = settings_and_logging()
    async with database(settings):
        pass
    print(f"database at {_where(settings.database_url)} is up to date")
    return 0


async def _seed(factory: async_sessionmaker[AsyncSession], settings: Settings, force: bool) -> int:
    from storage.demo import seed_demo

    password = os.environ.get(DEMO_PASSWORD_ENV) or None
    if password is not None and len(password) < 8:
        raise UsageError(f"{DEMO_PASSWORD_ENV}: must be at least 8 characters")
    report = await seed_demo(factory, settings.media_path, force=force, password=password, settings=settings)
    if report.skipped:
        print("listings exist already; demo data not seeded (use --force to seed anyway)")
        return 0
    for name, result in report.imports.items():
        print(f"{name}: {result.summary()}")
        for line, reason in result.errors:
            print(f"  {name} line {line}: {reason}", file=sys.stderr)
    print(f"photos: {report.photos_written} drawn into {settings.media_path / 'listings'}")
    print("demo accounts:")
    for email, role, secret in report.accounts:
        print(f"  {role:8} {email:28} {'' if secret else '(existed already, password unchanged)'}".rstrip())
    new_password = next((secret for _, _, secret in report.accounts if secret), None)
    if new_password:
        print(f"password of the new demo accounts (shown only now): {new_password}")
    return 0


async def cmd_seed_demo(args: argparse.Namespace) -> int:
    settings = settings_and_logging()
    async with database(settings) as factory:
        return await _seed(factory, settings, args.force)


def read_password(stdin: TextIO | None = None, prompt: Callable[[str], str] = getpass.getpass) -> str:
    """Prompted twice on a terminal; otherwise one line from standard input (for scripts)."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = prompt("Password: ")
        if prompt("Repeat password: ") != first:
            raise UsageError("passwords do not match")
        return first
    line = stdin.readline()
    if not line:
        raise UsageError("no password on standard input")
    return line.rstrip("\r\n")


def staff_fields(args: argparse.Namespace) -> dict[str, Any]:
    """create-staff's optional flags, checked by the rules the console uses (storage.services.staff_profiles)."""
    from storage.services import staff_profiles
    from storage.services.staff_accounts import StaffAccountError

    fields: dict[str, Any] = {}
    try:
        if args.team:
            fields["team"] = args.team.strip()[:64] or None
        if args.areas is not None:
            fields["service_areas"] = staff_profiles.check_areas(args.areas)
        if args.skills is not None:
            fields["skills"] = staff_profiles.check_skills(args.skills)
        if args.level is not None:
            fields["level"] = staff_profiles.check_level(args.level)
        if args.hours is not None:
            fields["working_hours"] = staff_profiles.parse_hours_option(args.hours)
    except StaffAccountError as exc:
        raise UsageError(str(exc)) from None
    return fields


async def cmd_create_staff(args: argparse.Namespace) -> int:
    from storage.services import staff_profiles
    from storage.services.staff_accounts import MIN_PASSWORD_LENGTH, StaffAccountError, create_staff

    settings = settings_and_logging()
    fields = staff_fields(args)
    password = read_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    async with database(settings) as factory:
        try:
            async with workplace(settings, factory).open() as work:
                staff = await create_staff(work.session, args.email, args.name, args.role, password,
                                           language=args.language or settings.default_locale, **fields)
                unknown = await staff_profiles.unknown_areas(work.session, staff.service_areas or [])
        except StaffAccountError as exc:
            raise UsageError(str(exc)) from None
    for name in unknown:
        print(f"warning: no project or district is called {name} yet", file=sys.stderr)
    print(f"created {staff.role} {staff.email} (id {staff.id})")
    return 0


async def cmd_import(args: argparse.Namespace) -> int:
    from storage.importers import (
        CsvFormatError,
        import_deals,
        import_districts,
        import_listings,
        import_staff,
        import_units,
    )

    path: Path = args.file
    if not await asyncio.to_thread(path.is_file):
        raise UsageError(f"FILE: {path} does not exist or is not a file")
    settings = settings_and_logging()

    def progress(done: int, total: int) -> None:
        print(f"imported {done}/{total}", file=sys.stderr, flush=True)

    async with database(settings) as factory:
        try:
            if args.kind == "listings":  # photos must be links or files inside the media folder
                report: ImportReport = await import_listings(factory, path, progress=progress,
                                                             media_dir=settings.media_path)
            elif args.kind == "districts":
                report = await import_districts(factory, path, progress=progress)
            elif args.kind == "staff":  # new staff get a first password to pass on, printed once
                imported = await import_staff(factory, path, progress=progress,
                                              default_language=settings.default_locale)
                report = imported.report
                for email, first_password in imported.passwords:
                    print(f"created {email}: first password {first_password}")
            elif args.kind == "deals":
                report = await import_deals(factory, path, settings=settings, progress=progress)
            else:
                report = await import_units(factory, path, progress=progress)
        except CsvFormatError as exc:
            raise UsageError(f"{path}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"FILE: cannot read {path} ({exc.strerror or exc})") from None
    for line, reason in report.errors:
        print(f"{path}:{line}: rejected: {reason}", file=sys.stderr)
    for line, reason in report.warnings:
        print(f"{path}:{line}: warning: {reason}", file=sys.stderr)
    print(f"{args.kind}: {report.summary()}")
    return 1 if report.errors else 0


async def cmd_match(args: argparse.Namespace) -> int:
    try:
        from matching.cli import run_match
    except ModuleNotFoundError as exc:
        if exc.name not in ("matching", "matching.cli"):
            raise
        raise UsageError("match: the matching command line is not installed in this build") from None
    settings = settings_and_logging()
    async with database(settings) as factory:
        print(await run_match(factory, args.text, args.deal, args.top, args.as_json, usd_cny=settings.usd_cny_rate))
    return 0


async def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_and_logging()
    async with database(settings) as factory:
        if args.demo:
            from storage.demo import has_listings

            if not await has_listings(factory):
                await _seed(factory, settings, force=False)
    try:
        from homedesk.app import run as run_app
    except ModuleNotFoundError as exc:
        if exc.name != "homedesk.app":
            raise
        raise UsageError("run: the application (homedesk.app) is not installed in this build") from None
    try:
        await run_app(settings, role=args.role)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            where = f"{settings.console_host}:{settings.console_port}"
            raise UsageError(f"CONSOLE_PORT: cannot listen on {where} ({exc.strerror})") from None
        raise
    return 0
