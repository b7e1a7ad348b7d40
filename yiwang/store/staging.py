"""Staging in the database: the connectors' `Sink`, with records and state in one transaction.

Each commit upserts the latest version of every record per key (a higher or equal `_version`
replaces the stored one, so re-reading a page never double-counts) and writes the stream's
incremental state in the *same* transaction: a crash can leave the state behind its data,
never ahead of it. Bulk paths: PostgreSQL `COPY` into a temporary table and one set-based
`INSERT … ON CONFLICT`; SQLite an `executemany` of the same upsert.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from connectors.core.formats import TZ
from connectors.core.record_json import DECIMAL_TAG, encode
from connectors.core.state import CoalescingSink, latest_versions
from connectors.core.stream import Stream
from departments.registry import registry
from yiwang.store.db import is_postgres, qualified
from yiwang.store.tables import staged_record, stream_state

COLUMNS = ("source", "stream", "record_id", "has_key", "version", "record", "run_id")


def _hook(obj: dict) -> Any:
    return Decimal(obj[DECIMAL_TAG]) if len(obj) == 1 and DECIMAL_TAG in obj else obj


def _untagged(value: Any) -> Any:
    """`_hook` applied to every object inside `value`, innermost first, as `json.loads` does;
    objects are changed in place (only values that are objects or arrays are visited)."""
    if type(value) is dict:
        for k, v in value.items():
            if type(v) is dict or type(v) is list:
                value[k] = _untagged(v)
        return _hook(value)
    if type(value) is list:
        for i, v in enumerate(value):
            if type(v) is dict or type(v) is list:
                value[i] = _untagged(v)
    return value


DECODE_CHUNK = 50_000  # records per C decode: bounds the joined text's memory
READ_CHUNK = 10_000  # records read and decoded at a time: bounds their text and dicts


def _parsed(records: list[str]) -> list[dict]:
    """Each record's JSON as a dict, money as `Decimal`.

    msgspec decodes a whole chunk in C, several times faster than `json.loads` per record;
    only records that carry money are walked again in Python. A chunk msgspec refuses (a
    number beyond a double, a lone surrogate) is decoded by `json` instead, with the same
    result.
    """
    out: list[dict] = []
    for start in range(0, len(records), DECODE_CHUNK):
        chunk = records[start : start + DECODE_CHUNK]
        try:
            rows = msgspec.json.decode("[" + ",".join(chunk) + "]")
        except (msgspec.MsgspecError, ValueError):
            out.extend(json.loads(r, object_hook=_hook) for r in chunk)
            continue
        for i, text in enumerate(chunk):
            if DECIMAL_TAG in text:
                rows[i] = _untagged(rows[i])
        out.extend(rows)
    return out


def decode(
    records: list[str], keys: list[str | None], versions: list[str], stream: Stream
) -> pd.DataFrame:
    """The frame `encode` was given (epoch fields typed again as Asia/Shanghai times)."""
    rows = _parsed(records)
    frame = _shared_strings(pd.DataFrame.from_records(rows))
    for name in frame.columns:
        if frame[name].dtype.kind in "biuf":  # each cell as received: no 5 made 5.0 by a null
            frame[name] = pd.Series([r.get(name) for r in rows], dtype=object)
    frame["_key"] = pd.Series(keys, dtype=object)
    frame["_version"] = pd.Series(versions, dtype=object)
    for name in stream.epoch_ms:
        if name in frame.columns:
            ms = pd.to_numeric(frame[name], errors="coerce")
            frame[name] = pd.to_datetime(ms, unit="ms", utc=True).dt.tz_convert(TZ)
    return frame


def _shared_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Each text column with one object per distinct value, not one per cell.

    Decoded JSON holds a new string in every cell, and source columns repeat heavily (units,
    payees, results); the night keeps every stream in memory at once. Only columns of nothing
    but strings (and nulls) are shared: elsewhere equality would merge 1, 1.0 and True.
    """
    for name in frame.columns:
        column = frame[name]
        text = isinstance(column.dtype, pd.StringDtype) or (
            column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string"
        )
        if not text:
            continue
        codes, uniques = pd.factorize(column)
        shared = np.asarray(uniques, dtype=object).take(codes)
        shared[codes < 0] = None
        frame[name] = pd.Series(shared, index=column.index, dtype=column.dtype)
    return frame


