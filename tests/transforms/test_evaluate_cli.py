"""`yiwang evaluate` scores a night against the ground truth, as a person runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_given_the_messy_small_world_when_evaluating_then_the_strict_figures_are_printed(
    tmp_path,
):
    """The messy profile (names typed otherwise, reorganised units, same-named works,
    re-filed projects): links precise, no false `X-` project, no project given another's
    money."""
    env = {**os.environ, "YIWANG_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    yiwang = Path(sys.executable).parent / "yiwang"
    out = subprocess.run(
        [yiwang, "evaluate", "--scale", "small", "--seed", "7", "--profile", "messy"],
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
    assert re.search(r"false X- projects: 0 of [1-9]", out.stdout), out.stdout
    paid = re.search(r"([\d,]+) of ([\d,]+) exact to the fen; ([\d,]+) above", out.stdout)
    exact, projects, overstated = (int(g.replace(",", "")) for g in paid.groups())
    # another project's money only where the hub cannot see the other works at all (a twin
    # whose permit it has not received): at most one project in a hundred
    assert overstated <= 0.01 * projects and exact >= 0.95 * projects, out.stdout
