"""A night run by Airflow on this machine: `airflow dags test` of every sync DAG, then of the
publish DAG, with Airflow's own metadata database under a home of its own."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from departments.registry import registry

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


class AirflowRunFailed(Exception):
    pass


def dag_ids() -> list[str]:
    """In the order a night runs them: every source's sync, then the publication."""
    return [f"sync_{name}" for name in registry()] + ["publish_unified"]


def airflow_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for `airflow` commands, its metadata database migrated."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        **(extra or {}),
    }
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def dags_test_night(
    env: dict[str, str], as_of: dt.date, on_dag: Callable[[str], None] | None = None
) -> list[str]:
    """The night of `as_of` as the scheduler runs it: at 01:00 Beijing time the next day.

    Returns what each `airflow dags test` printed."""
    outputs = []
    for dag_id in dag_ids():
        if on_dag:
            on_dag(dag_id)
        done = subprocess.run(
            [AIRFLOW, "dags", "test", dag_id, f"{as_of + dt.timedelta(days=1)}"],
            env=env, capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
        out = done.stdout + done.stderr
        if "state=success" not in out:
            raise AirflowRunFailed(f"{dag_id} did not succeed:\n{out[-4000:]}")
        outputs.append(out)
    return outputs
