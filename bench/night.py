"""A whole night on PostgreSQL, then an incremental one, per stage, beside a bare COPY floor.

    .venv/bin/python -m bench.night --scale large

Builds the world at `--scale`, serves it from the simulators (their own process; housing's
rate limit lifted), and runs against a fresh PostgreSQL database:

1. a full night as of `--as-of` minus `--gap-days` (an empty store: every record is new);
2. an incremental night as of `--as-of` (the sources serve only what changed since; with the
   default gap of 17 days that is about 1% of the records, the share is printed).

Per stage it prints wall time and rows/s: extract (HTTP, including the simulators' time),
parse, stage (the time the sync waits for the sink's writes, which run beside it), read
(staged records back: on the incremental night, the validated streams kept by the full night
and what was staged since), validate, keep (writing the validated streams for the next night),
resolve, unify, snapshot (canonical lines and hashes), gate and publish; and per phase
(extract, unify, snapshot, publish) its own peak RSS. The gate runs in a process of its own
beside snapshot and publish: its seconds are its own, publish's exclude waiting for it
(`gate_wait`), and a phase's peak RSS includes the gate process's own (private) memory.
After the full night it COPYs the very rows it published into bare tables (no keys, no
indexes) as the floor publishing is measured against. Results also go to
bench/results/night-<scale>.json (or `--json PATH`); `--keep` leaves the database for
`bench.api`.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import multiprocessing
import os
import pstats
import shutil
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psycopg

from bench.connectors import start_simulators
from bench.report import PhasePeaks, json_option, save
from connectors.core import RetryPolicy, from_env
from departments.registry import registry
from yiwang.night.extract import extract_source
from yiwang.night.run import publish_night
from yiwang.night.run_ids import run_id_for
from yiwang.settings import from_environment
from yiwang.store.db import engine_for, migrate
from yiwang.store.publish import Snapshot, copy_text, read_table
from yiwang.store.staging import DbSink
from yiwang.store.tables import DATA_TABLES, stored

PG = os.environ.get("YIWANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
STAGES = (
    "extract", "parse", "stage", "read_staged", "validate", "keep", "resolve", "unify",
    "snapshot", "gate", "publish", "gate_wait",
)  # fmt: skip


def extract_night(url: str, args, as_of: dt.date) -> tuple[dict, int, float]:
    """Every source into staging: seconds per stage (extract, parse, stage), records read."""
    t0 = time.perf_counter()
    proc, env = start_simulators(args.scale, args.seed, f"{as_of}", rate_limits=False)
    seconds_serving = time.perf_counter() - t0  # building the world: the sources', not ours
    engine = engine_for(url)
    seconds = dict.fromkeys(("extract", "parse", "stage"), 0.0)
    try:
        migrate(engine)
        run_id = run_id_for(as_of)
        sink = DbSink(engine, run_id=run_id)
        policy = RetryPolicy(backoff_base_s=0.01, backoff_max_s=0.5)
        records = 0
        for connector in registry().values():
            settings = from_env(connector.conn_id, env)
            result = extract_source(
                connector, settings, sink, as_of, run_id, None, policy, rate_limits=False
            )
            for stats in result.streams.values():
                seconds["parse"] += stats.parse_s
                seconds["stage"] += stats.stage_s
                seconds["extract"] += stats.seconds - stats.parse_s - stats.stage_s
            records += result.records
    finally:
        proc.terminate()
        proc.wait()
        engine.dispose()
    return seconds, records, seconds_serving


def profiled(label: str, args, work):
    """`work()`, under cProfile when `--profile` asks: the stats go to bench/results and the
    top functions by own time are printed (the calling thread only: decoders in fetch threads
    show as parse time, not here)."""
    if not args.profile:
        return work()
    profiler = cProfile.Profile()
    result = profiler.runcall(work)
    path = os.path.join("bench", "results", f"night-{args.scale}-{label}.pstats")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    profiler.dump_stats(path)
    print(f"\n{label} night, by own time (all stats in {path}):")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    return result


def _night(label: str, url: str, args, as_of: dt.date, quality_dir, kept: Path) -> dict:
    return profiled(label, args, lambda: run(url, args, as_of, quality_dir, kept))


def in_own_process(label: str, url: str, args, as_of: dt.date, quality_dir, kept: Path) -> dict:
    """One night in a fresh process, as the CLI and Airflow run it: its memory figures are
    its own, not what an earlier night in the same process left allocated."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_night, label, url, args, as_of, quality_dir, kept).result()


