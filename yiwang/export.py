"""Exports: the published snapshot as Parquet or CSV files with a manifest, for DuckDB, pandas
and whoever downloads them (`yiwang export`, `GET /exports/...`).

Every table is read in one transaction, so the files show one snapshot, never a mix of two
runs. Rows stream from the store in batches (a table is never held whole) in a fixed order
(the table's sort key, then its row hash), and nothing in a file varies but the rows: the same
snapshot exports to the same bytes, which the manifest's SHA-256s let anyone check. Each
column's Arrow type follows its SQLAlchemy type (money `decimal128(18, 2)`, dates `date32`).
The files are written into a hidden folder beside the target and renamed into place at the end:
a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    TypeDecorator,
    func,
    inspect,
    select,
)

from yiwang.store import changes
from yiwang.store.db import is_postgres
from yiwang.store.publish import latest_run
from yiwang.store.tables import DATA_TABLES, SORT, change, published, stored

FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"
CHANGES = "changes"  # the change feed's file stem (no published table is named so)
BATCH = 20_000  # rows a batch: a few MB of Python objects at the widest table
RUN_FIRST = "run a night first (`yiwang run --as-of DATE`, or `yiwang demo`)"

Progress = Callable[[str, int, int], None]  # (file stem, rows written, rows in all)


class ExportError(Exception):
    """An export that cannot be made (and nothing was written), said for an operator."""


@dataclass(frozen=True)
class ExportedFile:
    name: str
    table: str
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    """What an export holds: the snapshot it shows, its files and each table's columns."""

    run_id: str
    as_of_date: str
    content_hash: str
    chain_hash: str
    format: str
    changes_since: str | None = None
    files: list[ExportedFile] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**data, "files": [ExportedFile(**f) for f in data["files"]]})


# ---- types ----------------------------------------------------------------------------------
def arrow_type(sql_type: Any) -> pa.DataType:
    """The Arrow type of a SQLAlchemy column type (a decorator by what it stores)."""
    if isinstance(sql_type, TypeDecorator):
        return arrow_type(sql_type.impl_instance)
    if isinstance(sql_type, Float):  # before Numeric: Double and Float are Numerics
        return pa.float64()
    if isinstance(sql_type, Numeric):
        return pa.decimal128(sql_type.precision or 38, sql_type.scale or 0)
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us", tz="UTC" if sql_type.timezone else None)
    if isinstance(sql_type, Date):
        return pa.date32()
    if isinstance(sql_type, BigInteger | Integer):
        return pa.int64()
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, String):  # Text and the TEXT variant too
        return pa.string()
    raise TypeError(f"no Arrow type for {sql_type!r}")


def schema_of(table: Table) -> pa.Schema:
    """`table`'s columns as an Arrow schema, each column's description kept as metadata."""
    return pa.schema(
        [
            pa.field(
                c.name,
                arrow_type(c.type),
                nullable=bool(c.nullable),
                metadata={"description": c.comment or ""},
            )
            for c in table.columns
        ]
    )


def _described(schema: pa.Schema, order: Sequence[str]) -> dict[str, Any]:
    columns = [
        {
            "column": f.name,
            "type": str(f.type),
            "nullable": f.nullable,
            "description": (f.metadata or {}).get(b"description", b"").decode(),
        }
        for f in schema
    ]
    return {"order": list(order), "columns": columns}


# ---- reading --------------------------------------------------------------------------------
def sort_columns(table: Table) -> list[str]:
    """A total row order: the table's sort columns, then its row hash (rows alike in both are
    alike in everything), or without one every column."""
    names = list(SORT.get(table.name) or [c.name for c in table.primary_key.columns])
    if "row_hash" in table.c:
        return [*names, "row_hash"]
    return names + [c.name for c in table.columns if c.name not in names]


def _order_by(table: Table) -> list:
    # nulls first on both stores (PostgreSQL puts them last), so both export the same bytes
    columns = [table.c[n] for n in sort_columns(table)]
    return [c.asc().nulls_first() if c.nullable else c for c in columns]


def _rows(conn: Connection, table: Table) -> Iterator[Sequence[tuple]]:
    """`table`'s rows in batches (a server-side cursor on PostgreSQL)."""
    query = select(table).order_by(*_order_by(table))
    result = conn.execution_options(yield_per=BATCH).execute(query)
    for rows in result.partitions():
        yield [tuple(r) for r in rows]


