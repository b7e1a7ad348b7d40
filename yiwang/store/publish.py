"""Publication: every unified table replaced in one transaction, with its ledger row; and
`verify`, which recomputes the ledger's chain and the latest snapshot's hashes.

A reader sees the previous snapshot or the new one, never a mix: PostgreSQL's MVCC and
SQLite's WAL both give a reader the database as of its transaction's start, and the new
rows, their deletion of the old ones and the ledger row commit together. A killed publish
commits nothing.

Rows are told apart by their `row_hash`, so a night only deletes the rows that are no longer
in the snapshot and inserts the ones that are new: an ordinary night touches a small part of
the tables. A first load into an empty PostgreSQL table loads first and indexes after.
`Publication` is that transaction, begun before the night's snapshot exists (its locks and
its read of the stored row hashes come first); `publish` is the whole of it at once.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.schema import CreateIndex

from yiwang.store.anchor import append_head, expect_problems, head_problems, read_heads
from yiwang.store.canonical import (
    RowHashes,
    canonical,
    chain_hash,
    column_names,
    content_hash,
    ledger_row_hash,
    unescaped,
)
from yiwang.store.changes import (
    FEED_ROWS,
    FEED_RUNS,
    Feed,
    Keyed,
    counted,
    feed_rows,
    keep_feed,
    write_feed,
)
from yiwang.store.db import is_postgres, qualified
from yiwang.store.digests import among, stored_digests, words
from yiwang.store.tables import DATA_TABLES, KEYS, published, stored

LEDGER = published["publish_run"]


class PublishError(Exception):
    """The night cannot be published (and nothing was)."""


@dataclass
class Snapshot:
    """Tables ready to publish: per table its columns, canonical lines and row hashes.

    The lines are all a store needs (PostgreSQL `COPY`s them as they are), so the rendered
    values are not kept beside them: at millions of rows they would double the memory.
    """

    columns: dict[str, list[str]]
    lines: dict[str, list[str]]
    row_hashes: dict[str, RowHashes]
    content_hash: str

    @classmethod
    def of(cls, tables: dict[str, pd.DataFrame]) -> Snapshot:
        columns, lines, hashes = {}, {}, {}
        for name in DATA_TABLES:
            _, lines[name], hashes[name] = canonical(name, tables[name])
            columns[name] = column_names(name)
        return cls(columns, lines, hashes, content_hash(hashes))

    def row_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.lines.items()}


def snapshot_table(run_id: str, as_of: dt.date) -> pd.DataFrame:
    """The `snapshot` table of a night: its run and business date."""
    return pd.DataFrame({"run_id": [run_id], "as_of_date": [pd.Timestamp(as_of)]})


def ledger(conn: Connection) -> pd.DataFrame:
    """The publish_run rows, oldest first."""
    rows = conn.execute(select(LEDGER).order_by(LEDGER.c.seq)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in LEDGER.columns])


def latest_run(conn: Connection) -> dict | None:
    """The ledger's latest row: the snapshot the tables hold (after a withdrawal, the
    withdrawal's, whose `as_of_date` is that of the last run still standing)."""
    row = conn.execute(select(LEDGER).order_by(LEDGER.c.seq.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def withdraws(row: dict) -> str | None:
    """The run a ledger row withdraws (`record_counts["withdraws"]`), None for a publication."""
    return json.loads(row["record_counts"]).get("withdraws")


def live_runs(runs: pd.DataFrame) -> list[dict]:
    """The publications no later row withdrew, oldest first."""
    rows = runs.to_dict("records")
    gone = {withdraws(r) for r in rows}
    return [r for r in rows if withdraws(r) is None and r["run_id"] not in gone]


def read_table(conn: Connection, name: str) -> pd.DataFrame:
    """A published table as typed values (money `Decimal`, dates `date`)."""
    table = published[name]
    rows = conn.execute(select(table)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def publish(
    engine: Engine,
    snapshot: Snapshot,
    run_id: str,
    as_of: dt.date,
    record_counts: dict,
    on_stage=None,
    heads: Path | None = None,
) -> dict:
    """Replace every data table with `snapshot` and append its ledger row, in one transaction
    (its head then appended to `heads`, when given)."""
    with Publication(engine, heads) as publication:
        return publication.commit(snapshot, run_id, as_of, record_counts, on_stage)


class Publication:
    """One publishing transaction, begun before the snapshot it will publish exists.

    On PostgreSQL it locks the ledger and the data tables against other writers (one publisher
    at a time; readers are not blocked), and `read_ahead` reads every table's stored row
    hashes in a thread (its own work is mostly waiting for the server) while the caller
    resolves and unifies: they are what `commit` compares the snapshot with, read in the same
    transaction that then writes. Left without `commit`, nothing is published. `heads`: the
    file (`YIWANG_LEDGER_HEADS`) the committed row's head is appended to, outside the database.
    """

    def __init__(self, engine: Engine, heads: Path | None = None) -> None:
        self.engine, self.heads = engine, heads
        self._stored: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._reader: threading.Thread | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> Publication:
        self.conn = self.engine.connect()
        self._transaction = self.conn.begin()
        if is_postgres(self.engine):
            names = ", ".join(
                qualified(self.conn, "unified", stored[t].name)
                for t in ("publish_run", *DATA_TABLES)
            )
            self.conn.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
        return self

    def read_ahead(self) -> None:
        """Start reading the stored row hashes beside the caller's work (PostgreSQL): best
        while the caller keeps one core busy and the server is otherwise idle."""
        if is_postgres(self.engine) and self._reader is None and not self._stored:
            self._reader = threading.Thread(target=self._read_stored, daemon=True)
            self._reader.start()

    def __exit__(self, *exc) -> None:
        self.ready()
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.conn.close()

    def _read_stored(self) -> None:
        try:
            for name in DATA_TABLES:
                self._stored[name] = stored_digests(
                    self.conn, qualified(self.conn, "unified", stored[name].name)
                )
        except BaseException as failure:  # raised again where the hashes are wanted
            self._failure = failure

    def ready(self) -> None:
        """Wait for the stored row hashes (the connection is the caller's again after this)."""
        if self._reader:
            self._reader.join()
            self._reader = None

    def latest(self) -> dict | None:
        """The latest ledger row, as this transaction sees it."""
        self.ready()
        return latest_run(self.conn)

    def commit(
        self,
        snapshot: Snapshot,
        run_id: str,
        as_of: dt.date,
        record_counts: dict,
        on_stage=None,
        before_commit: Callable[[], None] | None = None,
    ) -> dict:
        """Replace every data table with `snapshot`, append its ledger row and commit.

        `before_commit` runs once the tables are replaced, inside the transaction: if it
        raises, nothing is published (the night's quality gate, run beside, says so there).
        """
        last, conn = self.latest(), self.conn
        if self._failure:
            raise self._failure
        changes, feed = {}, Feed(FEED_ROWS)
        for name in DATA_TABLES:
            if on_stage:
                on_stage(name)
            held = self._stored.pop(name, None) or stored_digests(
                conn, qualified(conn, "unified", stored[name].name)
            )
            # the first publication is the feed's start, not a change: a client reads it whole
            fed = feed if last and name != "snapshot" else None
            changes[name] = _replace(conn, name, snapshot, *held, fed)
        seq = int(last["seq"]) + 1 if last else 1
        fed_rows = feed_rows(seq, run_id, feed.keyed)
        write_feed(conn, fed_rows)
        keep_feed(conn, seq, FEED_RUNS)
        if before_commit:
            before_commit()
        row = {
            "run_id": run_id,
            "as_of_date": as_of,
            "published_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),  # UTC, stored naive
            "record_counts": json.dumps(
                {
                    **record_counts,
                    "tables": snapshot.row_counts(),
                    "changes": None if feed.overflowed else counted(fed_rows),
                },
                sort_keys=True,
                ensure_ascii=False,
            ),
            "content_hash": snapshot.content_hash,
            "chain_hash": chain_hash(last["chain_hash"] if last else None, snapshot.content_hash),
            "seq": seq,
        }
        row["row_hash"] = ledger_row_hash(row)
        conn.execute(LEDGER.insert().values(**row))
        self._transaction.commit()
        append_head(self.heads, row)  # after the commit: only heads the ledger holds
        return {**row, "changes": changes}


BULK = 100_000  # rows from which a first load into an empty table indexes after loading


def _replace(
    conn: Connection,
    name: str,
    snapshot: Snapshot,
    held: np.ndarray,
    edited: list[str],
    feed: Feed | None = None,
) -> dict[str, int]:
    """Make table `name` hold exactly the snapshot's rows, touching only the rows that differ
    from those `held` (digests as `words`; `edited`: stored values that spell no digest).
    `feed`: given, the rows deleted and inserted go into it by key, for the change feed."""
    target = qualified(conn, "unified", stored[name].name)
    hashes = words(snapshot.row_hashes[name].digests)
    gone = [row.tobytes().hex() for row in held[~among(held, hashes)]] + edited
    new = np.flatnonzero(~among(hashes, held)).tolist()
    everything = bool(gone) and len(gone) == len(held) + len(edited)
    if gone and not everything:
        rows_into_temp(conn, "_gone", ["h"], [(h,) for h in gone])
    if feed is not None and feed.takes(len(gone) + len(new)):
        leaving = (
            None if not gone else "" if everything else "WHERE row_hash IN (SELECT h FROM _gone)"
        )
        lines, row_hashes = snapshot.lines[name], snapshot.row_hashes[name]
        feed.keyed[name] = Keyed.of(conn, name, leaving, lines, new, row_hashes)
    if everything:
        conn.exec_driver_sql(f"DELETE FROM {target}")
    elif gone:
        conn.exec_driver_sql(f"DELETE FROM {target} WHERE row_hash IN (SELECT h FROM _gone)")
    if new and is_postgres(conn.engine) and not len(held) and len(new) >= BULK:
        with _indexes_after(conn, name):
            _load(conn, name, snapshot, new)
    elif new:
        _load(conn, name, snapshot, new)
    return {"deleted": len(gone), "inserted": len(new), "kept": len(hashes) - len(new)}


@contextmanager
def _indexes_after(conn: Connection, name: str):
    """Drop the (empty) table's key and indexes, load, then build them in bulk: several times
    faster than maintaining them row by row, and inside the same transaction."""
    table = stored[name]
    target = qualified(conn, "unified", table.name)
    for index in table.indexes:
        conn.exec_driver_sql(f"DROP INDEX unified.{index.name}")
    if KEYS[name]:
        conn.exec_driver_sql(f"ALTER TABLE {target} DROP CONSTRAINT {table.name}_pkey")
    yield
    if KEYS[name]:
        conn.exec_driver_sql(
            f"ALTER TABLE {target} ADD CONSTRAINT {table.name}_pkey "
            f"PRIMARY KEY ({', '.join(KEYS[name])})"
        )
    for index in table.indexes:
        conn.execute(CreateIndex(index))


def rows_into_temp(conn: Connection, temp: str, columns: list[str], rows: list[tuple]) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {temp}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {temp} ({', '.join(c + ' TEXT' for c in columns)})")
    if is_postgres(conn.engine):
        with (
            conn.connection.driver_connection.cursor() as cur,
            cur.copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {temp} VALUES ({marks})", rows)


def copy_text(snapshot: Snapshot, name: str, which: Sequence[int]) -> Iterator[bytes]:
    """Rows `which` of table `name` as `COPY` text (each canonical line, then its row hash),
    50,000 rows a block."""
    lines, digests, size = snapshot.lines[name], snapshot.row_hashes[name].digests, RowHashes.SIZE
    for start in range(0, len(which), 50_000):
        # the digest sliced here, not through RowHashes[i]: no method call a row
        yield "".join(
            f"{lines[i]}\t{digests[i * size : (i + 1) * size].hex()}\n"
            for i in which[start : start + 50_000]
        ).encode()


def _load(conn: Connection, name: str, snapshot: Snapshot, which: list[int]) -> None:
    lines, hashes = snapshot.lines[name], snapshot.row_hashes[name]
    quote = conn.dialect.identifier_preparer.quote  # `permitNo` stays itself on PostgreSQL
    columns = [quote(c) for c in (*snapshot.columns[name], "row_hash")]
    target = qualified(conn, "unified", stored[name].name)
    if is_postgres(conn.engine):
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for block in copy_text(snapshot, name, which):
                copy.write(block)
        return
    # SQLite: the canonical text is its storage form (money as text, dates ISO; numbers convert)
    rows = [(*unescaped(lines[i]), hashes[i]) for i in which]
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {target} ({', '.join(columns)}) VALUES ({marks})", rows)


# ---- verify ----------------------------------------------------------------------------------
@dataclass
class Verdict:
    ok: bool
    runs: int
    problems: list[str]


def verify(engine: Engine, expect: str | None = None, heads: Path | None = None) -> Verdict:
    """Recompute the ledger's chain and row hashes, then the latest snapshot's rows and hash;
    with `expect`, check the ledger's head has that chain hash, with `heads`, that every head
    written to that file (`yiwang.store.anchor`) is still in the ledger unchanged.

    Names the first bad ledger link, every edited published row, any table whose rows were
    added or removed, a ledger emptied under published rows, and each head that differs.
    """
    problems: list[str] = []
    written = read_heads(heads) if heads else []
    with engine.connect() as conn, conn.begin():
        runs = ledger(conn)
        if expect:
            problems += expect_problems(runs, expect)
        if heads:
            problems += head_problems(runs, written, str(heads))
        previous = None
        for row in runs.to_dict("records"):
            if ledger_row_hash(row) != row["row_hash"]:
                problems.append(f"publish_run {row['run_id']!r} (seq {row['seq']}) was edited")
                break
            if chain_hash(previous, row["content_hash"]) != row["chain_hash"]:
                problems.append(
                    f"publish_run {row['run_id']!r} (seq {row['seq']}): chain_hash does not "
                    "follow from the previous run's chain_hash and this content_hash"
                )
                break
            previous = row["chain_hash"]
        if runs.empty:
            held = [
                n
                for n in DATA_TABLES
                if n != "snapshot" and conn.execute(select(published[n]).limit(1)).first()
            ]
            if held:
                problems.append(
                    f"the ledger is empty but {', '.join(held)} hold published rows: the ledger "
                    "was deleted; restore it from a backup or publish a night again"
                )
            return Verdict(not problems, 0, problems)
        latest = runs.iloc[-1]
        counts = json.loads(latest["record_counts"]).get("tables", {})
        hashes = {}
        for name in DATA_TABLES:
            frame = read_table(conn, name)
            order, _, recomputed = canonical(name, frame)
            stored = frame.loc[order, "row_hash"].tolist()
            for i, (got, want) in enumerate(zip(recomputed, stored, strict=True)):
                if got != want:
                    row = frame.loc[order[i]]
                    key = ", ".join(f"{k}={row[k]}" for k in KEYS[name] or ("record_key",))
                    problems.append(f"{name} row ({key}) differs from what was published")
            hashes[name] = recomputed
            if name in counts and counts[name] != len(frame):
                problems.append(
                    f"{name} holds {len(frame):,} rows; run {latest['run_id']!r} published "
                    f"{counts[name]:,}"
                )
        if content_hash(hashes) != latest["content_hash"] and "changes" not in json.loads(
            latest["record_counts"]
        ):
            problems.append(
                f"run {latest['run_id']!r} was published before this store was upgraded to the "
                "change feed (`yiwang db upgrade`): its content_hash is of the earlier layout, "
                "the rows above verify on their own; the next publication verifies whole again"
            )
        elif content_hash(hashes) != latest["content_hash"]:
            problems.append(
                f"the published tables do not hash to run {latest['run_id']!r}'s content_hash"
            )
    return Verdict(not problems, len(runs), problems)


def runs_for(conn: Connection, as_of: dt.date) -> int:
    return conn.execute(
        select(func.count()).select_from(LEDGER).where(LEDGER.c.as_of_date == as_of)
    ).scalar_one()
