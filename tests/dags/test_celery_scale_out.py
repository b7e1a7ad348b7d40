"""Scale-out shown, not only configured: Airflow with CeleryExecutor (API server, scheduler,
DAG processor, two Celery workers) on the local PostgreSQL and a Redis of its own runs the four
sync DAGs; their assets trigger `publish_unified`; tasks ran on both workers and the snapshot
is the single-process run's, to the hash."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from connectors.registry import registry
from simulators.cluster import Cluster
from tests.conftest import AS_OF, FAST, PG_DSN, pg_admin

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


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


def _database(admin, name: str) -> str:
    admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_DSN.rsplit('/', 1)[0]}/{name}"


def _wait(what: str, check, stack: Stack, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(2)
    pytest.fail(f"timed out waiting for {what}\n{stack.tails()}")


def test_given_two_celery_workers_when_a_night_runs_then_both_work_and_the_hash_is_the_same(
    world, published_small, tmp_path
):
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is missing: `bin/dev test` installs it (Debian redis-server)"
    admin = pg_admin()
    tag = uuid.uuid4().hex[:8]
    meta_db, store_db = f"yiwang_af_meta_{tag}", f"yiwang_af_store_{tag}"
    stack = Stack(tmp_path)
    try:
        meta, store = _database(admin, meta_db), _database(admin, store_db)
        redis_port, api_port = free_port(), free_port()
        stack.start("redis", [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], dict(os.environ))  # fmt: skip
        meta_url = "postgresql+psycopg://" + meta.split("://", 1)[1]
        with Cluster(world, AS_OF, options=FAST) as cluster:
            env = {
                **os.environ, **cluster.environment(),
                "AIRFLOW_HOME": str(tmp_path / "airflow"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "yiwang.orchestration.worker_name",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
                "AIRFLOW__API__PORT": str(api_port),
                "AIRFLOW__API_AUTH__JWT_SECRET": f"jwt-{tag}",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url,
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
                "YIWANG_SYNC_SCHEDULE": "none",  # the syncs are triggered below, by hand
                "YIWANG_DATABASE_URL": store,
                "YIWANG_DATA_DIR": str(tmp_path / "data"),
            }  # fmt: skip
            subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
            for name in ("api-server", "scheduler", "dag-processor"):
                stack.start(name, [AIRFLOW, name], env)
            for worker, log_port in (("worker-a", free_port()), ("worker-b", free_port())):
                worker_env = {
                    **env, "YIWANG_WORKER_NAME": worker,
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
                }  # fmt: skip
                stack.start(worker, [AIRFLOW, "celery", "worker", "--concurrency", "2",
                                     "--celery-hostname", f"{worker}@%h"], worker_env)  # fmt: skip
            dags = {f"sync_{name}" for name in registry()} | {"publish_unified"}

            def parsed():
                with psycopg.connect(meta) as conn:
                    rows = conn.execute("SELECT dag_id FROM dag").fetchall()
                return {r[0] for r in rows} >= dags

            _wait("the DAG processor to parse the DAGs", parsed, stack, 120)
            conf = json.dumps({"as_of": f"{AS_OF}"})
            for dag_id in sorted(dags - {"publish_unified"}):
                subprocess.run([AIRFLOW, "dags", "trigger", dag_id, "--conf", conf],
                               env=env, check=True, capture_output=True)  # fmt: skip

            def published():
                with psycopg.connect(meta) as conn:
                    states = conn.execute(
                        "SELECT state FROM dag_run WHERE dag_id = 'publish_unified'"
                    ).fetchall()
                    failed = conn.execute("SELECT count(*) FROM dag_run WHERE state = 'failed'")
                    if failed.fetchone()[0]:
                        pytest.fail(f"a DAG run failed\n{stack.tails()}")
                return states and states[0][0] == "success"

            _wait("the asset-triggered publish to succeed", published, stack, 480)
            with psycopg.connect(meta) as conn:
                hosts = conn.execute(
                    "SELECT hostname, count(*) FROM task_instance GROUP BY hostname"
                ).fetchall()
            with psycopg.connect(store) as conn:
                hashes = conn.execute("SELECT content_hash FROM unified.publish_run").fetchall()
    finally:
        stack.stop()
        for name in (meta_db, store_db):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    assert {h for h, _ in hosts} == {"worker-a", "worker-b"}, hosts
    assert [h for (h,) in hashes] == [published_small["postgres"][1].published.content_hash]
