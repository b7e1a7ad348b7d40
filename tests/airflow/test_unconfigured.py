"""A department Airflow has no connection for ends its night all the same: its extract tasks
skip with the one line that says which connection to add, and its sync updates its staged
asset saying it staged nothing, so the publication (scheduled on every department's asset)
never waits for it; the publication then says it published the night without it."""

from __future__ import annotations

import json
import os
from unittest.mock import patch

import pytest
from sqlalchemy import create_engine, text

from simulators.cluster import Cluster
from simulators.world import generate_world
from tests.conftest import AS_OF
from yiwang.airflow.connections import not_configured_line
from yiwang.airflow.local import add_connections, airflow_env, dags_test_night
from yiwang.store.db import engine_for
from yiwang.store.publish import ledger, read_table

pytestmark = [pytest.mark.slow]


@pytest.mark.timeout(900)
def test_given_no_connection_when_a_night_runs_then_it_skips_saying_why_and_publishes_without_it(
    tmp_path,
):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    with patch.dict(os.environ, clean, clear=True):
        env = airflow_env(tmp_path / "airflow", {
            "YIWANG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "YIWANG_DATA_DIR": str(tmp_path / "data"),
        })  # fmt: skip
    with Cluster(generate_world("tiny", 7), AS_OF, rate_limits=False) as systems:
        connections = systems.connections()
        del connections["audit_api"]
        add_connections(env, connections)
        runs = dags_test_night(env, AS_OF)
    # dags_test_night raises, naming them, unless every DagRun succeeded
    logs = {r.dag_id: " ".join(r.log.read_text().split()) for r in runs}
    assert not_configured_line("audit") in logs["sync_audit"]
    assert (
        "audit: nothing ever staged; the night is published without it" in logs["publish_unified"]
    )
    meta = create_engine(f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}")
    with meta.connect() as conn:
        states = dict(
            conn.execute(
                text("SELECT task_id, state FROM task_instance WHERE dag_id = 'sync_audit'")
            ).all()
        )
        (extra,) = conn.execute(
            text("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                 "WHERE a.name = 'yiwang_staged_audit'")
        ).one()  # fmt: skip
    assert states == {
        "earlier_nights_published": "success", "extract_findings": "skipped",
        "validate_findings": "skipped", "mark_staged": "success",
    }, states  # fmt: skip
    extra = json.loads(extra) if isinstance(extra, str) else extra
    assert extra == {"as_of": f"{AS_OF}", "staged": False}
    with engine_for(f"sqlite:///{tmp_path / 'store.db'}").connect() as conn:
        published = read_table(conn, "source_record")
        assert ledger(conn)["run_id"].tolist() == [f"{AS_OF}"]
    assert "audit" not in set(published["source_system"])
    assert {"drc", "treasury", "housing"} <= set(published["source_system"])
