"""`upgrade` leaves Alembic out when the schema is already at the head revision (every restart of `homedesk run`:
Alembic, Mako and Pygments cost about 8 MB resident, issue 17), and runs it whenever there is anything to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from storage import migrate
from tests.dbutil import fresh_engine

REPO = Path(__file__).resolve().parents[2]


def test_script_heads_read_from_the_files_are_alembics() -> None:
    heads = set(ScriptDirectory.from_config(migrate.alembic_config()).get_heads())
    assert migrate.script_heads() == heads


def _revision_file(directory: Path, name: str, revision: str, down: str | None, labels: str = "None") -> None:
    down_text = "None" if down is None else f"'{down}'"
    (directory / f"{name}.py").write_text(
        f"revision: str = '{revision}'\ndown_revision: str | None = {down_text}\n"
        f"branch_labels: str | None = {labels}\ndepends_on: str | None = None\n", encoding="utf-8")


def test_script_heads_of_a_chain_and_of_two_branches(tmp_path: Path) -> None:
    _revision_file(tmp_path, "a", "0001", None)
    _revision_file(tmp_path, "b", "0002", "0001")
    assert migrate.script_heads(tmp_path) == {"0002"}
    _revision_file(tmp_path, "c", "0003", "0001")
    assert migrate.script_heads(tmp_path) == {"0002", "0003"}


def test_script_heads_leave_anything_unusual_to_alembic(tmp_path: Path) -> None:
    _revision_file(tmp_path, "a", "0001", None)
    _revision_file(tmp_path, "b", "0002", "0001", labels="('feature',)")
    assert migrate.script_heads(tmp_path) is None  # a branch label
    (tmp_path / "b.py").write_text("revision = '0002'\ndown_revision = ('0001', '0000')\n", encoding="utf-8")
    assert migrate.script_heads(tmp_path) is None  # a merge
    (tmp_path / "b.py").write_text("revision = '0002'\n", encoding="utf-8")
    assert migrate.script_heads(tmp_path) is None  # no down_revision line
    _revision_file(tmp_path, "b", "0002", "9999")
    assert migrate.script_heads(tmp_path) is None  # a parent that is not there
    assert migrate.script_heads(tmp_path / "empty") is None


async def test_alembic_runs_only_when_the_schema_is_behind(backend: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_upgrade = command.upgrade

    def counted(config, revision, **kwargs):
        calls.append(revision)
        return real_upgrade(config, revision, **kwargs)

    monkeypatch.setattr(command, "upgrade", counted)
    (head,) = migrate.script_heads() or {"?"}
    async with fresh_engine(backend, tmp_path, create=False) as engine:
        await migrate.upgrade(engine, "0013")  # an older schema, as before a release
        await migrate.upgrade(engine)  # behind: Alembic brings it to the head
        assert calls == ["0013", "head"]
        await migrate.upgrade(engine)  # a restart: nothing to do, Alembic is not asked
        assert calls == ["0013", "head"]
        async with engine.connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert versions == [head]


def test_an_up_to_date_schema_is_checked_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    script = (
        "import asyncio, sys\n"
        "from storage.db import create_engine\n"
        "from storage.migrate import upgrade\n"
        "async def main(url):\n"
        "    engine = create_engine(url)\n"
        "    await upgrade(engine)\n"
        "    first = 'alembic' in sys.modules\n"
        "    for name in [n for n in sys.modules if n == 'alembic' or n.startswith('alembic.')]:\n"
        "        del sys.modules[name]\n"
        "    await upgrade(engine)\n"
        "    await engine.dispose()\n"
        "    print(first, 'alembic' in sys.modules)\n"
        "asyncio.run(main(sys.argv[1]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, url], cwd=REPO, capture_output=True, text=True,
                            check=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.stdout.split() == ["True", "False"]
