"""The first night at the contracts' rate limits, then a whole night and an incremental one with
the limits lifted, per stage, beside housing's pacing floor and a bare COPY floor.

    .venv/bin/python -m bench.night --scale large

Builds the world at `--scale`, serves it from the simulators (their own process), and runs
each night's sources side by side, as `yiwang run` does (`stage_together`):

0. a first night into a fresh PostgreSQL database as of `--as-of` minus `--gap-days`, at the
   contracts' limits (housing 10 requests/s, as production runs it): its wall beside
   housing's pacing floor, the seconds its requests take at that rate (`--no-contract-night`
   leaves it out);
1. the same first night into another fresh database with housing's limit lifted (what the
   night's own work costs);
2. an incremental night as of `--as-of` on that database (the sources serve only what changed
   since; with the default gap of 17 days that is about 1% of the records, the share is
   printed).

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
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.connectors import start_simulators
from bench.report import PhasePeaks, json_option, save
from connectors.core import RetryPolicy, SyncResult
from departments.registry import registry
from yiwang.night.run import run_night
from yiwang.settings import from_environment
from yiwang.store.db import engine_for
from yiwang.store.publish import Snapshot, copy_text, read_table
from yiwang.store.tables import DATA_TABLES, stored

PG = os.environ.get("YIWANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PACED = "housing"  # the source whose contract limits its requests (10/s): the night's floor
STAGES = (
    "extract", "parse", "stage", "read_staged_beside", "validate_beside", "read_staged",
    "validate", "keep", "resolve", "unify", "snapshot", "gate", "publish", "gate_wait",
)  # fmt: skip


def extract_seconds(extracted: dict[str, SyncResult]) -> dict:
    """Per stage (extract, parse, stage) the seconds summed over every source's streams (the
    sources overlap, so the sum exceeds the staging's wall), and housing's pacing floor."""
    seconds = dict.fromkeys(("extract", "parse", "stage"), 0.0)
    for result in extracted.values():
        for stats in result.streams.values():
            seconds["parse"] += stats.parse_s
            seconds["stage"] += stats.stage_s
            seconds["extract"] += stats.seconds - stats.parse_s - stats.stage_s
    seconds["pacing_floor"] = extracted[PACED].requests / registry()[PACED].rate_per_s
    return seconds


def one_phase_for_staging(phases: PhasePeaks):
    """`phases` as the night's progress: every source's "extract …" line one phase."""

    def say(what: str) -> None:
        what = "extract" if what.startswith("extract") else what
        if what != phases.phase:
            phases(what)

    return say


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


def _night(
    label: str, url: str, args, as_of: dt.date, quality_dir, kept: Path, limited: bool
) -> dict:
    return profiled(label, args, lambda: run(url, args, as_of, quality_dir, kept, limited))


def in_own_process(
    label: str, url: str, args, as_of: dt.date, quality_dir, kept: Path, limited: bool = False
) -> dict:
    """One night in a fresh process, as the CLI and Airflow run it: its memory figures are
    its own, not what an earlier night in the same process left allocated."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_night, label, url, args, as_of, quality_dir, kept, limited).result()


