"""Backfilling nights with `airflow backfill create` publishes the same snapshots as running
those nights one by one: each sync replays the night's landed pages, and a night waits for
the one before it to be published, so the four sources move in step."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from connectors.core import Landing
from departments.registry import registry
from simulators.cluster import Cluster
from tests.airflow.stack import AIRFLOW, airflow_env, dag_runs, deployment, start_airflow, wait
from yiwang.night.run import run_night
from yiwang.store.db import engine_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
# nights well before the wall clock's: the scheduler's own nightly run (for yesterday) finds no
# landing and the sources gone (a gateway's 404 page, which fails its tasks at once instead of
# holding the departments' pools through retries), and publishes nothing; the backfill is what
# is measured
NIGHTS = [dt.date(2026, 7, 7), dt.date(2026, 7, 8)]  # the second waits for the first


@pytest.mark.timeout(1200)
def test_given_landed_nights_when_backfilled_then_the_snapshots_equal_the_nights_run_one_by_one(
    world, tmp_path
):
    data = tmp_path / "data"
    one_by_one = engine_for(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    expected = []
    for night in NIGHTS:
        with Cluster(world, night, rate_limits=False) as cluster:
            done = run_night(one_by_one, cluster.environment(), night,
                             Landing(data / "landing", f"{night}"), rate_limits=False,
                             quality_dir=tmp_path / "q")  # fmt: skip
        expected.append(done.published.content_hash)
    assert len(set(expected)) == len(NIGHTS)

    with deployment(tmp_path) as (stack, meta, store, tag), gone_gateway() as gone:
        env = airflow_env(
            tmp_path, meta, "LocalExecutor", tag,
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__PARALLELISM="32",
            YIWANG_DATABASE_URL=store, YIWANG_DATA_DIR=str(data),
            # the departmental systems are gone: a backfill reads what the nights landed
            **{f"AIRFLOW_CONN_{c.conn_id.upper()}": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": gone})
               for c in registry().values()},
        )  # fmt: skip
        start_airflow(stack, env)
        syncs = [f"sync_{name}" for name in registry()]

        def parsed() -> bool:
            with psycopg.connect(meta) as conn:
                return conn.execute("SELECT count(*) FROM dag").fetchone()[0] >= len(syncs) + 1

        wait("the DAGs to be parsed", parsed, stack, 120)
        # a backfill's window bounds logical dates: night D's data interval starts at 01:00 on
        # D (Beijing) and ends at 01:00 on D+1, when the scheduler would have run it
        first, last = (f"{d}T01:00:00+08:00" for d in (NIGHTS[0], NIGHTS[-1]))
        for dag_id in syncs:
            done = subprocess.run(
                [AIRFLOW, "backfill", "create", "--dag-id", dag_id, "--from-date", first,
                 "--to-date", last, "--max-active-runs", "1"],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr

        def all_published() -> bool:
            if any(
                s == "failed"
                for d in syncs
                for r, s in dag_runs(meta, d)
                if r.startswith("backfill")
            ):
                pytest.fail(f"a backfill run failed\n{stack.tails()}")
            with psycopg.connect(store) as conn:
                try:
                    published = conn.execute("SELECT count(*) FROM unified.publish_run")
                    return published.fetchone()[0] >= len(NIGHTS)
                except psycopg.errors.UndefinedTable:
                    return False

        wait("every night to be published", all_published, stack, 600)
        with psycopg.connect(store) as conn:
            got = conn.execute(
                "SELECT as_of_date, content_hash FROM unified.publish_run ORDER BY seq"
            ).fetchall()
    assert [d for d, _ in got] == NIGHTS
    assert [h for _, h in got] == expected


@contextlib.contextmanager
def gone_gateway():
    """Where the systems were, a gateway that answers every request with its HTML 404 page;
    yields its port."""

    class NotFound(BaseHTTPRequestHandler):
        def _gone(self) -> None:
            body = b"<html><body>404 Not Found</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _gone

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
