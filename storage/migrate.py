"""Run Alembic migrations programmatically (`homedesk migrate`, and `homedesk run` on start).

Alembic (with Mako, and Pygments which Mako loads when it is installed: about 8 MB resident) is imported only
when there is something to do: a schema already at the head revision, as on every restart, is recognised from
the revision files and the alembic_version table alone, so the long-running `homedesk run` never loads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^revision(?:\s*:[^=\n]*)?\s*=\s*['\"]([^'\"]+)['\"]\s*$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(None|['\"]([^'\"]+)['\"])\s*$", re.MULTILINE)
_NO_DEPENDENCIES = re.compile(r"^(branch_labels|depends_on)(?:\s*:[^=\n]*)?\s*=\s*None\s*$", re.MULTILINE)


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def script_heads(versions: Path = MIGRATIONS / "versions") -> set[str] | None:
    """The head revisions of the revision files, read without Alembic; None when a file is not of the plain form
    (one string revision, one string or None down_revision, no branch labels or dependencies): Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.findall(source)
        down = _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1 or len(_NO_DEPENDENCIES.findall(source)) != 2:
            return None
        revisions.add(revision[0])
        if down[0][1]:
            parents.add(down[0][1])
    heads = revisions - parents
    return heads if revisions and parents <= revisions else None


def _current_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return {str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))}


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    if revision == "head":
        heads = script_heads()
        if heads is not None:
            async with engine.connect() as connection:
                if await connection.run_sync(_current_revisions) == heads:
                    return  # up to date: nothing for Alembic to do
    from alembic import command

    config = alembic_config(str(engine.url))

    def _upgrade(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
