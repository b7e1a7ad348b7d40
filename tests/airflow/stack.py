"""An Airflow deployment on this machine for the tests: API server, scheduler, DAG processor
and an executor's workers, each process in its own session so that teardown ends it whole."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_DSN
from yiwang.airflow.local import AIRFLOW, fernet_key, prepare_metadata

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Processes started in their own sessions, so that teardown can end each whole tree."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.procs = logs, {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        out = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def tails(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-1500:]
            for p in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def database(admin, name: str) -> str:
    admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_DSN.rsplit('/', 1)[0]}/{name}"


@contextlib.contextmanager
def deployment(tmp_path: Path):
    """A `Stack` and two fresh PostgreSQL databases, Airflow's metadata and the store; all
    gone afterwards. Yields (stack, metadata url, store url, tag)."""
    from tests.conftest import pg_admin

    admin, tag = pg_admin(), uuid.uuid4().hex[:8]
    names = (f"yiwang_af_meta_{tag}", f"yiwang_af_store_{tag}")
    stack = Stack(tmp_path)
    try:
        yield stack, database(admin, names[0]), database(admin, names[1]), tag
    finally:
        stack.stop()
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def wait(what: str, check, stack: Stack, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(2)
    pytest.fail(f"timed out waiting for {what}\n{stack.tails()}")


def airflow_env(tmp_path: Path, meta: str, executor: str, tag: str, **extra: str) -> dict[str, str]:
    """Every Airflow process's settings: one metadata database, one JWT secret, our DAGs."""
    meta_url = "postgresql+psycopg://" + meta.split("://", 1)[1]
    api_port = free_port()
    return {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "yiwang.airflow.tasks.worker_name",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": f"jwt-{tag}",
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "YIWANG_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def start_airflow(stack: Stack, env: dict[str, str]) -> None:
    """Airflow's metadata database migrated, the departments' pools in it, and its services."""
    prepare_metadata(env)
    for name in ("api-server", "scheduler", "dag-processor"):
        stack.start(name, [AIRFLOW, name], env)


def task_instances(meta: str, dag_id: str, like: str = "%") -> list[tuple]:
    """(task_id, state, try_number, start_date, end_date, hostname) of a DAG's tasks."""
    import psycopg

    with psycopg.connect(meta) as conn:
        return conn.execute(
            "SELECT task_id, state, try_number, start_date, end_date, hostname FROM "
            "task_instance WHERE dag_id = %s AND task_id LIKE %s ORDER BY start_date",
            (dag_id, like),
        ).fetchall()


def dag_runs(meta: str, dag_id: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(meta) as conn:
        return conn.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = %s ORDER BY logical_date, run_after",
            (dag_id,),
        ).fetchall()
