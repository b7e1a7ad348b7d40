"""`yiwang evaluate` scores a night against the ground truth, as a person runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_given_the_small_world_when_evaluating_then_precision_recall_and_money_are_printed(
    tmp_path,
):
    env = {**os.environ, "YIWANG_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    yiwang = Path(sys.executable).parent / "yiwang"
    out = subprocess.run(
        [yiwang, "evaluate", "--scale", "small", "--seed", "7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    overall = re.search(
        r"│ all\s+│\s+([\d,]+) │\s+([\d,]+) │\s+([\d.]+)% │\s+([\d.]+)% │", out.stdout
    )
    assert overall, out.stdout
    assert float(overall.group(3)) >= 99.5 and float(overall.group(4)) >= 95
    assert "exact to the fen" in out.stdout and "differences: none" in out.stdout
