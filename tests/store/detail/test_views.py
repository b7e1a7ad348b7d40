"""The BI views, on both backends, over stand-ins shaped as the store's relations (`project`
a view over its stored rows, as the store keeps it): lists as rows, record counts as JSON and
as integers, and every relation commented with its joins."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pandas as pd
import pytest
from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, Table, Text

from tests.conftest import AS_OF
from yiwang.store.db import is_postgres, qualified
from yiwang.store.detail import detail_tables
from yiwang.store.views import COMMENTS, VIEWS, comments, create_views, drop_views


def stand_ins() -> MetaData:
    """The columns the views and comments read, in tables named as the store names them."""
    shape = MetaData()

    def table(name: str, *columns: str) -> None:
        Table(name, shape, *(Column(c, Text) for c in columns), schema="unified")

    table("project_rows", "project_id", "risk_flags", "source_systems")
    table("unit_scorecard", "unit_code", "roles")
    table("source_record", "record_key")
    table("quarantine", "record_key")
    table("spot_check", "project_id")
    table("project_geometry", "project_id")
    table("work_order", "order_no")
    Table(
        "publish_run",
        shape,
        Column("run_id", Text),
        Column("seq", BigInteger),
        Column("as_of_date", Date),
        Column("published_at", DateTime(timezone=True)),
        Column("record_counts", Text),
        schema="unified",
    )
    return shape


def record_counts(small_night) -> dict:
    """As a publication writes them: per source and record type, then the tables' rows."""
    links, quarantine = small_night.links, small_night.night.tables["quarantine"]
    counts = {
        f"{source}/{rt}": {
            "received": n,
            "accepted": int((links["record_type"] == rt).sum()),
            "quarantined": int((quarantine["record_type"] == rt).sum()),
            "linked": int(((links["record_type"] == rt) & links["project_id"].notna()).sum()),
        }
        for (source, rt), n in small_night.night.received.items()
    }
    tables = {name: len(frame) for name, frame in small_night.night.tables.items()}
    return {**counts, "tables": tables}


LISTS = ["project_id", "risk_flags", "source_systems"]
# a list whose items hold what a JSON string escapes: the views must not care
ODD = pd.DataFrame([("X-odd", 'A"B,C\\D', "drc")], columns=LISTS)


@pytest.fixture
def store(fresh_store, small_night):
    night = small_night.night.tables
    projects = pd.concat([night["project"][LISTS], ODD], ignore_index=True)
    with fresh_store.begin() as conn:
        shape = stand_ins()
        shape.create_all(conn)
        rows = qualified(conn, "unified", "project_rows")
        conn.exec_driver_sql(
            f"CREATE VIEW {qualified(conn, 'unified', 'project')} AS SELECT * FROM {rows}"
        )
        t = shape.tables
        conn.execute(t["unified.project_rows"].insert(), projects.to_dict("records"))
        scorecard = night["unit_scorecard"][["unit_code", "roles"]].to_dict("records")
        conn.execute(t["unified.unit_scorecard"].insert(), scorecard)
        when = dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)
        ledger = [
            ("run-1", 1, json.dumps(record_counts(small_night), ensure_ascii=False)),
            ("run-2", 2, json.dumps({"withdraws": "run-1", "tables": {"project": 0}})),
        ]
        conn.execute(
            t["unified.publish_run"].insert(),
            [
                {
                    "run_id": r,
                    "seq": s,
                    "as_of_date": AS_OF,
                    "published_at": when,
                    "record_counts": c,
                }
                for r, s, c in ledger
            ],
        )
        detail_tables(shape)  # the detail tables, commented as they are created
        shape.create_all(conn)
        create_views(conn)
        create_views(conn)  # again: a migration re-creates them after rebuilding `project`
    return fresh_store


def rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        names = {n: qualified(conn, "unified", n) for n in (*VIEWS, "table_comment")}
        return [tuple(r) for r in conn.exec_driver_sql(sql.format(**names)).all()]


