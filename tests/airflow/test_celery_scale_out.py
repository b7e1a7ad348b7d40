"""Scale-out shown, not only configured: Airflow with CeleryExecutor (API server, scheduler,
DAG processor, two Celery workers) on the local PostgreSQL and a Redis of its own runs the four
sync DAGs, with the systems' connections only in Airflow's metadata database.

- Housing's contract allows 10 requests per second per client. Its server keeps its limit on,
  and its connection asks for small pages (its extra's `page_size`), so its eight extract
  tasks need a hundred requests or so: the busiest second the server saw holds at most 10
  (the department's pool lets two tasks run at once, each within half the limit).
- Audit's connection first carries a wrong password: its extract task fails on its first try
  (not retried), its DAG run fails, and nothing is published. Once the connection is put
  right and its sync run again, the assets trigger `publish_unified`, whose snapshot is the
  single-process run's to the hash, on tasks that ran on both workers; the published asset
  names it.
"""

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
    task_instances,
    wait,
)
from tests.conftest import AS_OF
from yiwang.airflow.local import add_connections

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
LIMIT = 10  # housing.md: at most 10 requests per second per client


@pytest.mark.timeout(900)
def test_given_two_celery_workers_when_a_night_runs_then_limits_hold_failures_fail_and_the_hash_is_the_same(
    world, published_small, tmp_path
):
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is missing: `bin/dev test` installs it (Debian redis-server)"
    with deployment(tmp_path) as (stack, meta, store, tag):
        redis_port = free_port()
        stack.start("redis", [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], {})  # fmt: skip
        with Cluster(world, AS_OF) as cluster:  # every contract's request limit on
            env = airflow_env(
                tmp_path, meta, "CeleryExecutor", tag,
                AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
                AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
                AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg://" + meta.split("://", 1)[1],
                YIWANG_SYNC_SCHEDULE="none",  # the syncs are triggered below, by hand
                YIWANG_DATABASE_URL=store,
            )  # fmt: skip
            assert not [k for k in env if k.startswith("AIRFLOW_CONN_")]
            start_airflow(stack, env)
            right = cluster.connections()
            housing = right["housing_api"]
            connections = right | {
                "housing_api": housing | {"extra": {**housing["extra"], "page_size": 50}},
                "audit_api": right["audit_api"] | {"password": "not-the-token"},
            }
            add_connections(env, connections)
            for worker in ("worker-a", "worker-b"):
                worker_env = {**env, "YIWANG_WORKER_NAME": worker,
                              "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}  # fmt: skip
                stack.start(worker, [AIRFLOW, "celery", "worker", "--concurrency", "2",
                                     "--celery-hostname", f"{worker}@%h"], worker_env)  # fmt: skip
            dags = {f"sync_{name}" for name in registry()}
            wait("the DAGs to be parsed", lambda: all(_known(meta, d) for d in dags), stack, 120)
            for dag_id in sorted(dags):
                trigger(env, dag_id)

            def syncs_ended():
                states = {d: [s for _, s in dag_runs(meta, d)] for d in dags}
                if any(s[-1:] not in (["success"], ["failed"]) for s in states.values()):
                    return None
                return states

            ended = wait("the first syncs to end", syncs_ended, stack, 420)
            assert ended == {d: ["failed" if d == "sync_audit" else "success"] for d in dags}
            refused = task_instances(meta, "sync_audit", "extract_%")
            assert [(t[1], t[2]) for t in refused] == [("failed", 1)], refused  # not retried
            assert dag_runs(meta, "publish_unified") == []  # audit staged nothing: no publish
            busiest = cluster.servers["housing"].busiest_window()
            asked = cluster.servers["housing"].requests

            add_connections(env, {"audit_api": right["audit_api"]})  # put right
            trigger(env, "sync_audit")

            def published():
                if [s for _, s in dag_runs(meta, "sync_audit")][-1:] == ["failed"]:
                    pytest.fail(f"the second audit sync failed\n{stack.tails()}")
                runs = dag_runs(meta, "publish_unified")
                return runs and runs[0][1] == "success"

            wait("the asset-triggered publish to succeed", published, stack, 420)
            with psycopg.connect(meta) as conn:
                hosts = conn.execute(
                    "SELECT DISTINCT hostname FROM task_instance WHERE state = 'success'"
                ).fetchall()
                (extra,) = conn.execute(
                    "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                    "WHERE a.name = 'yiwang_published'"
                ).fetchone()
            housing_tasks = task_instances(meta, "sync_housing", "extract_%")
            with psycopg.connect(store) as conn:
                hashes = conn.execute("SELECT content_hash FROM unified.publish_run").fetchall()

    print(f"housing: {asked} requests, busiest second {len(busiest)} (limit {LIMIT}), "
          f"at most {_overlap(housing_tasks)} extract tasks at once")  # fmt: skip
    assert asked >= 80, f"housing took only {asked} requests: the limit was not exercised"
    assert len(busiest) <= LIMIT, "housing's busiest second:\n" + "\n".join(busiest)
    assert _overlap(housing_tasks) <= registry()["housing"].parallel == 2
    assert {h for (h,) in hosts} == {"worker-a", "worker-b"}, hosts
    expected = published_small["postgres"][1].published.content_hash
    assert [h for (h,) in hashes] == [expected]
    extra = json.loads(extra) if isinstance(extra, str) else extra
    assert extra["content_hash"] == expected and extra["run_id"] == f"{AS_OF}"


def trigger(env: dict[str, str], dag_id: str) -> None:
    conf = json.dumps({"as_of": f"{AS_OF}"})
    subprocess.run([AIRFLOW, "dags", "trigger", dag_id, "--conf", conf],
                   env=env, check=True, capture_output=True)  # fmt: skip


def _overlap(tasks: list[tuple]) -> int:
    """The most of `tasks` (with start and end times) that ran at the same moment."""
    moments = sorted(
        (t, step) for *_, start, end, _ in tasks for t, step in ((start, 1), (end, -1))
    )
    running = most = 0
    for _, step in moments:
        running += step
        most = max(most, running)
    return most


def _known(meta: str, dag_id: str) -> bool:
    with psycopg.connect(meta) as conn:
        return conn.execute("SELECT 1 FROM dag WHERE dag_id = %s", (dag_id,)).fetchone() is not None
