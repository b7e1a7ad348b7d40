"""Benchmark of the connectors: records/s of extract + parse per source.

    .venv/bin/python -m bench.connectors --scale medium

The simulators run in their own process (`yiwang simulate`), as a real system would, so the
client's figures are not shared with the servers' work. Each source is read in full into a
`LocalSink` with its raw pages landed; the contract's own limits apply (housing: 10 requests/s),
and housing is also read with the limit lifted to show the connector's own ceiling. Parsing
alone is measured by replaying the landed pages. Results also go to
bench/results/connectors-<scale>.json (or `--json PATH`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import peak_rss_mb, save, world_args
from connectors.core import Landing, LocalSink, from_env, replay
from departments.registry import registry
from yiwang.night.extract import extract_source
from yiwang.night.run_ids import run_id_for


def start_simulators(scale: str, seed: int, as_of: str, rate_limits: bool) -> tuple:
    args = [Path(sys.executable).parent / "yiwang", "simulate", "--scale", scale]
    args += ["--seed", str(seed), "--as-of", as_of]
    args += ["--rate-limits" if rate_limits else "--no-rate-limits"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=os.environ)
    env = {}
    while len(env) < len(registry()):
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulators did not start")
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value.strip("'")
    return proc, env


def main() -> None:
    args, as_of = world_args(__doc__, "connectors")
    results: dict = {"scale": args.scale, "seed": args.seed, "as_of": args.as_of, "sources": {}}
    work = Path(tempfile.mkdtemp(prefix="yiwang-bench-"))
    runs = [(name, c, True) for name, c in registry().items()]
    runs += [(f"{name} (limit lifted)", c, False) for name, c in registry().items() if c.rate_per_s]
    head = ("records", 10), ("requests", 9), ("seconds", 8), ("rec/s", 9), ("parse rec/s", 12)
    print(f"{'source':24} " + " ".join(f"{h:>{w}}" for h, w in head))
    for label, connector, limited in runs:
        proc, env = start_simulators(args.scale, args.seed, args.as_of, rate_limits=limited)
        try:
            landing = Landing(work / "landing", label.split()[0] + str(limited))
            settings = from_env(connector.conn_id, env)
            sink = LocalSink(work / f"sink-{label.split()[0]}-{limited}", commit_every_s=30)
            result = extract_source(
                connector, settings, sink, as_of, run_id_for(as_of, "bench"), landing,
                rate_limits=limited,
            )  # fmt: skip
        finally:
            proc.terminate()
            proc.wait()
        t0 = time.perf_counter()
        parsed = sum(len(f) for f in replay(connector, landing).values())
        parse_s = time.perf_counter() - t0
        row = {
            "records": result.records,
            "requests": result.requests,
            "seconds": round(result.seconds, 2),
            "records_per_s": round(result.records / result.seconds),
            "parse_records_per_s": round(parsed / parse_s),
            "mb": round(result.bytes / 1e6, 1),
        }
        results["sources"][label] = row
        print(
            f"{label:24} {row['records']:>10,} {row['requests']:>9,} {row['seconds']:>8.1f} "
            f"{row['records_per_s']:>9,} {row['parse_records_per_s']:>12,}"
        )
    results["peak_rss_mb"] = round(peak_rss_mb())
    print(f"client peak RSS {results['peak_rss_mb']:,} MB")
    save(f"connectors-{args.scale}", results, args.json)


if __name__ == "__main__":
    main()
