"""Each command-line test runs in its own directory with a clean environment and leaves logging as it found it."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

SETTINGS_ENV = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE", "DATABASE_URL", "REDIS_URL", "CONSOLE_HOST", "CONSOLE_PORT",
    "CONSOLE_SECRET", "WEBHOOK_URL", "WEBHOOK_SECRET", "TIMEZONE", "DEFAULT_LOCALE", "LOG_LEVEL", "MEDIA_DIR",
    "HOMEDESK_DEMO_PASSWORD",
)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with no .env and DATABASE_URL pointing at a fresh SQLite file there."""
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'homedesk.db'}")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    alembic_level = logging.getLogger("alembic").level
    yield tmp_path
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(alembic_level)


@pytest.fixture
def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
