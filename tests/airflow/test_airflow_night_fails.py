"""A failed night is a failed night: `yiwang airflow-night` judges every DAG run by the state
Airflow recorded for it, exits non-zero naming the sync that failed, publishes nothing, and
keeps the logs. The failure here is an operator's: treasury's connection (an `AIRFLOW_CONN_*`
variable, which wins over the metadata database in Airflow's lookup) carries a wrong
password. The system refuses it; no retry can change that, so the task fails on its first
try, in seconds, not after three back-offs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from departments.registry import get
from departments.registry import systems as registered
from simulators.cluster import Cluster
from simulators.world import generate_world
from tests.conftest import AS_OF
from yiwang.store.db import engine_for
from yiwang.store.publish import ledger

pytestmark = [pytest.mark.slow]
YIWANG = str(Path(sys.executable).with_name("yiwang"))


@pytest.mark.timeout(900)
def test_given_a_wrong_password_when_airflow_night_runs_then_it_fails_naming_the_sync(tmp_path):
    with Cluster(generate_world("tiny", 7), AS_OF) as systems:
        wrong = systems.connections()["treasury_api"] | {"password": "not-the-secret"}
        env = {
            **os.environ,
            "AIRFLOW_CONN_TREASURY_API": json.dumps(wrong),
            "YIWANG_DATA_DIR": str(tmp_path / "data"),
            "YIWANG_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "COLUMNS": "250",
        }
        done = subprocess.run(
            [YIWANG, "airflow-night", "--as-of", f"{AS_OF}", "--scale", "tiny"],
            env=env, capture_output=True, text=True, timeout=840, check=False,
        )  # fmt: skip
        asked = systems.servers["treasury"].requests
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    said = " ".join(out.split())
    failed = re.search(r"sync_treasury ended failed \((.+?)\): (.+?); its log: (\S+)", said)
    assert failed, said[-2000:]
    tasks, cause, log = failed.groups()
    assert re.fullmatch(r"extract_\w+ \(try 1\)(, \w+ \(upstream\))*", tasks), tasks
    assert "treasury_api" in cause and "password" in cause, cause
    assert "not-the-secret" not in out
    assert "not run, since a sync failed: publish_unified" in said
    for ok in ("sync_drc", "sync_housing", "sync_audit"):
        assert f"{ok} ended" not in said, said  # only what failed is named

    # Airflow's own record: the DagRun failed, its extract task on its first and only try
    meta = create_engine(f"sqlite:///{tmp_path / 'data' / 'airflow' / 'airflow.db'}")
    with meta.connect() as conn:
        runs = dict(conn.execute(text("SELECT dag_id, state FROM dag_run")).all())
        tries = conn.execute(
            text("SELECT try_number, state FROM task_instance WHERE dag_id = 'sync_treasury' "
                 "AND task_id LIKE 'extract_%'")
        ).all()  # fmt: skip
    assert runs == {
        "sync_drc": "success", "sync_treasury": "failed", "sync_housing": "success",
        "sync_audit": "success", "sync_planning": "success", "sync_hotline": "success",
    }, runs  # fmt: skip
    assert tries == [(1, "failed")], tries
    # at most the days already asked for when the refusal came (the partitioner keeps twice
    # its concurrency submitted); the try number above is what says it was not retried
    in_flight = 2 * get("treasury").streams[0].paginator.concurrency
    assert 1 <= asked <= in_flight, f"treasury was asked {asked} times: the refusal was retried"
    # nothing was published, and the logs of the night are kept where the message says
    with engine_for(f"sqlite:///{tmp_path / 'store.db'}").connect() as conn:
        assert ledger(conn).empty  # the syncs that succeeded migrated and staged; no more
    kept = Path(log)
    assert kept.is_file() and kept.parent.parent.name == f"{AS_OF}"  # …/<as-of>/<attempt>/
    assert "AirflowFailException" in kept.read_text()
    assert {p.name for p in kept.parent.iterdir()} == {f"sync_{n}.log" for n in registered()}
