"""Benchmark of the simulators: world generation time and each server's records/s.

    .venv/bin/python -m bench.simulators --scale large

Generation is timed fresh (no cache) on one core. Each server is then read completely over
loopback by one client with one keep-alive session, the way a connector pages, and its
records/s printed. The housing contract limits a client to 10 requests/s (at most 10,000
records/s at 1,000 per page); that limit is measured as well as the server's own ceiling.
Results are also written to bench/results/simulators-<scale>.json (or `--json PATH`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from bench.report import json_option, peak_rss_mb, save
from simulators.client import SimClient
from simulators.cluster import Cluster
from simulators.world import calendar as cal
from simulators.world import generate_world


def read_drc(client: SimClient) -> int:
    n, page = 0, 1
    while True:
        data = client.get("/api/v1/projects", {"page": page, "page_size": 500}).json()["data"]
        n += len(data["records"])
        if page * 500 >= data["total"]:
            return n
        page += 1


def read_treasury(client: SimClient, as_of: dt.date) -> int:
    n, day = 0, cal.TREASURY_FIRST_DAY
    while day <= as_of:
        part, parts = 1, 1
        while part <= parts:
            r = client.get("/treasury/v2/vouchers", {"pay_date": day, "part": part})
            parts = int(r.headers["X-Total-Parts"])
            n += r.content.count(b"\r\n") - 1
            part += 1
        day += dt.timedelta(days=1)
    return n


def read_housing(client: SimClient) -> int:
    n = 0
    for feed in ("permits", "progress-reports", "inspections", "acceptances"):
        cursor = None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            r = client.get(f"/openapi/v3/{feed}", params)
            if r.status_code == 429:
                time.sleep(float(r.headers["Retry-After"]))
                continue
            body = r.json()
            n += len(body["items"])
            cursor = body["nextCursor"]
            if cursor is None:
                break
    return n


def read_audit(client: SimClient) -> int:
    n, offset = 0, 0
    while True:
        body = client.get("/audit/api/findings", {"offset": offset, "limit": 200}).json()
        n += len(body["items"])
        offset += 200
        if offset >= body["total"]:
            return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-11-23")
    json_option(parser, "bench/results/simulators-<scale>.json")
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)
    results: dict = {"scale": args.scale, "seed": args.seed, "as_of": args.as_of}

    started = time.perf_counter()
    world = generate_world(args.scale, args.seed)
    results["generate_s"] = round(time.perf_counter() - started, 2)
    results["world_records"] = world.record_count()
    results["generate_peak_rss_mb"] = round(peak_rss_mb())
    print(
        f"world {args.scale}: {results['world_records']:,} records (all days) generated in "
        f"{results['generate_s']:.1f} s, peak RSS {results['generate_peak_rss_mb']:,} MB"
    )

    for label, housing_rate in (("server ceiling", 0), ("contract rate limit", 10)):
        started = time.perf_counter()
        with Cluster(world, as_of, rate_limits=bool(housing_rate)) as c:
            results.setdefault("serve_setup_s", round(time.perf_counter() - started, 2))
            readers = {
                "drc": lambda cl: read_drc(cl),
                "treasury": lambda cl: read_treasury(cl, as_of),
                "housing": lambda cl: read_housing(cl),
                "audit": lambda cl: read_audit(cl),
            }
            if housing_rate:
                readers = {"housing": readers["housing"]}
            for system, read in readers.items():
                client = SimClient(c.servers[system])
                t0 = time.perf_counter()
                records = read(client)
                seconds = time.perf_counter() - t0
                key = f"{system} ({label})"
                results[key] = {
                    "records": records,
                    "seconds": round(seconds, 2),
                    "records_per_s": round(records / seconds),
                    "requests": c.servers[system].requests,
                }
                requests = c.servers[system].requests
                print(
                    f"{key:32s} {records:>10,} records in {seconds:7.2f} s = "
                    f"{records / seconds:>10,.0f} records/s ({requests:,} requests)"
                )
    results["peak_rss_mb"] = round(peak_rss_mb())
    print(f"server setup {results['serve_setup_s']} s, peak RSS {results['peak_rss_mb']:,} MB")
    save(f"simulators-{args.scale}", results, args.json)


if __name__ == "__main__":
    main()
