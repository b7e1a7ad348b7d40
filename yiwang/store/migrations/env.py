"""Alembic environment: run on the connection `yiwang.store.db.migrate` hands over."""

from alembic import context

from yiwang.store.tables import metadata

connection = context.config.attributes["connection"]
postgres = connection.dialect.name == "postgresql"
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_schemas=postgres,
    version_table_schema="hub" if postgres else None,
    render_as_batch=not postgres,  # SQLite alters tables by copying them
)
if postgres:  # the version table lives in `hub`, which must exist first
    connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS hub")
with context.begin_transaction():
    context.run_migrations()