class DbSink(CoalescingSink):
    """The store's `Sink`: one transaction per (coalesced) checkpoint."""

    def __init__(
        self,
        engine: Engine,
        run_id: str,
        commit_every_s: float = 5.0,
        max_pending_rows: int = 50_000,  # bounds the memory a fast source's buffer takes
    ) -> None:
        super().__init__(commit_every_s, max_pending_rows, background=True)
        self.engine, self.run_id = engine, run_id

    def state(self, source: str, stream: str) -> dict | None:
        query = select(stream_state.c.state).where(
            stream_state.c.source == source, stream_state.c.stream == stream
        )
        with self.engine.connect() as conn:
            text = conn.execute(query).scalar()
        return json.loads(text) if text else None

    def _write(
        self, source: str, stream: Stream, frames: list[pd.DataFrame], state: dict | None
    ) -> None:
        rows = latest_versions(frames)
        with self.engine.begin() as conn:
            if len(rows):
                self._upsert(conn, self._table_rows(source, stream.name, rows))
            if state is not None:
                _put_state(conn, source, stream.name, state, self.run_id)

    def _table_rows(self, source: str, stream: str, rows: pd.DataFrame) -> list[tuple]:
        records = encode(rows)
        keys = rows["_key"].tolist()
        ids = [
            k if k is not None else "~" + hashlib.sha256(r.encode()).hexdigest()[:32]
            for k, r in zip(keys, records, strict=True)
        ]
        versions = rows["_version"].fillna("").astype(str).tolist()
        return [
            (source, stream, i, k is not None, v, r, self.run_id)
            for i, k, v, r in zip(ids, keys, versions, records, strict=True)
        ]

    def _upsert(self, conn: Connection, rows: list[tuple]) -> None:
        target = qualified(conn, "hub", "staged_record")
        names = ", ".join(COLUMNS)
        postgres = is_postgres(conn.engine)
        conflict = (
            "ON CONFLICT (source, stream, record_id) DO UPDATE SET has_key = excluded.has_key, "
            "version = excluded.version, record = excluded.record, run_id = excluded.run_id"
            # a replaced record takes the next number too, so it reads as changed
            + (", seq = excluded.seq" if postgres else "")
            + f" WHERE excluded.version >= {target}.version"
        )
        if postgres:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS _incoming ON COMMIT DELETE ROWS AS "
                    f"SELECT {names} FROM {target} WITH NO DATA"
                )
                with cur.copy(f"COPY _incoming ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cur.execute(
                    f"INSERT INTO {target} ({names}) SELECT {names} FROM _incoming {conflict}"
                )
        else:
            marks = ", ".join("?" * len(COLUMNS))
            conn.exec_driver_sql(
                f"INSERT INTO {target} ({names}) VALUES ({marks}) {conflict}", rows
            )

    def records(self, source: str, stream: str) -> pd.DataFrame:
        """The latest version of every staged record of `stream` (tombstoned keys included)."""
        return self.read(source, stream)

    def read(
        self,
        source: str,
        stream: str,
        since: int | None = None,
        ids: bool = False,
        staged_by: str | None = None,
    ) -> pd.DataFrame:
        """`records`, or (PostgreSQL) only those written after write number `since`, or only
        those whose latest version run `staged_by` staged; with `ids`, each record's
        `record_id` in column `_record_id`.

        Read and decoded a chunk at a time, each chunk's text and dicts let go once it is a
        frame: the stream's memory is its frame, not its JSON and its dicts on top.
        """
        spec = registry()[source].stream(stream)
        t = staged_record.c
        query = (  # byte order on both stores (the column's collation), so reads are stable
            select(t.has_key, t.record_id, t.version, t.record)
            .where(t.source == source, t.stream == stream)
            .order_by(t.record_id)
        )
        if since is not None:
            query = query.where(t.seq > since)
        if staged_by is not None:
            query = query.where(t.run_id == staged_by)
        frames = []
        with self.engine.connect() as conn, ThreadPoolExecutor(1) as fetcher:
            if since is not None and is_postgres(self.engine):
                # a cursor is planned for its first rows: the key's index, filtering out every
                # record staged before `since` (on an incremental night nearly all of them)
                # rather than the write-number index and a sort
                conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
            result = conn.execution_options(yield_per=READ_CHUNK).execute(query)
            chunks = result.partitions()
            # the next chunk is fetched while this one is decoded: the database's reading and
            # sending overlap our decoding (once the query runs, only the fetcher reads)
            ahead = fetcher.submit(next, chunks, None)
            while (rows := ahead.result()) is not None:
                ahead = fetcher.submit(next, chunks, None)
                has_key, record_ids, versions, texts = zip(*rows, strict=True)
                keys = [i if k else None for k, i in zip(has_key, record_ids, strict=True)]
                frame = decode(list(texts), keys, list(versions), spec)
                if ids:
                    frame["_record_id"] = pd.Series(record_ids, dtype=object)
                frames.append(frame)
                del rows, texts
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def watermark(self) -> tuple[str, int] | None:
        """(the store's id, the number of the latest write): every staged record written so
        far has a number at most this one, and every later write a higher one. None on SQLite.

        Taken while no write is in flight (a SHARE lock waits for them and holds new ones
        back for the moment): sequence numbers are handed out before their writes commit,
        so an uncommitted lower number could otherwise appear after a higher one was read.
        """
        if not is_postgres(self.engine):
            return None
        with self.engine.begin() as conn:
            conn.exec_driver_sql("LOCK TABLE hub.staged_record IN SHARE MODE")
            store = conn.exec_driver_sql("SELECT id FROM hub.store").scalar_one()
            last = conn.exec_driver_sql(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM hub.staged_seq"
            ).scalar_one()
        return str(store), int(last)


def _put_state(conn: Connection, source: str, stream: str, state: dict, run_id: str) -> None:
    text = json.dumps(state, sort_keys=True)
    where = (stream_state.c.source == source) & (stream_state.c.stream == stream)
    updated = conn.execute(stream_state.update().where(where).values(state=text, run_id=run_id))
    if updated.rowcount == 0:
        conn.execute(
            stream_state.insert().values(source=source, stream=stream, state=text, run_id=run_id)
        )
