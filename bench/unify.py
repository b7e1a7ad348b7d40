"""Benchmark of resolution and unification: time and peak memory at a scale.

    .venv/bin/python -m bench.unify --scale medium
    .venv/bin/python -m bench.unify --scale large

The simulators run in their own process; the hub extracts everything (rate limit lifted: it
is not what is measured here), validates, then resolution and unification are timed on their
own. Blocking keeps resolution near-linear: compare records/s across scales. Results also go
to bench/results/unify-<scale>.json (or `--json PATH`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.connectors import start_simulators
from bench.report import peak_rss_mb, save, world_args
from connectors.core import LocalSink
from departments.registry import linking, plan, record, taking_part
from schemas.validate import validate
from transforms.resolve import resolve
from transforms.unify import spot_check_table, unified, unit_scorecard
from yiwang.night.run_ids import run_id_for
from yiwang.night.steps import extract_all, record_streams


def main() -> None:
    args, as_of = world_args(__doc__, "unify")
    proc, env = start_simulators(args.scale, args.seed, args.as_of, rate_limits=False)
    sink = LocalSink(Path(tempfile.mkdtemp(prefix="yiwang-bench-")), commit_every_s=600)
    try:
        t0 = time.perf_counter()
        extract_all(env, as_of, sink, run_id_for(as_of, "bench"), rate_limits=False)
        extract_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait()
    t0 = time.perf_counter()
    received, accepted, systems = {}, {}, set()
    for name, s, rows in record_streams(sink):
        received[s.record_type] = rows
        systems |= {name} if len(rows) else set()
        accepted[s.record_type] = validate(name, record(s.record_type), rows).accepted
    validate_s = time.perf_counter() - t0
    records = sum(len(f) for f in accepted.values())
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    links = resolve(accepted, linking(), received["project"])
    resolve_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # as the night unifies: every department taking part, its own tables too
    projects, _ = unified(accepted, links, as_of, plan(taking_part(systems)))
    unit_scorecard(accepted, links, projects, as_of)
    spot_check_table(projects, as_of)
    unify_s = time.perf_counter() - t0
    results = {
        "scale": args.scale,
        "seed": args.seed,
        "as_of": args.as_of,
        "records": records,
        "projects": len(projects),
        "extract_s": round(extract_s, 1),
        "validate_s": round(validate_s, 1),
        "resolve_s": round(resolve_s, 2),
        "unify_s": round(unify_s, 2),
        "resolve_records_per_s": round(records / resolve_s),
        "peak_rss_mb_before_resolve": round(rss_before),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    print(
        f"{args.scale}: {records:,} valid records, {len(projects):,} projects\n"
        f"  extract {extract_s:.1f} s, validate {validate_s:.1f} s\n"
        f"  resolve {resolve_s:.2f} s ({results['resolve_records_per_s']:,} records/s), "
        f"unify {unify_s:.2f} s\n"
        f"  peak RSS {results['peak_rss_mb_before_resolve']:,} MB before resolving, "
        f"{results['peak_rss_mb']:,} MB after"
    )
    save(f"unify-{args.scale}", results, args.json)


if __name__ == "__main__":
    main()
