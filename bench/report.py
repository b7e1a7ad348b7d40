"""What every benchmark shares: the process's peak memory, and its results file.

Every benchmark writes its figures as JSON (`--json PATH`; by default under bench/results/),
with where they came from: the commit, whether the work tree held changes, Python, the
platform, the processor and its cores, and when (`provenance`). docs/performance.md cites
these files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _high_water_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


class PhasePeaks:
    """Peak memory per phase of a run, as a progress callback: each call ends the phase before
    and starts the named one. The kernel's high-water mark is reset at every phase start
    (Linux `/proc/self/clear_refs`), so a phase's figure is its own, not an earlier one's.

    Work forked beside the night (the quality gate) is counted too: a phase's figure is this
    process's peak RSS plus the most private memory its forked children held during the
    phase, sampled every `SAMPLE_S` (a fork's RSS would count every page it shares with this
    process; its private pages are what it adds). The two peaks need not coincide: an upper
    bound. Children that are other programs (the simulators) are not the night's.
    """

    SAMPLE_S = 0.25  # a scan of /proc a sample: often enough for a gate of seconds

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.forked: dict[str, float] = {}  # per phase: the forked children's part of its peak
        self.phase: str | None = None
        self._children = 0.0
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._done.wait(self.SAMPLE_S):
            self._children = max(self._children, _forked_private_mb())

    def __call__(self, phase: str) -> None:
        self.end()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        self._children = 0.0
        self.phase = phase

    def end(self) -> None:
        if self.phase is not None:
            children = max(self._children, _forked_private_mb())
            self.peaks[self.phase] = round(_high_water_mb() + children)
            if children:
                self.forked[self.phase] = round(children)
            self.phase = None

    def close(self) -> None:
        self.end()
        self._done.set()
        self._sampler.join()


def _forked_private_mb() -> float:
    """The private memory of this process's children that run its own program (forks)."""
    me = os.getpid()
    with open(f"/proc/{me}/cmdline", "rb") as f:
        program = f.read()
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if parent != me:
                continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                if f.read() != program:
                    continue
            with open(f"/proc/{entry.name}/smaps_rollup") as f:
                kb = sum(int(line.split()[1]) for line in f if line.startswith("Private_"))
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        total += kb / 1024
    return total


def git(*args: str) -> str | None:
    """git's answer in the repository, or None (no git, not a work tree, a failure)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _processor() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def provenance() -> dict:
    """Where a run's figures came from; a field git cannot give is None."""
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "tree_changed": None if status is None else bool(status),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": _processor(),
        "cores": os.cpu_count(),
        "ran_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def json_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    """`--json PATH`: where the figures go as JSON (`default` names the file when not given;
    None: no file unless asked for)."""
    where = f"default: {default}" if default else "default: none"
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help=f"write the figures as JSON to PATH ({where})"
    )


def save(name: str, results: dict, path: Path | str | None = None) -> Path:
    """Write `results` and their `provenance` to `path`, by default
    bench/results/<name>.json (runs compare file against file)."""
    out = Path(path) if path else Path("bench/results") / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, "provenance": provenance()}, indent=2))
    print(f"→ {out}")
    return out


def world_args(doc: str, name: str = "<bench>") -> tuple[argparse.Namespace, dt.date]:
    """The options every scale benchmark takes: --scale, --seed, --as-of (and that date),
    --json."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default="2026-11-23")
    json_option(parser, f"bench/results/{name}-<scale>.json")
    args = parser.parse_args()
    return args, dt.date.fromisoformat(args.as_of)
