"""Scale-out shown, not only configured: Airflow with CeleryExecutor (API server, scheduler,
DAG processor, two Celery workers) on the local PostgreSQL and a Redis of its own runs the four
sync DAGs; their assets trigger `publish_unified`; tasks ran on both workers and the snapshot
is the single-process run's, to the hash."""

from __future__ import annotations

import json
import shutil
import subprocess

import psycopg
import pytest

from departments.registry import registry
from simulators.cluster import Cluster
from tests.airflow.stack import (
    AIRFLOW,
    airflow_env,
    dag_runs,
    deployment,
    free_port,
    start_airflow,
    wait,
)
from tests.conftest import AS_OF

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_given_two_celery_workers_when_a_night_runs_then_both_work_and_the_hash_is_the_same(
    world, published_small, tmp_path
):
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is missing: `bin/dev test` installs it (Debian redis-server)"
    with deployment(tmp_path) as (stack, meta, store, tag):
        redis_port = free_port()
        stack.start("redis", [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], {})  # fmt: skip
        with Cluster(world, AS_OF, rate_limits=False) as cluster:
            env = airflow_env(
                tmp_path, meta, "CeleryExecutor", tag, **cluster.environment(),
                AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
                AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
                AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg://" + meta.split("://", 1)[1],
                YIWANG_SYNC_SCHEDULE="none",  # the syncs are triggered below, by hand
                YIWANG_DATABASE_URL=store,
            )  # fmt: skip
            start_airflow(stack, env)
            for worker in ("worker-a", "worker-b"):
                worker_env = {**env, "YIWANG_WORKER_NAME": worker,
                              "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}  # fmt: skip
                stack.start(worker, [AIRFLOW, "celery", "worker", "--concurrency", "2",
                                     "--celery-hostname", f"{worker}@%h"], worker_env)  # fmt: skip
            dags = {f"sync_{name}" for name in registry()}
            wait("the DAGs to be parsed", lambda: all(_known(meta, d) for d in dags), stack, 120)
            conf = json.dumps({"as_of": f"{AS_OF}"})
            for dag_id in sorted(dags):
                subprocess.run([AIRFLOW, "dags", "trigger", dag_id, "--conf", conf],
                               env=env, check=True, capture_output=True)  # fmt: skip

            def published():
                if any(s == "failed" for d in dags for _, s in dag_runs(meta, d)):
                    pytest.fail(f"a sync run failed\n{stack.tails()}")
                runs = dag_runs(meta, "publish_unified")
                return runs and runs[0][1] == "success"

            wait("the asset-triggered publish to succeed", published, stack, 480)
            with psycopg.connect(meta) as conn:
                hosts = conn.execute("SELECT DISTINCT hostname FROM task_instance").fetchall()
            with psycopg.connect(store) as conn:
                hashes = conn.execute("SELECT content_hash FROM unified.publish_run").fetchall()
    assert {h for (h,) in hosts} == {"worker-a", "worker-b"}, hosts
    assert [h for (h,) in hashes] == [published_small["postgres"][1].published.content_hash]


def _known(meta: str, dag_id: str) -> bool:
    with psycopg.connect(meta) as conn:
        return conn.execute("SELECT 1 FROM dag WHERE dag_id = %s", (dag_id,)).fetchone() is not None
