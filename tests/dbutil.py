"""Test databases: a fresh SQLite file, or a fresh PostgreSQL schema when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.models import Base

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'homedesk-test.db'}"


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[tuple[str, dict]]:
    """A throw-away schema; yields (url, connect_args) that put it first on the search path."""
    assert PG_URL, "TEST_DATABASE_URL is not set"
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, {"server_settings": {"search_path": schema}}
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def fresh_engine(backend: str, tmp_path: Path, create: bool = True) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database with every table created (unless create=False)."""
    if backend == "sqlite":
        engine = create_engine(sqlite_url(tmp_path))
        try:
            if create:
                async with engine.begin() as connection:
                    await connection.run_sync(Base.metadata.create_all)
            yield engine
        finally:
            await engine.dispose()
        return
    async with postgres_schema() as (url, connect_args):
        engine = create_engine(url, connect_args=connect_args)
        try:
            if create:
                async with engine.begin() as connection:
                    await connection.run_sync(Base.metadata.create_all)
            yield engine
        finally:
            await engine.dispose()