def exploded(frame: pd.DataFrame, key: str, listed: str) -> Counter:
    return Counter(
        (k, item) for k, items in zip(frame[key], frame[listed], strict=True)
        for item in items.split(",") if items
    )  # fmt: skip


def test_list_columns_come_as_one_row_per_item(store, small_night):
    night = small_night.night.tables
    projects = pd.concat([night["project"][LISTS], ODD], ignore_index=True)
    flags = Counter(rows(store, "SELECT project_id, risk_flag FROM {project_flag}"))
    assert flags == exploded(projects, "project_id", "risk_flags")
    assert flags[("X-odd", 'A"B')] == flags[("X-odd", "C\\D")] == 1
    systems = Counter(rows(store, "SELECT project_id, source_system FROM {project_source_system}"))
    assert systems == exploded(projects, "project_id", "source_systems")
    assert sum(systems.values()) > len(projects)  # lists of several systems were split
    roles = Counter(rows(store, "SELECT unit_code, role FROM {unit_role}"))
    assert roles == exploded(night["unit_scorecard"], "unit_code", "roles")
    no_flag = night["project"].loc[night["project"]["risk_flags"] == "", "project_id"]
    assert not {p for p, _ in flags} & set(no_flag)


def test_record_counts_as_integers_per_source_and_record_type(store, small_night):
    counts = record_counts(small_night)
    got = rows(
        store,
        "SELECT run_id, source_system, record_type, received, accepted, quarantined, linked "
        "FROM {record_count}",
    )
    expected = [
        (
            "run-1",
            *key.split("/"),
            *(c[n] for n in ("received", "accepted", "quarantined", "linked")),
        )
        for key, c in counts.items()
        if "/" in key
    ]
    assert sorted(got) == sorted(expected) and len(got) == len(small_night.night.received)
    assert all(isinstance(v, int) for row in got for v in row[3:])
    tables = rows(store, "SELECT run_id, table_name, row_count FROM {table_rows}")
    assert sorted(tables) == sorted(
        [("run-1", n, r) for n, r in counts["tables"].items()] + [("run-2", "project", 0)]
    )


def test_run_counts_give_record_counts_as_json(store, small_night):
    got = dict(
        (r[0], r[1:])
        for r in rows(store, "SELECT run_id, withdraws, record_counts FROM {run_counts}")
    )
    first, second = got["run-1"], got["run-2"]
    as_json = first[1] if isinstance(first[1], dict) else json.loads(first[1])  # jsonb: a dict
    assert as_json == record_counts(small_night) and first[0] is None
    assert second[0] == "run-1"
    if is_postgres(store):
        kind = rows(store, "SELECT pg_typeof(record_counts)::text FROM {run_counts} LIMIT 1")
        assert kind == [("jsonb",)]


def test_every_relation_is_commented_with_its_joins(store):
    documented = dict(rows(store, "SELECT table_name, comment FROM {table_comment}"))
    assert documented == comments()
    assert set(COMMENTS) <= set(documented) and "record_voucher" in documented
    assert "Joins" in documented["record_voucher"] and "unit_role" in documented["unit_scorecard"]
    if not is_postgres(store):
        return
    described = dict(
        rows(
            store,
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'unified' "
            "AND c.relkind IN ('r', 'v')",
        )
    )
    for name, text in {**COMMENTS, **{n: v.comment for n, v in VIEWS.items()}}.items():
        assert described[name] == text, name  # `project` as a view, the rest as tables
    assert described["record_voucher"] == documented["record_voucher"]
    column = rows(
        store,
        "SELECT col_description('unified.project_flag'::regclass, 2)",
    )
    assert column == [("one of its risk flags",)]


def test_drop_views_leaves_the_tables(store):
    with store.begin() as conn:
        drop_views(conn)
    listed = (
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'unified'"
        if is_postgres(store)
        else "SELECT name FROM sqlite_master WHERE type = 'view'"
    )
    assert rows(store, listed) == [("project",)]  # the stand-in's own
    with store.connect() as conn:
        kept = f"SELECT count(*) FROM {qualified(conn, 'unified', 'project_rows')}"
        assert conn.exec_driver_sql(kept).scalar_one() > 0
