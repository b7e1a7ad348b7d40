"""Drill: the night is SIGKILLed at random points across all its stages. Readers never see a
partial snapshot, the store verifies, the rerun completes, and its content_hash equals the
uninterrupted night's.

CI runs 3 kills; `bin/dev drills` runs the long version (20, `YIWANG_DRILL_KILLS`). Kill
points are spread over the stages an uninterrupted run went through (extract, every source
side by side; validate/resolve/unify; the canonical snapshot with the quality gate's process
beside it; publish): each kill waits for its stage to begin, then for a random part of that stage's
length in the uninterrupted run. The whole process group is killed, the gate's process too
(which would also die with the night alone: `tests/test_forked.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulators.cluster import Cluster
from tests.conftest import AS_OF, SnapshotReader, clone_database, drop_database
from yiwang.store.db import engine_for
from yiwang.store.publish import ledger, verify

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
LATER = AS_OF + dt.timedelta(days=1)
KILLS = int(os.environ.get("YIWANG_DRILL_KILLS", "3"))
SEED = int(os.environ.get("YIWANG_DRILL_SEED", "20261125"))


class NightProcess:
    """`tests.drills.night_process` in its own process group, its stage lines timestamped."""

    def __init__(self, url: str, data: Path, environ: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.drills.night_process", url, f"{LATER}", str(data)],
            cwd=ROOT, env={**os.environ, **environ}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip()))

    def stage(self) -> str:
        stages = [line for _, line in self.lines if line.startswith("stage ")]
        return stages[-1].removeprefix("stage ") if stages else "(starting)"

    def kill_in(self, stage: str, delay: float) -> None:
        """SIGKILL the night `delay` seconds after it announced `stage` (or when it ends)."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and self.proc.poll() is None:
            begun = [t for t, line in self.lines if line == f"stage {stage}"]
            if begun:
                time.sleep(max(0.0, begun[0] + delay - (time.monotonic() - self.started)))
                break
            time.sleep(0.01)
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join()

    def finish(self) -> str:
        self.proc.wait(timeout=600)
        self._reader.join()
        done = [line for _, line in self.lines if line.startswith("done ")]
        assert self.proc.returncode == 0 and done, "\n".join(line for _, line in self.lines)
        return done[-1].split()[-1]


def stage_windows(run: NightProcess) -> list[tuple[str, float, float]]:
    """(stage, start, end) in seconds from launch, for the stages of the pipeline proper."""
    marks = [
        (t, line.split(" ", 1)[1]) for t, line in run.lines if line.startswith(("stage ", "done "))
    ]
    windows = [(name, t, marks[i + 1][0]) for i, (t, name) in enumerate(marks[:-1])]
    return [w for w in windows if w[0] != "start"]


@pytest.fixture(scope="module")
def served(world):
    with Cluster(world, LATER, rate_limits=False) as cluster:
        yield cluster.environment()


def test_given_the_night_killed_anywhere_then_readers_see_whole_snapshots_and_the_rerun_matches(
    world, published_small, served, tmp_path
):
    template = published_small["postgres"][0]  # the night of AS_OF is published
    baseline_url = clone_database(template)
    try:
        baseline = NightProcess(baseline_url, tmp_path / "baseline", served)
        expected = baseline.finish()
    finally:
        drop_database(baseline_url)
    windows = stage_windows(baseline)
    assert len(windows) >= 4, baseline.lines  # extract, unify, snapshot with the gate, publish
    rng = random.Random(SEED)
    hit = []
    for i in range(KILLS):
        # spread over the stages, the last first: even a 3-kill drill reaches publish
        order = windows[::-1]
        pick = (i * len(order)) // KILLS if len(order) >= KILLS else i % len(order)
        stage, start, end = order[pick]
        delay = rng.uniform(0, end - start)
        url, data = clone_database(template), tmp_path / f"kill-{i}"
        try:
            with SnapshotReader(url) as reader:
                killed = NightProcess(url, data, served)
                killed.kill_in(stage, delay)
                hit.append((stage, round(delay, 2), killed.stage()))
                engine = engine_for(url)
                verdict = verify(engine)
                assert verdict.ok, (hit[-1], verdict.problems)
                with engine.connect() as conn:
                    runs = ledger(conn)["run_id"].tolist()
                assert runs in ([f"{AS_OF}"], [f"{AS_OF}", f"{LATER}"]), (hit[-1], runs)
                rerun = NightProcess(url, data, served).finish()
                assert verify(engine).ok
                engine.dispose()
            assert not reader.errors, (hit[-1], reader.errors[:5])
            assert rerun == expected, hit[-1]
        finally:
            drop_database(url)
    print("kills (stage, seconds into it, stage the night had reached):", *hit, sep="\n  ")
    assert len({h[2] for h in hit}) == min(KILLS, len(windows)), hit
