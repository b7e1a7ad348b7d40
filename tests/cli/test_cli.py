"""The `yiwang` command as a person uses it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time

import requests
from typer.testing import CliRunner

from yiwang.cli.main import app

runner = CliRunner()


def test_demo_publishes_a_night_and_verify_agrees_until_a_row_is_edited(tmp_path, monkeypatch):
    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YIWANG_DATABASE_URL", raising=False)
    result = runner.invoke(
        app, ["demo", "--scale", "tiny", "--as-of", "2026-11-23"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "published as run 2026-11-23" in result.output
    for system in ("drc", "treasury", "housing", "audit"):
        assert re.search(rf"^│ {system} ", result.output, re.M), result.output
    assert re.search(r"content_hash [0-9a-f]{64}", result.output)
    assert (tmp_path / "quality/gx/uncommitted/data_docs/local_site/index.html").exists()
    again = runner.invoke(app, ["demo", "--scale", "tiny"], env={"COLUMNS": "200"})
    assert "unchanged as run 2026-11-23" in again.output, again.output
    assert runner.invoke(app, ["verify"]).exit_code == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "yiwang.db") as db:
        # the rows are kept in `project_rows`; `project` is their view
        db.execute("UPDATE project_rows SET project_name = 'forged' WHERE rowid = 1")
    verdict = runner.invoke(app, ["verify"], env={"COLUMNS": "200"})
    assert verdict.exit_code == 1
    assert "project row (project_id=" in verdict.output


def test_simulate_prints_connections_that_work(tmp_path):
    env = {**os.environ, "YIWANG_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yiwang.cli.main",
            "simulate",
            "--scale",
            "tiny",
            "--as-of",
            "2026-11-23",
            "--base-path",
            "/gw",
            "--duration",
            "30",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as at a terminal, however the suite was started: a shell's background job
        # (`.ci/run &`) ignores SIGINT, and a child inherits that, so Python would not stop
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = {}
        deadline = time.monotonic() + 60
        while len(lines) < 6 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if m := re.match(r"export (AIRFLOW_CONN_\w+)='(.*)'$", line.strip()):
                lines[m[1]] = m[2]
        assert set(lines) == {
            "AIRFLOW_CONN_DRC_API",
            "AIRFLOW_CONN_TREASURY_API",
            "AIRFLOW_CONN_HOUSING_API",
            "AIRFLOW_CONN_AUDIT_API",
            "AIRFLOW_CONN_PLANNING_API",
            "AIRFLOW_CONN_HOTLINE_API",
        }
        drc = json.loads(lines["AIRFLOW_CONN_DRC_API"])
        assert drc["extra"]["base_path"] == "/gw"
        r = requests.get(
            f"http://{drc['host']}:{drc['port']}/gw/api/v1/projects",
            headers={"X-App-Key": drc["password"]},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["code"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_world_truth_exports_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    out = tmp_path / "truth.csv"
    result = runner.invoke(app, ["world", "truth", "--scale", "tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0]
    assert header.startswith("source_system,record_type,record_key")
    assert "project_id" in header


def test_bad_date_is_a_clear_error():
    result = runner.invoke(app, ["demo", "--as-of", "2026-13-01"])
    assert result.exit_code != 0
    assert "2026-13-01" in result.output


def test_a_department_without_a_connection_is_skipped_with_one_line(tmp_path, monkeypatch, world):
    """The night runs the departments whose connection is set and publishes; each other one
    is named once, with what to set."""
    import sqlite3

    from simulators.cluster import Cluster

    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YIWANG_DATABASE_URL", raising=False)
    with Cluster(world, dt.date(2026, 11, 23), rate_limits=False) as c:
        environ = c.environment()
        environ.pop("AIRFLOW_CONN_AUDIT_API")
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AIRFLOW_CONN_AUDIT_API", raising=False)
        result = runner.invoke(
            app, ["run", "--as-of", "2026-11-23", "--fast"], env={"COLUMNS": "300"}
        )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "skipped" in line]
    assert lines == [
        "audit: skipped, its connection audit_api is not configured (set AIRFLOW_CONN_AUDIT_API)"
    ]
    assert "Traceback" not in result.output and "content_hash" in result.output
    with sqlite3.connect(tmp_path / "yiwang.db") as db:
        systems = {s for (s,) in db.execute("SELECT DISTINCT source_system FROM source_record")}
    assert systems == {"drc", "treasury", "housing", "planning", "hotline"}


def test_a_night_without_the_registry_publishes_nothing_and_says_why(tmp_path, monkeypatch, world):
    """Every link rests on the registry's codes: with none staged, publishing would call every
    permit an unapproved `X-` project. The night refuses in one line naming what to set."""
    from simulators.cluster import Cluster

    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YIWANG_DATABASE_URL", raising=False)
    with Cluster(world, dt.date(2026, 11, 23), rate_limits=False) as c:
        for name, value in c.environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AIRFLOW_CONN_DRC_API")
        result = runner.invoke(
            app, ["run", "--as-of", "2026-11-23", "--fast"], env={"COLUMNS": "300"}
        )
    assert result.exit_code == 1, result.output
    assert "drc: skipped, its connection drc_api is not configured" in result.output
    assert "did not publish" in result.output and "Traceback" not in result.output
    assert "nothing of drc (the registry that issues project codes) is staged" in result.output
    assert "AIRFLOW_CONN_DRC_API" in result.output


def test_given_airflow_pools_then_it_writes_a_pool_per_department_that_airflow_imports(tmp_path):
    from departments.registry import registry

    result = runner.invoke(app, ["airflow-pools", str(tmp_path / "pools.json")])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "pools.json").read_text())
    assert {name: pool["slots"] for name, pool in written.items()} == {
        f"yiwang_{name}": connector.parallel for name, connector in registry().items()
    }
    assert all({"slots", "description"} <= set(pool) for pool in written.values())  # `pools import`
    assert "each within 5 requests/s" in written["yiwang_housing"]["description"]
