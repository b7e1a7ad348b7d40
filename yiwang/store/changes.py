"""The change feed: per publication, what changed against the previous snapshot, key by key.

`Publication.commit` writes it in the publishing transaction, into `unified.change`: `seq`
(the publication's ledger `seq`), `ordinal` (its order within the publication), `run_id`,
`table_name`, `change_type` (`insert` | `update` | `delete`), `key` (JSON object of the table's
key columns), `row_hash`, `previous_row_hash` and `row` (JSON object of the new row: numbers as
numbers, money and dates as text; null for a delete). A row is told by its key; a quarantined
record without a key by its payload. The snapshot's own columns (`project.as_of_date`,
`quarantine.last_seen_run`) are the publication's, not the rows': a night that only moves the
date changes nothing here.

The first publication starts the feed: a client reads that snapshot whole (an export, the API)
and follows the changes after it. The feed keeps the last `FEED_RUNS` publications; a client
whose run is older (or predates the feed) is told to read the snapshot again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import BigInteger, Connection, Double, select

from yiwang.store.canonical import RowHashes, unescaped
from yiwang.store.db import is_postgres, qualified
from yiwang.store.tables import DATA_TABLES, KEYS, change, published, stored

FEED_COLUMNS = [c.name for c in change.columns]
FEED_RUNS = int(os.environ.get("YIWANG_FEED_RUNS", "90"))  # publications the feed keeps
FEED_ROWS = 250_000  # changes one publication may feed (`Feed`)
QUARANTINE_KEY = ("source_system", "record_type", "record_key", "payload")


class TooOld(LookupError):
    """`since` names a run the feed no longer covers (or never did): re-read the snapshot."""


def _key_columns(name: str) -> tuple[str, ...]:
    return KEYS[name] or QUARANTINE_KEY


def _key_text(name: str, values: Sequence) -> str:
    """The key as JSON text; a quarantined record with a key is known by it, one without by
    its payload."""
    key = dict(zip(_key_columns(name), values, strict=True))
    if name == "quarantine" and key["record_key"] is not None:
        key.pop("payload")
    return json.dumps(key, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Keyed:
    """One table's rows leaving (key -> row hash) and arriving (key -> row hash, row JSON)."""

    old: dict[str, str] = field(default_factory=dict)
    new: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        conn: Connection,
        name: str,
        gone: str | None,
        lines: list[str],
        new: list[int],
        hashes: RowHashes,
    ) -> Keyed:
        """`gone`: the stored rows leaving, as a condition on `row_hash` (None: none leave),
        read back for their keys; `new`: the snapshot's rows arriving, by position in its
        `lines`."""
        keyed = cls()
        table = stored[name]
        if gone is not None:
            quote = conn.dialect.identifier_preparer.quote
            keys = ", ".join(quote(k) for k in _key_columns(name))
            target = qualified(conn, "unified", table.name)
            found = conn.exec_driver_sql(f"SELECT {keys}, row_hash FROM {target} {gone}")
            for *values, row_hash in found:
                keyed.old[_key_text(name, values)] = row_hash
        columns = [c for c in table.columns if c.name != "row_hash"]
        at = [[c.name for c in columns].index(k) for k in _key_columns(name)]
        for i in new:
            values = unescaped(lines[i])
            row = {c.name: _typed(c, v) for c, v in zip(columns, values, strict=True)}
            key = _key_text(name, [values[j] for j in at])
            keyed.new[key] = (hashes[i], json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        return keyed


@dataclass
class Feed:
    """A publication's changes as they are gathered, table by table, within `budget` rows: a
    publication that changes more (a first load of a table, a withdrawal of a large night)
    records none, and a client following the feed across it reads the snapshot again, as
    after a gap. What is gathered is held in memory until written."""

    budget: int
    keyed: dict[str, Keyed] = field(default_factory=dict)
    overflowed: bool = False

    def takes(self, rows: int) -> bool:
        """Whether `rows` more changes fit; once they do not, nothing more is gathered."""
        if self.overflowed:
            return False
        if rows > self.budget:
            self.overflowed = True
            self.keyed.clear()
            return False
        self.budget -= rows
        return True


def _typed(column, value: str | None):
    if value is None:
        return None
    if isinstance(column.type, BigInteger):
        return int(value)
    if isinstance(column.type, Double):
        return float(value)
    return value  # money and dates stay exact text


def feed_rows(seq: int, run_id: str, keyed: dict[str, Keyed]) -> list[tuple]:
    """The publication's changes, table by table (`DATA_TABLES` order), keys in code-point
    order: the same snapshot gives the same feed."""
    rows: list[tuple] = []
    for name in DATA_TABLES:
        if name not in keyed:
            continue
        k = keyed[name]
        for key in sorted(k.old.keys() | k.new.keys()):
            before, (after, row) = k.old.get(key), k.new.get(key, (None, None))
            kind = "update" if before and after else "insert" if after else "delete"
            rows.append((seq, len(rows), run_id, name, kind, key, after, before, row))
    return rows


def write_feed(conn: Connection, rows: list[tuple]) -> None:
    if not rows:
        return
    if is_postgres(conn.engine):
        target = qualified(conn, "unified", "change")
        with (
            conn.connection.driver_connection.cursor() as cur,
            cur.copy(f"COPY {target} ({', '.join(FEED_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    conn.execute(change.insert(), [dict(zip(FEED_COLUMNS, row, strict=True)) for row in rows])


def keep_feed(conn: Connection, seq: int, runs: int) -> None:
    """Only the latest `runs` publications' changes are kept."""
    conn.execute(change.delete().where(change.c.seq <= seq - runs))


def counted(rows: list[tuple]) -> dict[str, dict[str, int]]:
    """Per table, changes per kind: what the ledger row says of its feed."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        per = out.setdefault(row[3], {})
        per[row[4]] = per.get(row[4], 0) + 1
    return out


def since_seq(conn: Connection, since_run_id: str) -> int:
    """The ledger `seq` of run `since_run_id`, if the feed covers every publication after it;
    else `TooOld`, saying what to do instead. Judged from what is stored, not from settings:
    every later publication recorded its changes, and the earliest of them that had any still
    has its rows (the feed is trimmed oldest first)."""
    ledger = published["publish_run"]
    rows = conn.execute(
        select(ledger.c.run_id, ledger.c.seq, ledger.c.record_counts).order_by(ledger.c.seq)
    ).all()
    seqs = {r.run_id: int(r.seq) for r in rows}
    if since_run_id not in seqs:
        raise TooOld(
            f"run {since_run_id!r} is not in the ledger: read the snapshot again (GET /ledger "
            "lists the runs; `yiwang export` writes the snapshot with its run)"
        )
    since = seqs[since_run_id]
    later = [(int(r.seq), _counts(r).get("changes")) for r in rows if r.seq > since]
    fed = [seq for seq, changes in later if changes]
    kept = (
        not fed or conn.execute(select(change.c.seq).where(change.c.seq == fed[0]).limit(1)).first()
    )
    if any(changes is None for _, changes in later) or not kept:
        raise TooOld(
            f"the change feed does not reach back to run {since_run_id!r} (it keeps the last "
            f"publications, each of at most {FEED_ROWS:,} changes): read the snapshot again, "
            "then follow its changes"
        )
    return since


def _counts(row) -> dict:
    return json.loads(row.record_counts or "{}")


def read_changes(conn: Connection, since_run_id: str) -> pd.DataFrame:
    """Every change published after run `since_run_id`, in (`seq`, `ordinal`) order, as
    `FEED_COLUMNS`; raises `TooOld` when the feed cannot take a client from that run."""
    since = since_seq(conn, since_run_id)
    query = select(change).where(change.c.seq > since).order_by(change.c.seq, change.c.ordinal)
    return pd.DataFrame(conn.execute(query).all(), columns=FEED_COLUMNS)
