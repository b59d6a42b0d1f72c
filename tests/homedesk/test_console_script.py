"""The installed `homedesk` console script, run as a real process: exit code 2 and exactly one line on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("homedesk")
pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed (pip install -e .)")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "LANG": "C.UTF-8", **env}
    return subprocess.run(args, cwd=cwd, env=clean, capture_output=True, text=True, timeout=60, check=False)


def test_bad_database_url(tmp_path: Path, closed_port: int) -> None:
    result = run(
        [str(SCRIPT), "migrate"], tmp_path, DATABASE_URL=f"postgresql+asyncpg://u:pw@127.0.0.1:{closed_port}/x"
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"homedesk: DATABASE_URL: cannot connect to 127.0.0.1:{closed_port} (connection refused)"
    ]


def test_malformed_bot_token(tmp_path: Path) -> None:
    result = run([str(SCRIPT), "run"], tmp_path, TELEGRAM_BOT_TOKEN="12345:nope")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("homedesk: TELEGRAM_BOT_TOKEN: does not look like a Telegram bot token")
    assert "Traceback" not in result.stderr


def test_python_dash_m_and_migrate(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "homedesk", "migrate"], tmp_path, DATABASE_URL="sqlite+aiosqlite:///h.db")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "up to date" in result.stdout and (tmp_path / "h.db").is_file()