def run(url: str, args, as_of: dt.date, quality_dir, kept: Path, limited: bool) -> dict:
    """One night as `yiwang run` runs it (`run_night`: the sources side by side, the kept
    streams caught up beside them), against the simulators (`limited`: at the contracts'
    rate limits, theirs and the connectors' own)."""
    t0 = time.perf_counter()
    proc, env = start_simulators(args.scale, args.seed, f"{as_of}", rate_limits=limited)
    serving = time.perf_counter() - t0  # building the world: the sources', not ours
    started = time.perf_counter()
    phases = PhasePeaks()
    engine = engine_for(url)
    # the environment's settings (YIWANG_GATE_BESIDE…), the streams kept in the bench's folder
    options = dataclasses.replace(from_environment().night_options(), kept=kept)
    policy = RetryPolicy(backoff_base_s=0.01, backoff_max_s=0.5)
    try:
        night = run_night(
            engine, env, as_of, None, policy, limited, quality_dir=quality_dir,
            progress=one_phase_for_staging(phases), options=options,
        )  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()
        engine.dispose()
    phases.close()
    wall = time.perf_counter() - started
    published = night.published
    seconds = extract_seconds(night.extracted) | published.seconds
    received = sum(r.records for r in night.extracted.values())
    rows = sum(c["received"] for c in published.counts.values())
    accepted = sum(c["accepted"] for c in published.counts.values())
    published_rows = sum(v["rows"] for v in _row_counts(url).values())
    per_stage_rows = {
        "extract": received, "parse": received, "stage": received, "read_staged": rows,
        "validate": rows, "keep": rows, "resolve": accepted, "unify": accepted,
        "snapshot": published_rows, "gate": published_rows, "publish": published_rows,
        "gate_wait": None,  # publish waiting for the gate's verdict: no rows of its own
        # beside the staging, in passes over what each pass found staged since the last
        "read_staged_beside": None, "validate_beside": None,
    }  # fmt: skip
    return {
        "as_of": f"{as_of}",
        "rate_limits": "contract" if limited else "lifted",
        "wall_s": round(wall, 1),  # the simulators' start-up (world building) left out
        "staging_wall_s": round(night.staging_s, 1),  # every source, side by side
        "housing_pacing_floor_s": round(seconds["pacing_floor"], 1),
        "per_source_s": {n: round(r.seconds, 1) for n, r in night.extracted.items()},
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
    print(f"\n{label} night as of {night['as_of']} ({night['rate_limits']} rate limits): "
          f"{night['wall_s']} s wall, {night['records_extracted']:,} records extracted, "
          f"{night['published_rows']:,} rows published ({night['status']}), "
          f"peak RSS {night['peak_rss_mb']:,} MB")  # fmt: skip
    sources = ", ".join(f"{n} {s} s" for n, s in night["per_source_s"].items())
    print(f"  staging, every source side by side: {night['staging_wall_s']} s wall ({sources})")
    print(f"  {'stage':12} {'seconds':>8} {'rows':>10} {'rows/s':>10}")
    for stage, f in night["stages"].items():
        rate = f"{f['rows_per_s']:,}" if f["rows_per_s"] else "-"
        rows = f"{f['rows']:,}" if f["rows"] is not None else "-"
        print(f"  {stage:12} {f['seconds']:>8.2f} {rows:>10} {rate:>10}")
    peaks = ", ".join(f"{p} {mb:,}" for p, mb in night["peak_rss_per_phase_mb"].items())
    print(f"  peak RSS per phase (MB): {peaks}")


def show_floor(night: dict) -> None:
    """The night's wall beside housing's pacing floor: its requests at its contract's rate."""
    floor, wall = night["housing_pacing_floor_s"], night["wall_s"]
    print(f"  {PACED}'s pacing floor {floor} s; wall {wall} s = floor + {wall - floor:.1f} s")


@contextmanager
def fresh_database(admin: psycopg.Connection, keep: bool = False) -> Iterator[tuple[str, Path]]:
    """(the URL of a new database, a folder for its kept validated streams); both dropped
    afterwards unless `keep`."""
    name = f"yiwang_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    kept = Path("bench", "results", f"validated-{name}").resolve()
    try:
        yield PG.rsplit("/", 1)[0] + f"/{name}", kept
    finally:
        if not keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(kept, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default="2026-11-23")
    parser.add_argument("--gap-days", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the database (for bench.api)")
    parser.add_argument(
        "--no-contract-night",
        action="store_true",
        help="leave out the first night at the contracts' rate limits",
    )
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
    full_as_of = as_of - dt.timedelta(days=args.gap_days)
    results = {
        "scale": args.scale, "seed": args.seed, "as_of": args.as_of, "gap_days": args.gap_days,
        "cores": os.cpu_count(),
    }  # fmt: skip
    with psycopg.connect(PG, autocommit=True) as admin:
        if not args.no_contract_night:  # as production runs it: housing at 10 requests/s
            with fresh_database(admin) as (url, kept):
                quality = os.path.join("bench", "results", f"quality-{url.rsplit('/', 1)[1]}")
                limited = in_own_process("contract", url, args, full_as_of, quality, kept, True)
            show("full", limited)
            show_floor(limited)
            results["full_at_contract_limits"] = limited
        with fresh_database(admin, args.keep) as (url, kept):
            quality = os.path.join("bench", "results", f"quality-{url.rsplit('/', 1)[1]}")
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
    results |= {
        "full": full, "bare_copy": floor, "incremental": incremental,
        "database": url if args.keep else None,
    }  # fmt: skip
    if args.keep:
        print(f"kept {url}")
    save(f"night-{args.scale}", results, args.json)


if __name__ == "__main__":
    main()
