"""Two commits side by side: `publish_night` over one kept store, alternating, round by round.

    .venv/bin/python -m bench.night --scale large --keep        # prints the store's URL
    .venv/bin/python -m bench.ab --database-url URL e6bb92b HEAD --rounds 2

A small machine's speed drifts within the hour (docs/performance.md says by how much here),
so two figures taken an hour apart say little about two commits. Here each round runs every
commit once, back to back, over the same staged records: each commit checked out as a git
worktree and run in a process of its own with this environment, each night one day after the
store's latest (so every run validates, resolves, unifies, gates and publishes; each with an
empty kept-parts directory, so every run validates every record). Printed: per stage the mean
seconds of each commit, its user CPU, and the last commit's over the first's. `--json PATH`
writes the same figures, every run's own (with its peak RSS and content_hash), each commit's
full hash and the store's name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from bench.night import STAGES
from bench.report import git, json_option, save

PUBLISH_SIDE = STAGES[STAGES.index("read_staged") :]  # what `publish_night` times

# one night in a fresh process: its seconds per stage, wall, user CPU, peak RSS and
# content_hash, as JSON. A commit whose night takes its settings as an argument gets this
# environment's; an older one reads them itself.
NIGHT = """
import datetime as dt, inspect, json, resource, sys, time
from yiwang.store.db import engine_for
from yiwang.night.run import publish_night
given = {}
if "options" in inspect.signature(publish_night).parameters:
    from yiwang.settings import from_environment
    given["options"] = from_environment().night_options()
started = time.perf_counter()
night = publish_night(
    engine_for(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]), sys.argv[3], **given
)
seconds = dict(night.seconds, wall=time.perf_counter() - started)
seconds["user_cpu"] = resource.getrusage(resource.RUSAGE_SELF).ru_utime
seconds["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
seconds["content_hash"] = getattr(night, "content_hash", None)
print(json.dumps(seconds))
"""


def next_night(url: str) -> dt.date:
    with psycopg.connect(url) as conn:
        latest = conn.execute("SELECT max(as_of_date) FROM unified.publish_run").fetchone()[0]
    if latest is None:
        raise SystemExit(f"{url} holds no published night: keep one with bench.night --keep")
    return latest + dt.timedelta(days=1)


def run_night(tree: Path, url: str, work: Path) -> tuple[dict[str, float], str | None]:
    """One night of the commit in `tree`: its figures, and the content_hash it published."""
    kept = Path(tempfile.mkdtemp(prefix="kept-", dir=work))
    env = {**os.environ, "PYTHONPATH": str(tree), "YIWANG_KEPT_DIR": str(kept)}
    quality = work / "quality"
    as_of = next_night(url)
    done = subprocess.run(
        [sys.executable, "-c", NIGHT, url, f"{as_of}", str(quality)],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return measured, measured.pop("content_hash", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a store kept by bench.night")
    parser.add_argument("commits", nargs="+", help="commits to compare, the baseline first")
    parser.add_argument("--rounds", type=int, default=2)
    json_option(parser, None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="yiwang-ab-"))
    trees = {}
    try:
        for commit in args.commits:
            trees[commit] = work / commit.replace("/", "_")
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(trees[commit]), commit],
                check=True,
            )
        runs: dict[str, list[dict]] = {c: [] for c in args.commits}
        hashes: dict[str, list[str | None]] = {c: [] for c in args.commits}
        for round_no in range(1, args.rounds + 1):
            for commit, tree in trees.items():
                measured, content_hash = run_night(tree, args.database_url, work)
                runs[commit].append(measured)
                hashes[commit].append(content_hash)
                wall = runs[commit][-1]["wall"]
                print(f"round {round_no}: {commit} {wall:.1f} s", flush=True)
    finally:
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], check=False)
    show(runs)
    if args.json:
        save("ab", figures(args, runs, hashes), args.json)


def mean_per_commit(runs: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    return {c: {k: sum(r[k] for r in rs) / len(rs) for k in rs[0]} for c, rs in runs.items()}


def figures(args, runs: dict[str, list[dict]], hashes: dict[str, list]) -> dict:
    """What `show` prints, and every run's own figures, as one JSON object."""
    means, commits = mean_per_commit(runs), list(runs)
    first, last = means[commits[0]], means[commits[-1]]
    return {
        "database": args.database_url.rsplit("/", 1)[-1].split("?")[0],
        "rounds": args.rounds,
        "commits": {
            c: {
                "sha": git("rev-parse", f"{c}^{{commit}}"),
                "runs": [dict(r, content_hash=h) for r, h in zip(runs[c], hashes[c], strict=True)],
                "mean": {k: round(v, 2) for k, v in means[c].items()},
            }
            for c in commits
        },
        "last_over_first": {
            stage: round(last.get(stage, 0.0) / first[stage], 2) if first.get(stage) else None
            for stage in (*PUBLISH_SIDE, "wall", "user_cpu")
        },
    }


def show(runs: dict[str, list[dict]]) -> None:
    commits = list(runs)
    means = mean_per_commit(runs)
    print(f"\n{'stage':12} " + " ".join(f"{c[:12]:>12}" for c in commits) + f" {'last/first':>11}")
    for stage in (*PUBLISH_SIDE, "wall", "user_cpu"):
        first, last = means[commits[0]].get(stage, 0.0), means[commits[-1]].get(stage, 0.0)
        ratio = f"{last / first:.2f}" if first else "-"
        cells = " ".join(f"{means[c].get(stage, 0.0):>12.2f}" for c in commits)
        print(f"{stage:12} {cells} {ratio:>11}")


if __name__ == "__main__":
    main()
