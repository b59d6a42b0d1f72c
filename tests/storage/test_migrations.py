"""Migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.migrate import upgrade
from storage.models import Base
from tests.dbutil import fresh_engine


async def test_upgrade_matches_models(backend: str, tmp_path) -> None:
    async with fresh_engine(backend, tmp_path, create=False) as engine:
        await upgrade(engine)
        await upgrade(engine)  # a second run is a no-op, as on every restart

        def diff(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return compare_metadata(context, Base.metadata)

        def tables(connection):
            return set(inspect(connection).get_table_names())

        async with engine.connect() as connection:
            differences = await connection.run_sync(diff)
            names = await connection.run_sync(tables)
        assert differences == []
        assert set(Base.metadata.tables) <= names
