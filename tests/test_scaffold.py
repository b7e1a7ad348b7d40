"""`yiwang connectors new` produces a connector that registers and whose tests pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_given_a_new_name_when_scaffolded_then_it_registers_and_its_tests_pass(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "connectors", project / "connectors")
    (project / "tests" / "connectors").mkdir(parents=True)
    (project / "tests" / "__init__.py").touch()
    (project / "tests" / "connectors" / "__init__.py").touch()
    env = {**os.environ, "PYTHONPATH": str(project)}
    yiwang = Path(sys.executable).parent / "yiwang"
    new = [yiwang, "connectors", "new", "natres", "--title", "自然资源 registry", "--root", project]
    made = subprocess.run(
        new,
        capture_output=True, text=True, env=env, cwd=project, check=True,
    )  # fmt: skip
    assert "connectors/natres/__init__.py" in made.stdout
    listed = subprocess.run(
        [yiwang, "connectors", "list"], capture_output=True, text=True, env=env, cwd=project
    )
    assert "natres" in listed.stdout and "natres_api" in listed.stdout
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/connectors/natres"],
        capture_output=True, text=True, env=env, cwd=project,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    lint = subprocess.run(
        [Path(sys.executable).parent / "ruff", "check", "--config", ROOT / "pyproject.toml", "."],
        capture_output=True, text=True, cwd=project,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout
    assert "3 passed" in tests.stdout
