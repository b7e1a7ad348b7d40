"""Staging and publishing on PostgreSQL, beside a bare COPY of the same rows in the same run.

    .venv/bin/python -m bench.store --scale large

Extracts every source from the simulators (housing's rate limit lifted) into staging in a
fresh database, unifies, gates and publishes; then COPYs the very rows it published into
bare tables of the same columns (no keys, no indexes, no transaction around them) as the
floor publishing is measured against. Prints rows/s and writes bench/results/store-<scale>.json.
"""

from __future__ import annotations

import os
import time
import uuid

import psycopg

from bench.connectors import start_simulators
from bench.report import peak_rss_mb, save, world_args
from connectors.core import RetryPolicy, from_env, sync
from connectors.registry import registry
from yiwang.db import engine_for, migrate
from yiwang.night import publish_night
from yiwang.publish import Snapshot, read_table
from yiwang.staging import DbSink
from yiwang.tables import DATA_TABLES

PG = os.environ.get("YIWANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class TimedSink(DbSink):
    """DbSink that adds up the time its commits (the database side of staging) take."""

    seconds = 0.0
    rows = 0

    def _upsert(self, conn, rows):
        t0 = time.perf_counter()
        super()._upsert(conn, rows)
        self.seconds += time.perf_counter() - t0
        self.rows += len(rows)


def bare_copy(url: str, snapshot: Snapshot) -> float:
    """Seconds to COPY the snapshot's lines into key-less, index-less tables of the same shape."""
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for name in DATA_TABLES:
            conn.execute(f"CREATE TABLE bare_{name} (LIKE unified.{name})")
            columns = ", ".join([*snapshot.rendered[name].columns, "row_hash"])
            with conn.cursor().copy(f"COPY bare_{name} ({columns}) FROM STDIN") as copy:
                lines = snapshot.lines[name]
                hashes = snapshot.row_hashes[name]
                for i in range(0, len(lines), 50_000):
                    chunk = zip(lines[i : i + 50_000], hashes[i : i + 50_000], strict=True)
                    copy.write("".join(f"{line}\t{h}\n" for line, h in chunk).encode())
        return time.perf_counter() - started


def main() -> None:
    args, as_of = world_args(__doc__)
    name = f"yiwang_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG.rsplit("/", 1)[0] + f"/{name}"
    proc, env = start_simulators(args.scale, args.seed, args.as_of, housing_rate=1e9)
    try:
        engine = engine_for(url)
        migrate(engine)
        sink = TimedSink(engine, run_id=args.as_of, commit_every_s=5)
        policy = RetryPolicy(backoff_base_s=0.01, backoff_max_s=0.5)
        t0 = time.perf_counter()
        for connector in registry().values():
            sync(connector, from_env(connector.conn_id, env), sink, as_of, args.as_of, None, policy)
        extract_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait()
    t0 = time.perf_counter()
    published = publish_night(engine, as_of)
    night_s = time.perf_counter() - t0
    with engine.connect() as conn:
        tables = {t: read_table(conn, t).drop(columns="row_hash") for t in DATA_TABLES}
    snapshot = Snapshot.of(tables)
    assert snapshot.content_hash == published.content_hash
    rows = sum(snapshot.row_counts().values())
    bare_s = bare_copy(url, snapshot)
    publish_s = published.seconds["publish"]
    results = {
        "scale": args.scale,
        "staged_records": sink.rows,
        "extract_and_stage_s": round(extract_s, 1),
        "staging_db_s": round(sink.seconds, 1),
        "staging_rows_per_s": round(sink.rows / sink.seconds),
        "published_rows": rows,
        "unify_s": round(published.seconds["unify"], 1),
        "gate_s": round(published.seconds["gate"], 1),
        "publish_s": round(publish_s, 2),
        "publish_rows_per_s": round(rows / publish_s),
        "bare_copy_s": round(bare_s, 2),
        "bare_copy_rows_per_s": round(rows / bare_s),
        "publish_over_bare_copy": round(publish_s / bare_s, 2),
        "night_after_extract_s": round(night_s, 1),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    print(
        f"{args.scale}: staged {sink.rows:,} records; database side of staging "
        f"{sink.seconds:.1f} s = {results['staging_rows_per_s']:,} rows/s "
        f"(extract + stage {extract_s:.1f} s)\n"
        f"unify {results['unify_s']} s, gate {results['gate_s']} s\n"
        f"publish {rows:,} rows in {publish_s:.2f} s = {results['publish_rows_per_s']:,} rows/s; "
        f"bare COPY of the same rows {bare_s:.2f} s = {results['bare_copy_rows_per_s']:,} rows/s; "
        f"publish/bare = {results['publish_over_bare_copy']}×\n"
        f"peak RSS {results['peak_rss_mb']:,} MB"
    )
    save(f"store-{args.scale}", results)
    engine.dispose()
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
