"""A night run by Airflow on this machine: `airflow dags test` of every sync DAG, then of the
publish DAG (all in one process, `yiwang.airflow.dags_test`), with Airflow's own metadata
database under a home of its own.

A DAG run is judged by its DagRun's final state as Airflow recorded it in the metadata
database, never by what its tasks print. What each `airflow dags test` printed (the task logs)
is kept under `<home>/logs/nights/<as-of>/`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from departments.registry import registry
from yiwang.airflow import pools

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAGS_TEST_TIMEOUT_S = 1800


@dataclass(frozen=True)
class DagRunOutcome:
    dag_id: str
    state: str  # the DagRun's final state: success, failed (or none when no run was made)
    failed_tasks: tuple[str, ...]  # `extract_vouchers (try 1)`
    cause: str  # the failure's own line, from the log, when one is found
    log: Path

    def line(self) -> str:
        tasks = ", ".join(self.failed_tasks) or "no task failed"
        cause = f": {self.cause}" if self.cause else ""
        return f"{self.dag_id} ended {self.state} ({tasks}){cause}; its log: {self.log}"


class AirflowRunFailed(Exception):
    """The DAG runs that did not succeed, one line each, and what was not run after them."""

    def __init__(self, failed: list[DagRunOutcome], skipped: list[str]) -> None:
        lines = [o.line() for o in failed]
        if skipped:
            lines.append(f"not run, since a sync failed: {', '.join(skipped)}")
        super().__init__("\n".join(lines))


class AirflowSetupFailed(Exception):
    """Airflow's metadata database could not be prepared (one line, Airflow's own)."""


def sync_dag_ids() -> list[str]:
    return [f"sync_{name}" for name in registry()]


def airflow_env(
    home: Path, extra: dict[str, str] | None = None, connections: Mapping[str, dict] | None = None
) -> dict[str, str]:
    """The environment for `airflow` commands: its metadata database migrated, the
    departments' pools in it, and `connections` (Airflow's JSON form, by id) stored in it,
    encrypted with the home's Fernet key."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(home),
        **(extra or {}),
    }
    home.mkdir(parents=True, exist_ok=True)
    prepare_metadata(env)
    if connections:
        add_connections(env, connections)
    return env


def prepare_metadata(env: dict[str, str]) -> None:
    """Airflow's metadata database migrated, with the departments' pools in it (a task whose
    pool does not exist is never run)."""
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "import", str(pools.write(Path(env["AIRFLOW_HOME"]) / "pools.json")))


def add_connections(env: dict[str, str], connections: Mapping[str, dict]) -> None:
    """Store `connections` in Airflow's metadata database (`airflow connections import`),
    replacing those of the same id; the file holding them lives only as long as the import."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as file:
        json.dump(dict(connections), file, ensure_ascii=False)
        file.flush()
        _airflow(env, "connections", "import", "--overwrite", file.name)


def fernet_key(home: Path) -> str:
    """The key Airflow encrypts connections' passwords with in this home (made once)."""
    path = home / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(Fernet.generate_key().decode())
    return path.read_text().strip()


def dags_test_night(
    env: dict[str, str], as_of: dt.date, on_dag: Callable[[str], None] | None = None
) -> list[DagRunOutcome]:
    """The night of `as_of` as the scheduler runs it: at 01:00 Beijing time the next day,
    every sync DAG, then (when all succeeded) the publication, each by `airflow dags test`
    (all in one process, `yiwang.airflow.dags_test`). Raises `AirflowRunFailed` naming each
    DAG run that did not succeed. Each attempt keeps its logs apart."""
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = Path(env["AIRFLOW_HOME"]) / "logs" / "nights" / f"{as_of}" / started
    logs.mkdir(parents=True, exist_ok=True)
    syncs, publish = sync_dag_ids(), "publish_unified"
    before = {dag_id: _run_ids(env, dag_id) for dag_id in (*syncs, publish)}
    stopped, why = _dags_test(env, [*syncs, "--then", publish], as_of, logs, on_dag)

    def outcome(dag_id: str) -> DagRunOutcome:
        log = logs / f"{dag_id}.log"
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        found = judged(env, dag_id, before[dag_id], output, log)
        if stopped and found.state in ("running", "queued", "not run"):
            return DagRunOutcome(dag_id, stopped, (), why, log)  # the runner ended before it
        return found

    runs = [outcome(dag_id) for dag_id in syncs]
    failed = [o for o in runs if o.state != "success"]
    if failed:
        raise AirflowRunFailed(failed, [publish])
    published = outcome(publish)
    if published.state != "success":
        raise AirflowRunFailed([published], [])
    return [*runs, published]


