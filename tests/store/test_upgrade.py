"""A store published before the change feed (revision 0004) keeps its snapshot through the
upgrade: `project` and `quarantine` become views over the same rows (each hashed again without
the snapshot's own column), the snapshot's run and date move into `snapshot`, and the next night
publishes over it and verifies."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from typer.testing import CliRunner

import yiwang.store.db
from tests.conftest import AS_OF, night
from yiwang.cli.main import app
from yiwang.store.canonical import canonical, later_columns, ledger_row_hash
from yiwang.store.db import engine_for, migrate, qualified
from yiwang.store.publish import read_table, verify
from yiwang.store.tables import SORT, details, published
from yiwang.store.views import create_views, drop_views

# the columns Version 1.1 added (planning, hotline): a store before the feed had none of them
LATER = sorted(later_columns("project"))
BEFORE_THE_FEED = ("publish_run", "project", "source_record", "quarantine", "unit_scorecard", "spot_check")  # fmt: skip


@pytest.fixture
def fresh_store(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("pg_database")


def _upgrade_to(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(yiwang.store.db.__file__).parent / "migrations"))  # fmt: skip
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _sorted(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(SORT[name]), na_position="first").reset_index(drop=True)


def _before_1_1(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows without Version 1.1's columns, each with the hash it has without them."""
    if name != "project":
        return frame
    order, _, hashes = canonical(name, frame.assign(**dict.fromkeys(LATER)))
    frame = frame.drop(columns=LATER)
    frame.loc[order, "row_hash"] = list(hashes)
    return frame


def _as_before_the_feed(runs: pd.DataFrame) -> pd.DataFrame:
    """The ledger as revision 0004 wrote it: counts of its own tables, no `changes`."""
    rows = []
    for row in runs.drop(columns="row_hash").to_dict("records"):
        counts = json.loads(row["record_counts"])
        counts.pop("changes")
        counts["tables"] = {t: n for t, n in counts["tables"].items() if t in BEFORE_THE_FEED}
        row["record_counts"] = json.dumps(counts, sort_keys=True, ensure_ascii=False)
        rows.append({**row, "row_hash": ledger_row_hash(row)})
    return pd.DataFrame(rows)


def test_given_a_store_published_before_the_feed_when_upgraded_then_its_snapshot_stays(
    backend, published_small, fresh_store, world, tmp_path
):
    with engine_for(published_small[backend][0]).connect() as conn:
        snapshot = {name: read_table(conn, name) for name in BEFORE_THE_FEED}
    snapshot["publish_run"] = _as_before_the_feed(snapshot["publish_run"])
    engine = engine_for(fresh_store)
    _upgrade_to(engine, "0004")  # the tables as they were: `project` and `quarantine` tables
    with engine.begin() as conn:
        for name in snapshot:
            frame = snapshot[name] = _before_1_1(name, snapshot[name])
            if name in ("project", "quarantine"):  # hashed then with the column that moves
                frame = frame.assign(row_hash=[f"{i:064x}" for i in range(len(frame))])
            rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
            conn.execute(published[name].insert().values(), rows)
    refused = CliRunner().invoke(
        app, ["export", str(tmp_path / "x"), "--database-url", fresh_store]
    )
    assert refused.exit_code == 1 and "run `yiwang db upgrade`" in refused.output, refused.output
    assert "Traceback" not in refused.output
    migrate(engine)

    with engine.connect() as conn:
        for name in ("project", "quarantine"):  # now views, the same rows and hashes
            after = read_table(conn, name).drop(columns=LATER, errors="ignore")
            pd.testing.assert_frame_equal(_sorted(name, after), _sorted(name, snapshot[name]))
        (kept,) = conn.execute(select(published["snapshot"].c.run_id, published["snapshot"].c.as_of_date)).all()  # fmt: skip
    assert tuple(kept) == (f"{AS_OF}", AS_OF)
    upgraded = verify(engine)  # every row verifies; the head's hash is of the old layout
    assert [p for p in upgraded.problems if "before this store was upgraded" not in p] == []
    later = night(fresh_store, world, AS_OF + dt.timedelta(days=1), tmp_path / "q").published
    assert later.status == "published"
    assert verify(engine).ok


def test_given_a_department_added_since_the_store_was_made_then_migrate_adds_its_records(
    fresh_store,
):
    engine = engine_for(fresh_store)
    migrate(engine)
    with engine.begin() as conn:  # as if `record_voucher`'s department came after the store
        drop_views(conn)
        conn.exec_driver_sql(f"DROP TABLE {qualified(conn, 'unified', 'record_voucher')}")
        create_views(conn)
    migrate(engine)
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(details["record_voucher"])).scalar() == 0
        )
        listed = (
            conn.exec_driver_sql(
                f"SELECT table_name FROM {qualified(conn, 'unified', 'table_comment')}"
            )
            .scalars()
            .all()
        )
    assert "record_voucher" in listed


def test_given_a_store_made_before_version_1_1_then_migrate_adds_its_columns_and_tables(
    fresh_store,
):
    engine = engine_for(fresh_store)
    migrate(engine)
    later_tables = ["project_geometry", "work_order", "record_land_use_permit",
                    "record_works_permit", "record_work_order"]  # fmt: skip
    with engine.begin() as conn:  # the store as 1.0 made it
        drop_views(conn)
        conn.exec_driver_sql(f"DROP VIEW {qualified(conn, 'unified', 'project')}")
        for table in later_tables:
            conn.exec_driver_sql(f"DROP TABLE {qualified(conn, 'unified', table)}")
        rows = qualified(conn, "unified", "project_rows")
        for column in LATER:
            conn.exec_driver_sql(f"ALTER TABLE {rows} DROP COLUMN {column}")
    added = set(migrate_and_tell(engine))
    assert set(later_tables) | {f"project_rows.{c}" for c in LATER} == added
    with engine.connect() as conn:
        project = read_table(conn, "project")
        listed = conn.exec_driver_sql(
            f"SELECT table_name FROM {qualified(conn, 'unified', 'table_comment')}"
        ).scalars()
        assert {"project_geometry", "work_order"} <= set(listed)
    assert set(LATER) <= set(project.columns) and verify(engine).ok


def migrate_and_tell(engine) -> list[str]:
    """`migrate`, and what `add_record_tables` added."""
    from yiwang.store.db import add_record_tables

    added: list[str] = []
    real = add_record_tables

    def telling(connection):
        added.extend(real(connection))
        return added

    import yiwang.store.db as db

    db.add_record_tables = telling
    try:
        migrate(engine)
    finally:
        db.add_record_tables = real
    return added