def _frame_rows(frame: pd.DataFrame, names: list[str]) -> Iterator[list[tuple]]:
    """A frame's rows in batches, JSON values rendered as text, missing values as nulls."""
    for start in range(0, len(frame), BATCH):
        part = frame.iloc[start : start + BATCH][names]
        yield [tuple(_plain(v) for v in row) for row in part.itertuples(index=False)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    with contextlib.suppress(TypeError, ValueError):
        if pd.isna(value):
            return None
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def _batch(rows: Sequence[tuple], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [pa.array(values, type=f.type) for values, f in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# ---- writing --------------------------------------------------------------------------------
def _write(
    path: Path,
    fmt: str,
    schema: pa.Schema,
    batches: Iterable[Sequence[tuple]],
    total: int,
    progress: Callable[[int, int], None],
) -> int:
    """Write `batches` to `path` as `fmt`; the rows written."""
    if fmt == "parquet":
        # zstd, no timestamps: the same rows give the same bytes
        writer = pq.ParquetWriter(path, schema, compression="zstd", write_statistics=True)
    else:
        # UTF-8 with a header, money as its exact decimal text, dates ISO, nulls empty (text is
        # quoted, so an empty text, `""`, is told from a null)
        writer = pa_csv.CSVWriter(path, schema.remove_metadata())
    written = 0
    progress(0, total)
    try:
        for rows in batches:
            writer.write_batch(_batch(rows, schema))
            written += len(rows)
            progress(written, total)
    finally:
        writer.close()
    return written


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---- the export -----------------------------------------------------------------------------
def export(
    engine: Engine,
    fmt: str,
    directory: Path,
    changes_since: str | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Write the published snapshot (and, with `changes_since`, the change feed since that
    run) into `directory`, a new or empty folder, as `fmt` files and `manifest.json`.

    Raises `ExportError` for what an operator can fix (nothing written), and the feed's
    `TooOld` when it no longer reaches back to `changes_since`.
    """
    directory = Path(directory)
    _check(engine, fmt, directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.parent / f".{directory.name}.{secrets.token_hex(4)}.partial"
    partial.mkdir()
    try:
        manifest = _export_into(_one_snapshot(engine), fmt, partial, changes_since, progress)
        (partial / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        try:
            os.replace(partial, directory)  # onto a missing or empty folder only
        except OSError as exc:
            raise ExportError(
                f"{directory} was filled while the export ran; give a new or empty directory"
            ) from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _check(engine: Engine, fmt: str, directory: Path) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; give --format parquet or --format csv")
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory} is a file; give a new or empty directory to export to")
    if directory.is_dir() and any(directory.iterdir()):
        raise ExportError(
            f"{directory} is not empty; give a new or empty directory (an export overwrites "
            "nothing)"
        )
    database = engine.url.database
    on_disk = engine.dialect.name == "sqlite" and database and database != ":memory:"
    if on_disk and not Path(database).is_file():  # connecting would create an empty store
        where = Path(database).resolve()
        raise ExportError(
            f"no store at {where}; {RUN_FIRST}, or fix YIWANG_DATABASE_URL (or --database-url)"
        )


def _one_snapshot(engine: Engine) -> Engine:
    """`engine` for one transaction that sees one snapshot throughout: PostgreSQL's read
    committed would give each statement its own (SQLite's WAL gives the transaction one)."""
    if is_postgres(engine):
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine


def _export_into(
    engine: Engine, fmt: str, folder: Path, changes_since: str | None, progress: Progress | None
) -> Manifest:
    said = progress or (lambda _name, _done, _total: None)
    with engine.connect() as conn, conn.begin():
        head = _head(conn, engine)
        manifest = Manifest(
            run_id=head["run_id"],
            as_of_date=_iso(head["as_of_date"]),
            content_hash=head["content_hash"],
            chain_hash=head["chain_hash"],
            format=fmt,
            changes_since=changes_since,
        )
        if changes_since is not None:  # first: a feed that no longer reaches fails at once
            feed = changes.read_changes(conn, changes_since)
            schema = schema_of(change)
            batches = _frame_rows(feed, schema.names)
            _add(
                manifest, folder, CHANGES, fmt, schema, ("seq", "ordinal"), batches, len(feed), said
            )
        for name in DATA_TABLES:
            table = published[name]
            total = conn.execute(select(func.count()).select_from(table)).scalar_one()
            schema = schema_of(table).with_metadata({"yiwang.table": name})
            order = sort_columns(table)
            _add(manifest, folder, name, fmt, schema, order, _rows(conn, table), total, said)
    return manifest


def _add(
    manifest: Manifest,
    folder: Path,
    name: str,
    fmt: str,
    schema: pa.Schema,
    order: Sequence[str],
    batches: Iterable[Sequence[tuple]],
    total: int,
    said: Progress,
) -> None:
    path = folder / f"{name}.{fmt}"
    rows = _write(path, fmt, schema, batches, total, lambda done, all_: said(name, done, all_))
    manifest.files.append(ExportedFile(path.name, name, rows, path.stat().st_size, _sha256(path)))
    manifest.tables[name] = _described(schema, order)


def _head(conn: Connection, engine: Engine) -> dict[str, Any]:
    """The ledger's head as this transaction sees it, or why there is none."""
    where = engine.url.render_as_string(hide_password=True)
    schema = None if conn.dialect.name == "sqlite" else "unified"
    if not inspect(conn).has_table("publish_run", schema=schema):
        raise ExportError(f"{where} holds no Yiwang store; {RUN_FIRST}, or fix the store's URL")
    missing = [t for t in DATA_TABLES if not inspect(conn).has_table(stored[t].name, schema=schema)]
    if missing:
        raise ExportError(
            f"{where} predates this version of Yiwang (it has no {', '.join(missing)}); "
            "run `yiwang db upgrade`, then export again"
        )
    head = latest_run(conn)
    if head is None:
        raise ExportError(f"nothing is published in {where} yet; {RUN_FIRST}")
    return head


def _iso(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)