def _dags_test(
    env: dict[str, str],
    dag_ids: list[str],
    as_of: dt.date,
    logs: Path,
    on_dag: Callable[[str], None] | None,
) -> tuple[str, str]:
    """Runs `yiwang.airflow.dags_test` for `dag_ids` (a night's DAG runs are dated the next
    day), telling `on_dag` as each begins. When the runner ended early: the state of the DAGs
    it left unfinished and why; else ("", "")."""
    command = [sys.executable, "-m", "yiwang.airflow.dags_test", f"{as_of + dt.timedelta(days=1)}",
               str(logs), *dag_ids]  # fmt: skip
    limit = DAGS_TEST_TIMEOUT_S * sum(d != "--then" for d in dag_ids)
    runner_log = logs / "dags_test.log"  # what the runner says outside the DAGs' own logs
    with runner_log.open("wb") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=errors, text=True)  # fmt: skip
        watchdog = threading.Timer(limit, process.kill)
        watchdog.start()
        try:
            for line in process.stdout:
                if line.startswith("start ") and on_dag:
                    on_dag(line.removeprefix("start ").strip())
            process.wait()
        finally:
            watchdog.cancel()
    if not runner_log.stat().st_size:
        runner_log.unlink()
    if process.returncode == -signal.SIGKILL:
        return "timed out", f"`airflow dags test` ran past {limit} s and was stopped"
    if process.returncode:
        return "not run", f"`python -m yiwang.airflow.dags_test` failed; see {runner_log}"
    return "", ""


def judged(
    env: dict[str, str], dag_id: str, before: set[str], output: str, log: Path
) -> DagRunOutcome:
    """The DagRun this `dags test` made (a manual run not among `before`), as the metadata
    database records it: its state and its failed tasks."""
    with _metadata(env).connect() as conn:
        runs = conn.execute(
            text("SELECT run_id, state FROM dag_run WHERE dag_id = :d AND run_id LIKE 'manual%' "
                 "ORDER BY start_date DESC"),
            {"d": dag_id},
        ).all()  # fmt: skip
        run = next((r for r in runs if r.run_id not in before), None)
        if run is None:
            return DagRunOutcome(dag_id, "not run", (), _cause(output), log)
        tasks = conn.execute(
            text("SELECT task_id, state, try_number FROM task_instance WHERE dag_id = :d AND "
                 "run_id = :r AND state IN ('failed', 'upstream_failed') ORDER BY task_id"),
            {"d": dag_id, "r": run.run_id},
        ).all()  # fmt: skip
    failed = tuple(
        f"{t.task_id} (try {t.try_number})" if t.state == "failed" else f"{t.task_id} (upstream)"
        for t in tasks
    )
    cause = _cause(output) if run.state != "success" else ""
    return DagRunOutcome(dag_id, run.state, failed, cause, log)


def _cause(output: str) -> str:
    """The failure's own line: what a task failed with at once (`AirflowFailException`), else
    the last exception the log shows."""
    lines = output.splitlines()
    for line in reversed(lines):
        if "AirflowFailException: " in line:
            return line.split("AirflowFailException: ", 1)[1].strip()[:400]
    for line in reversed(lines):
        found = re.match(r"^\s*([\w.]+(?:Error|Exception|Busy)): (.+)$", line)
        if found:
            return f"{found[1].rsplit('.', 1)[-1]}: {found[2].strip()}"[:400]
    return ""


def _run_ids(env: dict[str, str], dag_id: str) -> set[str]:
    with _metadata(env).connect() as conn:
        found = conn.execute(text("SELECT run_id FROM dag_run WHERE dag_id = :d"), {"d": dag_id})
        return set(found.scalars())


def _metadata(env: dict[str, str]):
    url = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or (
        f"sqlite:///{Path(env['AIRFLOW_HOME']) / 'airflow.db'}"
    )
    return create_engine(url, poolclass=NullPool)


def _airflow(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise AirflowSetupFailed(f"`airflow {' '.join(args[:2])}` failed: {tail[0]}")