def run(url: str, args, as_of: dt.date, quality_dir, kept: Path) -> dict:
    started = time.perf_counter()
    phases = PhasePeaks()
    phases("extract")
    seconds, received, serving = extract_night(url, args, as_of)
    engine = engine_for(url)
    # the environment's settings (YIWANG_GATE_BESIDE…), the streams kept in the bench's folder
    options = dataclasses.replace(from_environment().night_options(), kept=kept)
    published = publish_night(engine, as_of, quality_dir, progress=phases, options=options)
    phases.close()
    engine.dispose()
    wall = time.perf_counter() - started - serving
    seconds.update(published.seconds)
    rows = sum(c["received"] for c in published.counts.values())
    accepted = sum(c["accepted"] for c in published.counts.values())
    published_rows = sum(v["rows"] for v in _row_counts(url).values())
    per_stage_rows = {
        "extract": received, "parse": received, "stage": received, "read_staged": rows,
        "validate": rows, "keep": rows, "resolve": accepted, "unify": accepted,
        "snapshot": published_rows, "gate": published_rows, "publish": published_rows,
        "gate_wait": None,  # publish waiting for the gate's verdict: no rows of its own
    }  # fmt: skip
    return {
        "as_of": f"{as_of}",
        "wall_s": round(wall, 1),  # the simulators' start-up (world building) left out
        "simulators_start_s": round(serving, 1),
        "records_extracted": received,
        "records_live": rows,
        "published_rows": published_rows,
        "content_hash": published.content_hash,
        "status": published.status,
        "changes": published.changes,
        "peak_rss_mb": round(max(phases.peaks.values())),
        "peak_rss_per_phase_mb": phases.peaks,
        "forked_private_per_phase_mb": phases.forked,  # the gate's process, part of the above
        "stages": {
            s: {
                "seconds": round(seconds.get(s, 0.0), 2),
                "rows": per_stage_rows[s],
                "rows_per_s": round(per_stage_rows[s] / seconds[s])
                if seconds.get(s) and per_stage_rows[s]
                else None,
            }
            for s in STAGES
        },
    }


def _row_counts(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return {
            t: {"rows": conn.execute(f"SELECT count(*) FROM unified.{t}").fetchone()[0]}
            for t in DATA_TABLES
        }


def bare_copy(url: str) -> tuple[float, int]:
    """Seconds to COPY the published rows into key-less, index-less tables of the same shape."""
    engine = engine_for(url)
    with engine.connect() as conn:
        tables = {t: read_table(conn, t).drop(columns="row_hash") for t in DATA_TABLES}
    snapshot = Snapshot.of(tables)
    engine.dispose()
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        for name in DATA_TABLES:
            conn.execute(f"CREATE TABLE bare_{name} (LIKE unified.{stored[name].name})")
            columns = ", ".join(f'"{c}"' for c in [*snapshot.columns[name], "row_hash"])
            with conn.cursor().copy(f"COPY bare_{name} ({columns}) FROM STDIN") as copy:
                for block in copy_text(snapshot, name, range(len(snapshot.lines[name]))):
                    copy.write(block)  # the very bytes publish writes
        seconds = time.perf_counter() - started
        for name in DATA_TABLES:
            conn.execute(f"DROP TABLE bare_{name}")
    return seconds, sum(snapshot.row_counts().values())


def show(label: str, night: dict) -> None:
    print(f"\n{label} night as of {night['as_of']}: {night['wall_s']} s wall, "
          f"{night['records_extracted']:,} records extracted, {night['published_rows']:,} rows "
          f"published ({night['status']}), peak RSS {night['peak_rss_mb']:,} MB")  # fmt: skip
    print(f"  {'stage':12} {'seconds':>8} {'rows':>10} {'rows/s':>10}")
    for stage, f in night["stages"].items():
        rate = f"{f['rows_per_s']:,}" if f["rows_per_s"] else "-"
        rows = f"{f['rows']:,}" if f["rows"] is not None else "-"
        print(f"  {stage:12} {f['seconds']:>8.2f} {rows:>10} {rate:>10}")
    peaks = ", ".join(f"{p} {mb:,}" for p, mb in night["peak_rss_per_phase_mb"].items())
    print(f"  peak RSS per phase (MB): {peaks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--gap-days", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the database (for bench.api)")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="run under cProfile and print the N costliest functions",
    )
    json_option(parser, "bench/results/night-<scale>.json")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)
    name = f"yiwang_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG.rsplit("/", 1)[0] + f"/{name}"
    quality = os.path.join("bench", "results", f"quality-{name}")
    kept = Path("bench", "results", f"validated-{name}").resolve()
    try:
        full_as_of = as_of - dt.timedelta(days=args.gap_days)
        full = in_own_process("full", url, args, full_as_of, quality, kept)
        show("full", full)
        bare_s, bare_rows = bare_copy(url)
        publish_s = full["stages"]["publish"]["seconds"]
        floor = {
            "rows": bare_rows,
            "seconds": round(bare_s, 2),
            "rows_per_s": round(bare_rows / bare_s),
            "publish_over_bare_copy": round(publish_s / bare_s, 2),
        }
        ratio = floor["publish_over_bare_copy"]
        print(f"  bare COPY of the {bare_rows:,} published rows: {bare_s:.2f} s = "
              f"{floor['rows_per_s']:,} rows/s; publish/bare = {ratio}×")  # fmt: skip
        incremental = in_own_process("incremental", url, args, as_of, quality, kept)
        share = incremental["records_extracted"] / max(full["records_extracted"], 1)
        incremental["share_of_full_extracted"] = round(share, 4)
        show("incremental", incremental)
        print(f"  the sources served {share:.2%} of the full night's records")
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(kept, ignore_errors=True)
        admin.close()
    results = {
        "scale": args.scale, "seed": args.seed, "as_of": args.as_of, "gap_days": args.gap_days,
        "cores": os.cpu_count(),
        "full": full, "bare_copy": floor, "incremental": incremental,
        "database": url if args.keep else None,
    }  # fmt: skip
    if args.keep:
        print(f"kept {url}")
    save(f"night-{args.scale}", results, args.json)


if __name__ == "__main__":
    main()
