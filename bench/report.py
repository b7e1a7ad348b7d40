"""What every benchmark shares: the process's peak memory, and its results file."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
from pathlib import Path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _high_water_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


class PhasePeaks:
    """Peak RSS per phase of a run, as a progress callback: each call ends the phase before
    and starts the named one. The kernel's high-water mark is reset at every phase start
    (Linux `/proc/self/clear_refs`), so a phase's figure is its own, not an earlier one's."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.phase: str | None = None

    def __call__(self, phase: str) -> None:
        self.end()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        self.phase = phase

    def end(self) -> None:
        if self.phase is not None:
            self.peaks[self.phase] = round(_high_water_mb())
            self.phase = None


def save(name: str, results: dict) -> Path:
    """Write `results` to bench/results/<name>.json (runs compare file against file)."""
    out = Path("bench/results") / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"→ {out}")
    return out


def world_args(doc: str) -> tuple[argparse.Namespace, dt.date]:
    """The options every scale benchmark takes: --scale, --seed, --as-of (and that date)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--as-of", default="2026-11-23")
    args = parser.parse_args()
    return args, dt.date.fromisoformat(args.as_of)
