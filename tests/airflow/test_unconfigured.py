"""A department Airflow has no connection for ends its night all the same: its extract tasks
skip with the one line that says which connection to add, and its sync updates its staged
asset saying it staged nothing, so the publication (scheduled on every department's asset)
never waits for it."""

from __future__ import annotations

import json
import os
from unittest.mock import patch

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import AS_OF
from yiwang.airflow.connections import not_configured_line
from yiwang.airflow.local import airflow_env, dags_test

pytestmark = [pytest.mark.slow]


@pytest.mark.timeout(600)
def test_given_no_connection_when_a_sync_runs_then_it_skips_saying_why_and_updates_its_asset(
    tmp_path,
):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    with patch.dict(os.environ, clean, clear=True):
        env = airflow_env(tmp_path / "airflow", {
            "YIWANG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "YIWANG_DATA_DIR": str(tmp_path / "data"),
        })  # fmt: skip
    run = dags_test(env, "sync_audit", AS_OF, tmp_path)
    assert run.state == "success", run.log.read_text()[-3000:]
    assert not_configured_line("audit") in " ".join(run.log.read_text().split())
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
