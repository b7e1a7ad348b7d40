"""One case per DAG file: it imports cleanly, does no I/O at its top level, and every DAG has
tags, an owner and retries (the Astronomer integrity-test template, without monkeypatching)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))


def test_given_the_registry_then_every_connector_has_a_sync_dag_and_one_publish_dag_exists():
    from departments.registry import registry
    from yiwang.airflow.dags import build

    assert set(build()) == {f"sync_{name}" for name in registry()} | {"publish_unified"}


def test_given_the_dags_then_the_publication_waits_for_every_department_and_updates_its_asset():
    """Connections are looked up when tasks run, not when the file is parsed: the publication
    waits for every department (an unconfigured one's sync still updates its asset), extract
    tasks run in their department's pool, and the publication updates the published asset."""
    from departments.registry import registry
    from yiwang.airflow.dags import PUBLISHED, build
    from yiwang.airflow.pools import declared

    dags = build()
    waited = dags["publish_unified"].timetable.asset_condition.objects
    assert {asset.name for asset in waited} == {f"yiwang_staged_{n}" for n in registry()}
    assert dags["publish_unified"].get_task("publish").outlets == [PUBLISHED]
    pools = declared()
    for name, connector in registry().items():
        extracts = [t for t in dags[f"sync_{name}"].tasks if t.task_id.startswith("extract_")]
        assert len(extracts) == len(connector.streams)
        assert {t.pool for t in extracts} == {f"yiwang_{name}"}
        assert pools[f"yiwang_{name}"]["slots"] == connector.parallel
    assert pools["yiwang_housing"]["slots"] == 2  # its 10 requests/s shared by two readers


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[f.name for f in DAG_FILES])
def test_given_a_dag_file_when_parsed_then_it_is_clean_tagged_owned_and_retried(dag_file, tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("parse_dag_file.py")), str(dag_file)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["import_errors"] == {}
    assert report["violations"] == []
    assert report["dags"], f"{dag_file.name} defines no DAG"
    for dag_id, dag in report["dags"].items():
        assert "yiwang" in dag["tags"], dag_id
        assert dag["owners"] == ["yiwang"], dag_id
        assert dag["min_retries"] >= 2, dag_id
