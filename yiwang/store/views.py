"""Views for BI tools over the published tables, and the tables' comments with their joins.

List-valued columns come as rows (`project_flag`, `project_source_system`, `unit_role`),
`publish_run.record_counts` as JSON (`run_counts`) and flattened to integers (`record_count`,
`table_rows`), and `table_comment` lists every table's comment, joins included, for SQLite,
which keeps no comments. On PostgreSQL the views live in schema `unified` and carry comments.

The views read `project`, `unit_scorecard` and `publish_run` by name only (views or tables
alike; the comments name `source_record`, `quarantine` and `spot_check` too), so
`create_views` runs from a migration once those exist; `drop_views` first when one of them is
rebuilt (PostgreSQL refuses to drop a relation a view depends on).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from schemas.unified import SINCE
from yiwang.store.db import qualified

DETAIL = "record_<type>"  # the detail tables, one per record type (yiwang.store.detail)

# the contract's tables: what each holds, and which column joins which
COMMENTS = {
    "project": (
        "One row per real-world project, as of the snapshot's as_of_date. Key project_id. "
        "Joins: source_record.project_id, spot_check.project_id, project_flag.project_id, "
        f"project_source_system.project_id and {DETAIL}.project_id = project.project_id; "
        "owner_unit_code and entrusted_unit_code = unit_scorecard.unit_code. The lists "
        "risk_flags and source_systems as rows: project_flag, project_source_system."
    ),
    "source_record": (
        "Lineage: every live, valid source record and the project it belongs to. Key "
        "(source_system, record_type, record_key). Joins: project_id = project.project_id "
        "(null: no single project); the record itself is "
        f"{DETAIL} ON (source_system, record_key), type = record_type. A key is here or in "
        "quarantine, never both."
    ),
    "quarantine": (
        "Every record received but not accepted, with every rule it broke and its payload "
        "(sensitive fields masked). No key (keyless records are here too); "
        "(source_system, record_type, record_key) is source_record's, and a key is in one of "
        "the two, never both. record_count gives the counts per source and record type."
    ),
    "publish_run": (
        "The ledger of publications, ordered by seq; key run_id. record_counts is JSON text: "
        "per 'source/record_type' {received, accepted, quarantined, linked}, 'tables' {table: "
        "rows} and, for a withdrawal, 'withdraws' (the run withdrawn). As JSON: run_counts; "
        "as rows: record_count, table_rows (join on run_id)."
    ),
    "unit_scorecard": (
        "红黑榜: one row per credit code that is owner, entrusted unit or contractor on a live "
        "record. Key unit_code. Joins: unit_code = project.owner_unit_code, "
        'project.entrusted_unit_code, record_permit."contractorCreditCode"; roles as rows: '
        "unit_role."
    ),
    "spot_check": (
        "双随机一公开: each month's drawn projects, in draw_rank order. Key (period, "
        "project_id). Joins: project_id = project.project_id."
    ),
    "project_geometry": (
        "Version 1.1: where each project is: the union of its valid land-use parcels "
        "(planning), GeoJSON MultiPolygon text in CRS84, 6 decimals. Key project_id. Joins: "
        "project_id = project.project_id; project.longitude/latitude is a point inside it. "
        "Empty while planning takes no part."
    ),
    "work_order": (
        "Version 1.1: every valid, live 12345 work order under 城乡建设/建筑施工/, linked or "
        "not; no personal data. Key order_no. Joins: project_id = project.project_id (null: "
        "no single project); the whole order (masked) is record_work_order ON record_key = "
        "order_no. Empty while the hotline takes no part."
    ),
}


@dataclass(frozen=True)
class View:
    comment: str
    columns: dict[str, str]  # column -> comment
    sqlite: str  # the SELECT, with {name} for each table it reads
    postgresql: str


def _list_as_rows(source: str, key: str, listed: str, item: str) -> tuple[str, str]:
    """(SQLite, PostgreSQL) SELECTs giving one row per item of a sorted comma list.

    SQLite reads the list as a JSON array (quotes and backslashes escaped; codes hold no
    control characters): a table-valued function per row, so a filter on `key` still uses
    its index, which a recursive CTE over the whole table would not.
    """
    escaped = rf"""replace(replace(t.{listed}, '\', '\\'), '"', '\"')"""  # as JSON has them
    array = f"""'["' || replace({escaped}, ',', '","') || '"]'"""
    sqlite = (
        f"SELECT t.{key} AS {key}, v.value AS {item} FROM {{{source}}} AS t, "
        f"json_each({array}) AS v WHERE t.{listed} <> ''"
    )
    postgresql = (
        f"SELECT t.{key} AS {key}, v.{item} AS {item} FROM {{{source}}} AS t "
        f"CROSS JOIN LATERAL unnest(string_to_array(t.{listed}, ',')) AS v({item}) "
        f"WHERE t.{listed} <> ''"
    )
    return sqlite, postgresql


COUNTS = ("received", "accepted", "quarantined", "linked")

VIEWS = {
    "project_flag": View(
        "project.risk_flags as rows: one per flag a project raises (none for a project with "
        "none). Join project_id = project.project_id.",
        {"project_id": "the project", "risk_flag": "one of its risk flags"},
        *_list_as_rows("project", "project_id", "risk_flags", "risk_flag"),
    ),
    "project_source_system": View(
        "project.source_systems as rows: one per system with a live record linked to the "
        "project. Join project_id = project.project_id.",
        {"project_id": "the project", "source_system": "a system with a record linked"},
        *_list_as_rows("project", "project_id", "source_systems", "source_system"),
    ),
    "unit_role": View(
        "unit_scorecard.roles as rows: one per role a unit has. Join unit_code = "
        "unit_scorecard.unit_code.",
        {"unit_code": "the unit's credit code", "role": "`contractor`, `entrusted` or `owner`"},
        *_list_as_rows("unit_scorecard", "unit_code", "roles", "role"),
    ),
    "run_counts": View(
        "publish_run with record_counts as JSON (jsonb on PostgreSQL). Join run_id = "
        "publish_run.run_id.",
        {
            "run_id": "the run",
            "seq": "the ledger's order",
            "as_of_date": "the business date published",
            "published_at": "when committed",
            "withdraws": "the run this row withdraws; null for a publication",
            "record_counts": "JSON: per 'source/record_type' the counts, 'tables' the rows",
        },
        "SELECT run_id, seq, as_of_date, published_at, "
        "json_extract(record_counts, '$.withdraws') AS withdraws, "
        "json(record_counts) AS record_counts FROM {publish_run}",
        "SELECT run_id, seq, as_of_date, published_at, "
        "record_counts::jsonb ->> 'withdraws' AS withdraws, "
        "record_counts::jsonb AS record_counts FROM {publish_run}",
    ),
    "record_count": View(
        "publish_run.record_counts flattened: per run, source system and record type, the "
        "records received, accepted, quarantined and linked. Join run_id = "
        "publish_run.run_id; (source_system, record_type) = source_record's.",
        {
            "run_id": "the run",
            "seq": "the ledger's order",
            "as_of_date": "the business date published",
            "source_system": "as in source_record",
            "record_type": "as in source_record",
            "received": "distinct live keys received, and each keyless record",
            "accepted": "records accepted (rows in source_record)",
            "quarantined": "records quarantined",
            "linked": "accepted records linked to a project",
        },
        "SELECT r.run_id, r.seq, r.as_of_date, "
        "substr(c.key, 1, instr(c.key, '/') - 1) AS source_system, "
        "substr(c.key, instr(c.key, '/') + 1) AS record_type, "
        + ", ".join(f"CAST(json_extract(c.value, '$.{n}') AS INTEGER) AS {n}" for n in COUNTS)
        + " FROM {publish_run} AS r, json_each(r.record_counts) AS c "
        "WHERE instr(c.key, '/') > 0 AND c.type = 'object'",
        "SELECT r.run_id, r.seq, r.as_of_date, "
        "split_part(c.key, '/', 1) AS source_system, "
        "substr(c.key, strpos(c.key, '/') + 1) AS record_type, "
        + ", ".join(f"(c.value ->> '{n}')::bigint AS {n}" for n in COUNTS)
        + " FROM {publish_run} AS r "
        "CROSS JOIN LATERAL jsonb_each(r.record_counts::jsonb) AS c(key, value) "
        "WHERE strpos(c.key, '/') > 0 AND jsonb_typeof(c.value) = 'object'",
    ),
    "table_rows": View(
        "publish_run.record_counts' 'tables' as rows: per run, the rows of each table it "
        "published. Join run_id = publish_run.run_id.",
        {
            "run_id": "the run",
            "seq": "the ledger's order",
            "table_name": "a published table",
            "row_count": "its rows in that run's snapshot",
        },
        "SELECT r.run_id, r.seq, c.key AS table_name, CAST(c.value AS INTEGER) AS row_count "
        "FROM {publish_run} AS r, json_each(r.record_counts, '$.tables') AS c",
        "SELECT r.run_id, r.seq, c.key AS table_name, c.value::bigint AS row_count "
        "FROM {publish_run} AS r "
        "CROSS JOIN LATERAL jsonb_each_text(r.record_counts::jsonb -> 'tables') AS c(key, value)",
    ),
}
READS = ("project", "unit_scorecard", "publish_run")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comments() -> dict[str, str]:
    """Every relation's comment: the contract's tables, the detail tables and these views."""
    from yiwang.store.tables import details as tables  # it imports this module's COMMENTS

    details = {name: t.comment or "" for name, t in tables.items()}
    return {**COMMENTS, **details, **{name: v.comment for name, v in VIEWS.items()}}


def _table_comment_sql() -> str:
    rows = ", ".join(f"({_literal(n)}, {_literal(c)})" for n, c in comments().items())
    return f"WITH t(table_name, comment) AS (VALUES {rows}) SELECT table_name, comment FROM t"


def _execute(conn: Connection, sql: str) -> None:
    # psycopg reads `%` as a placeholder even without parameters; a comment may hold one
    conn.exec_driver_sql(sql.replace("%", "%%") if conn.dialect.name == "postgresql" else sql)


def create_views(conn: Connection) -> None:
    """Create (or re-create) every view; on PostgreSQL comment them and the contract's tables."""
    drop_views(conn)
    dialect = conn.dialect.name
    names = {n: qualified(conn, "unified", n) for n in READS}
    for name, view in VIEWS.items():
        select = view.postgresql if dialect == "postgresql" else view.sqlite
        target = qualified(conn, "unified", name)
        _execute(conn, f"CREATE VIEW {target} AS {select.format(**names)}")
    target = qualified(conn, "unified", "table_comment")
    _execute(conn, f"CREATE VIEW {target} AS {_table_comment_sql()}")
    if dialect == "postgresql":
        comment_relations(conn)


def drop_views(conn: Connection) -> None:
    for name in ("table_comment", *reversed(VIEWS)):
        _execute(conn, f"DROP VIEW IF EXISTS {qualified(conn, 'unified', name)}")


KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}


def comment_relations(conn: Connection) -> None:
    """PostgreSQL: COMMENT ON each contract table (as a table or a view, whichever it is now)
    and on these views and their columns. The detail tables get theirs when created."""
    kinds = dict(
        conn.exec_driver_sql(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'unified'"
        ).all()
    )
    for name, text in {**COMMENTS, **{n: v.comment for n, v in VIEWS.items()}}.items():
        if name not in kinds and name in SINCE:
            continue  # a later version's table, commented once `add_record_tables` makes it
        if name not in kinds:
            raise LookupError(f"unified.{name} does not exist; create it before its comment")
        _execute(conn, f"COMMENT ON {KINDS[kinds[name]]} unified.{name} IS {_literal(text)}")
    for name, view in VIEWS.items():
        for column, text in view.columns.items():
            _execute(conn, f"COMMENT ON COLUMN unified.{name}.{column} IS {_literal(text)}")
    _execute(
        conn,
        "COMMENT ON VIEW unified.table_comment IS "
        + _literal("Every published table's and view's comment, joins included."),
    )
