"""The read API under load: p50/p99 latency, throughput and errors at 50 concurrent clients.

    .venv/bin/python -m bench.night --scale medium --keep     # prints the kept database
    .venv/bin/python -m bench.api --database-url postgresql://postgres@127.0.0.1:5432/<db>

Starts `yiwang serve` on loopback over the published store, then drives each endpoint with
wrk (Debian's package; installed if missing) for `--seconds`, 50 connections on 2 threads:
a page of projects, one project by id (random among all, with its figures' provenance), a
filtered page of projects, a page of units, and /health, after 3 s of unmeasured warm-up
and once /health says the workers' caches are warm (every project rendered, or as many as
half the cache holds; the time it took is printed).
Results also go to bench/results/api.json (or `--json PATH`), with the database's name: the
store's scale and seed are in the JSON of the `bench.night --keep` run that made it.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests

from bench.report import json_option, save
from yiwang.api.auth import digest


def ensure_wrk() -> str:
    if not shutil.which("wrk"):
        print("installing wrk (Debian)…", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk")


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(binary: str, url: str, token: str, seconds: int, script: Path | None) -> dict:
    args = [
        binary,
        "-t2",
        "-c50",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s*(50|99)%\s+(\S+)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "p50_ms": round(_ms(latency["50"]), 2),
        "p99_ms": round(_ms(latency["99"]), 2),
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])),
        "requests": int(re.search(r"(\d+) requests in", out)[1]),
        "errors": int(errors[1]) if errors else 0,
        "socket_errors": sum(map(int, socket.groups())) if socket else 0,
    }


def by_id_script(url: str, folder: Path) -> Path:
    """A wrk script asking for a random project by id on every request."""
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT project_id FROM unified.project")]
    path = folder / "by_id.lua"
    listed = ",".join(f'"{i}"' for i in ids)
    path.write_text(
        f"local ids = {{{listed}}}\n"
        "request = function()\n"
        '  return wrk.format("GET", "/projects/" .. ids[math.random(#ids)])\n'
        "end\n"
    )
    return path


def wait_until_warm(base: str, seconds: float = 300) -> float:
    """Seconds until 20 /health answers in a row (spread over the workers) say warm."""
    started = time.perf_counter()
    in_a_row = 0
    while in_a_row < 20:
        if time.perf_counter() - started > seconds:
            raise SystemExit(f"the server's caches were not warm after {seconds} s")
        warm = requests.get(f"{base}/health", timeout=5).json()["cache_warm"]
        in_a_row = in_a_row + 1 if warm else 0
        time.sleep(0.05 if warm else 0.5)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2, help="`yiwang serve --workers`")
    parser.add_argument("--only", help="drive only the endpoints whose path contains this")
    json_option(parser, "bench/results/api.json")
    args = parser.parse_args()
    binary = ensure_wrk()
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "YIWANG_API_TOKEN_SHA256": digest(token)}
    server = subprocess.Popen(
        [Path(sys.executable).with_name("yiwang"), "serve", "--port", str(args.port),
         "--database-url", args.database_url, "--workers", str(args.workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        # warm-up, not measured: every worker started, connected and its cache warmed for
        # the snapshot, as in steady service
        wrk(binary, f"{base}/health", token, 3, None)
        warmed_in = wait_until_warm(base)
        with psycopg.connect(args.database_url) as conn:
            projects = conn.execute("SELECT count(*) FROM unified.project").fetchone()[0]
        folder = Path(tempfile.mkdtemp(prefix="yiwang-bench-api-"))
        cases = {
            "/projects?limit=50": None,
            "/projects/{id}": by_id_script(args.database_url, folder),
            "/projects?risk_flag=NO_APPROVAL&limit=50": None,
            "/units?limit=50": None,
            "/health": None,
        }
        results = {"database": args.database_url.rsplit("/", 1)[-1].split("?")[0],
                   "projects": projects, "clients": 50, "workers": args.workers,
                   "seconds": args.seconds, "endpoints": {}}  # fmt: skip
        results["warmed_in_s"] = round(warmed_in, 1)
        print(f"{projects:,} projects; {args.workers} server processes, caches warm "
              f"{warmed_in:.1f} s after start; 50 connections, {args.seconds} s per endpoint "
              "(wrk)")  # fmt: skip
        print(f"  {'endpoint':34} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
        for path, script in cases.items():
            if args.only and args.only not in path:
                continue
            target = base + ("/" if script else path)
            r = wrk(binary, target, token, args.seconds, script)
            results["endpoints"][path] = r
            print(f"  {path:34} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['requests_per_s']:>8,} "
                  f"{r['errors'] + r['socket_errors']:>7}")  # fmt: skip
    finally:
        server.terminate()
        server.wait()
    save("api", results, args.json)


if __name__ == "__main__":
    main()
