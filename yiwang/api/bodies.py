"""Response bodies as JSON bytes: rows as the API shows them (money an exact decimal string,
dates ISO, no row_hash), keyset pages, and a project's body from the JSON PostgreSQL renders."""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from yiwang.api.provenance import figures
from yiwang.store.tables import Money, published

P, S = published["project"], published["source_record"]


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row(mapping) -> dict[str, Any]:
    return {k: _json(v) for k, v in mapping.items() if k != "row_hash"}


def as_json(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def page(rows, limit: int, key: str) -> dict[str, Any]:
    """A keyset page: `next` is the `after` of the next page (None on the last)."""
    items = [row(r) for r in rows[:limit]]
    return {"items": items, "next": items[-1][key] if len(rows) > limit else None}


def _as_shown(table) -> str:
    """`table`'s columns as the API shows them, for SQL: money as exact text, no row_hash."""
    return ", ".join(
        f"{c.name}::text AS {c.name}" if isinstance(c.type, Money) else c.name
        for c in table.columns
        if c.name != "row_hash"
    )


def _projects_in_sql(where: str) -> str:
    """Projects' bodies in one statement (one round trip, one snapshot): the latest
    publication, and per project its id, itself and its records as compact JSON, and its
    records' keys per record type. Driver SQL: it spares the CPU SQLAlchemy spends on every
    statement compiling a `text()`."""
    return f"""
SELECT (SELECT seq FROM unified.publish_run ORDER BY seq DESC LIMIT 1), p.project_id,
       row_to_json(p)::text,
       (SELECT '[' || coalesce(string_agg(row_to_json(r)::text, ','
                   ORDER BY source_system, record_type, record_key), '') || ']'
          FROM (SELECT {_as_shown(S)} FROM unified.source_record s
                 WHERE s.project_id = p.project_id) r),
       (SELECT json_object_agg(record_type, record_keys)::text FROM (
            SELECT record_type, json_agg(record_key ORDER BY source_system, record_key)
                   AS record_keys
              FROM unified.source_record s WHERE s.project_id = p.project_id
             GROUP BY record_type) k)
  FROM (SELECT {_as_shown(P)} FROM unified.project WHERE {where}) p
 ORDER BY p.project_id
"""


PROJECT_IN_SQL = _projects_in_sql("project_id = %(id)s")
# a chunk of projects in id order after `after`, for warming the cache on a new snapshot
PROJECTS_IN_SQL = _projects_in_sql("project_id > %(after)s ORDER BY project_id LIMIT %(n)s")


def project_body(out: str, linked: str, keys: str | None) -> bytes:
    """A project's body from the JSON PostgreSQL rendered (`_projects_in_sql`)."""
    shown = figures(json.loads(out), json.loads(keys or "{}"))
    parts = (b'{"project":', out.encode(), b',"source_records":', linked.encode(),
             b',"figures":', as_json(shown), b"}")  # fmt: skip
    return b"".join(parts)
