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
    """The record tables (`yiwang.store.detail`) of departments added since the store was
    made: they follow the departments' declarations, not a migration of their own. The views
    are made again when one is added (their table of comments names it)."""
    from sqlalchemy import inspect

    from yiwang.store.tables import details
    from yiwang.store.views import create_views

    schema = "unified" if connection.dialect.name == "postgresql" else None
    have = inspect(connection)
    added = [t for t in details.values() if not have.has_table(t.name, schema=schema)]
    for table in added:
        table.create(connection)
    if added:
        create_views(connection)
    return [t.name for t in added]


def set_reader_password(engine: Engine, password: str) -> None:
    """Give `yiwang_reader` a password, for servers that do not trust local connections."""
    from psycopg import sql

    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.execute(sql.SQL("ALTER ROLE yiwang_reader PASSWORD {}").format(sql.Literal(password)))
