"""The migrations build exactly the tables the code declares (Alembic autogenerate finds no
difference), on PostgreSQL, and re-running them is harmless."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from yiwang.store.db import engine_for, migrate
from yiwang.store.tables import metadata

pytestmark = pytest.mark.postgres


def test_given_a_fresh_database_when_migrated_then_it_matches_the_declared_tables(pg_database):
    engine = engine_for(pg_database)
    migrate(engine)
    migrate(engine)  # again: nothing to do, nothing breaks
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_schemas": True, "version_table_schema": "hub"}
        )
        diff = [d for d in compare_metadata(context, metadata) if "alembic_version" not in str(d)]
    assert diff == []
