"""The store's connection: one URL (the edge's `Settings.store_url`: `YIWANG_DATABASE_URL`,
SQLite by default, PostgreSQL in production), and the migrations that shape it.

PostgreSQL keeps the published tables in schema `unified` and the hub's own in `hub`; SQLite
has no schemas, so both map onto its main database (the table names do not collide).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

SCHEMAS = ("unified", "hub")


def engine_for(url: str, **pool: Any) -> Engine:
    """An engine for `url`; PostgreSQL through psycopg 3, its pool set by `pool`
    (`create_engine`'s options), with a ping before each checkout unless
    `pool_pre_ping=False`."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLAlchemy's own BEGIN handling: pysqlite's is off, so a transaction spans reads too
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine.execution_options(schema_translate_map=dict.fromkeys(SCHEMAS))
    return create_engine(url, **{"pool_pre_ping": True, **pool})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL: a reader keeps its snapshot while a publish commits; the writer never blocks it
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def qualified(engine_or_dialect, schema: str, table: str) -> str:
    """A table's name as raw SQL must spell it on this database."""
    name = getattr(engine_or_dialect, "dialect", engine_or_dialect).name
    return table if name == "sqlite" else f"{schema}.{table}"


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic `upgrade head`), one migration at a
    time: two first nights on an empty store would otherwise both create it."""
    from alembic import command
    from alembic.config import Config

    from yiwang.store.lock import migration_lock

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with migration_lock(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        add_record_tables(connection)


def add_record_tables(connection) -> list[str]:
    """What the declarations add since the store was made, which follows them rather than a
    migration of its own: the record tables (`yiwang.store.detail`) of departments added
    since, the tables and `project` columns of later contract versions. The views are made
    again when anything is added (their table of comments names the tables; `project` lists
    its columns). Returns what was added."""
    from sqlalchemy import inspect

    from yiwang.store.tables import SINCE, SNAPSHOT_COLUMNS, details, stored
    from yiwang.store.views import create_views, drop_views

    schema = "unified" if connection.dialect.name == "postgresql" else None
    have = inspect(connection)
    wanted = [*details.values(), *(stored[name] for name in SINCE)]
    added = [t for t in wanted if not have.has_table(t.name, schema=schema)]
    for table in added:
        table.create(connection)
    columns = []
    for view in SNAPSHOT_COLUMNS:
        rows = stored[view]
        if not have.has_table(rows.name, schema=schema):
            continue  # before the change feed's migration: it makes them whole
        present = {c["name"] for c in have.get_columns(rows.name, schema=schema)}
        for column in rows.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=connection.dialect)
                target = qualified(connection, "unified", rows.name)
                connection.exec_driver_sql(f"ALTER TABLE {target} ADD COLUMN {column.name} {kind}")
                columns.append(f"{rows.name}.{column.name}")
    if columns:
        drop_views(connection)
        for view in SNAPSHOT_COLUMNS:
            connection.exec_driver_sql(
                f"DROP VIEW IF EXISTS {qualified(connection, 'unified', view)}"
            )
            connection.exec_driver_sql(view_sql(connection, view))
    if added or columns:
        create_views(connection)
        if schema:
            connection.exec_driver_sql(
                "GRANT SELECT ON ALL TABLES IN SCHEMA unified TO yiwang_reader"
            )
    return [t.name for t in added] + columns


def view_sql(bind, view: str) -> str:
    """The contract's table `view` over its stored rows and the snapshot's column."""
    from yiwang.store.tables import SNAPSHOT_COLUMNS, published, stored

    moved = SNAPSHOT_COLUMNS[view]
    source = {"as_of_date": "s.as_of_date", "last_seen_run": "s.run_id"}[moved]
    columns = ", ".join(
        f"{source} AS {c.name}" if c.name == moved else f"r.{c.name}"
        for c in published[view].columns
    )
    rows, snapshot = (qualified(bind, "unified", t) for t in (stored[view].name, "snapshot"))
    return (
        f"CREATE VIEW {qualified(bind, 'unified', view)} AS SELECT {columns} "
        f"FROM {rows} r CROSS JOIN {snapshot} s"
    )


def set_reader_password(engine: Engine, password: str) -> None:
    """Give `yiwang_reader` a password, for servers that do not trust local connections."""
    from psycopg import sql

    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.execute(sql.SQL("ALTER ROLE yiwang_reader PASSWORD {}").format(sql.Literal(password)))
