"""The change feed; `project` and `quarantine` become views over rows without the snapshot's
own columns; the accepted records in a table per record type; views for BI tools.

`project.as_of_date` and `quarantine.last_seen_run` hold the same value in every row of a
snapshot, so each night rewrote every row of both tables for them. They move into
`unified.snapshot` (one row: the snapshot's run and date); the rows move into `project_rows`
and `quarantine_rows`; `project` and `quarantine` are views giving readers the contract's
columns (and each row's `row_hash`). Their rows are hashed again without the moved column, so
the ledger's latest `content_hash` (hashed with it) verifies again once the next night
publishes. `unified.change` holds the change feed (`yiwang.store.changes`); the list-valued
columns as rows, the ledger's counts as JSON and the tables' comments are views
(`yiwang.store.views`). The accepted records' tables (`record_<type>`, `yiwang.store.detail`)
follow the departments' declarations, so `migrate` adds them after the migrations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import pandas as pd
import sqlalchemy as sa
from alembic import op

from yiwang.store.canonical import canonical
from yiwang.store.db import qualified, view_sql
from yiwang.store.publish import ledger, live_runs, rows_into_temp
from yiwang.store.tables import SNAPSHOT_COLUMNS, change, stored
from yiwang.store.views import create_views

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_INDEXES = {"project": ("ix_project_region", "ix_project_owner"), "quarantine": ("ix_quarantine_key",)}  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"

    def name(table: str) -> str:
        return qualified(bind, "unified", table)

    schema = "unified" if postgres else None

    stored["snapshot"].create(bind)
    change.create(bind)
    for view in SNAPSHOT_COLUMNS:
        for index in OLD_INDEXES[view]:
            op.execute(f"DROP INDEX {'unified.' if postgres else ''}{index}")
        op.execute(f"ALTER TABLE {name(view)} RENAME TO {view}_old")
        had = {c["name"] for c in sa.inspect(bind).get_columns(f"{view}_old", schema=schema)}
        stored[view].create(bind)
        # the columns both layouts have (later contract versions add their own to the rows)
        columns = ", ".join(c.name for c in stored[view].columns if c.name in had)
        op.execute(f"INSERT INTO {name(stored[view].name)} ({columns}) SELECT {columns} FROM {name(view)}_old")  # fmt: skip
    runs = ledger(bind)
    live = live_runs(runs)
    if live:  # the run the tables hold (after a withdrawal, the one still standing)
        standing = {"run_id": live[-1]["run_id"], "as_of_date": runs.iloc[-1]["as_of_date"]}
        bind.execute(stored["snapshot"].insert().values(**standing, row_hash=""))
        _rehash(bind, "snapshot")
    for view in SNAPSHOT_COLUMNS:
        _rehash(bind, view)
        op.execute(f"DROP TABLE {name(view)}_old")
        op.execute(view_sql(bind, view))
    create_views(bind)  # the record tables come after, from `yiwang.store.db.add_record_tables`
    if postgres:
        op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA unified TO yiwang_reader")


def _rehash(bind, table: str) -> None:
    """Each stored row's `row_hash` again, over the columns it keeps: the pairs in a temporary
    table, then one statement (a row at a time would scan the table once a row)."""
    target = stored[table]
    frame = _read(bind, target)
    if frame.empty:
        return
    order, _, hashes = canonical(table, frame)
    pairs = list(zip(frame.loc[order, "row_hash"].tolist(), hashes, strict=True))
    rows_into_temp(bind, "_rehash", ["old", "new"], pairs)
    bind.exec_driver_sql("CREATE INDEX _rehash_old ON _rehash (old)")
    name = qualified(bind, "unified", target.name)
    bind.exec_driver_sql(
        f"UPDATE {name} SET row_hash = (SELECT r.new FROM _rehash r WHERE r.old = {name}.row_hash)"
    )
    bind.exec_driver_sql("DROP TABLE _rehash")


def _read(bind, table: sa.Table) -> pd.DataFrame:
    rows = bind.execute(sa.select(table)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def downgrade() -> None:
    raise NotImplementedError("the change feed is not taken out again: restore a backup")
