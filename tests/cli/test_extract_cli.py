"""`yiwang extract` and `yiwang departments list` as a person runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

YIWANG = Path(sys.executable).parent / "yiwang"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "YIWANG_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    return subprocess.run([YIWANG, *args], capture_output=True, text=True, env=env, timeout=300)


def test_given_the_simulators_when_extracting_then_records_per_stream_are_printed(tmp_path):
    out = run("extract", "audit", "--as-of", "2026-11-23", "--simulate", "small", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "findings" in out.stdout and "retries" in out.stdout
    assert "60 records" in out.stdout  # the small world's findings as of that day
    assert list((tmp_path / "landing").rglob("*.page.gz"))
    again = run(
        "extract", "audit", "--as-of", "2026-11-23", "--simulate", "small", tmp_path=tmp_path
    )
    assert "60 records" not in again.stdout  # incremental: only the last day is read again


def test_given_no_connection_when_extracting_then_it_says_what_to_set(tmp_path):
    os.environ.pop("AIRFLOW_CONN_DRC_API", None)
    out = run("extract", "drc", "--as-of", "2026-11-23", tmp_path=tmp_path)
    assert out.returncode == 2
    assert "AIRFLOW_CONN_DRC_API" in out.stdout


def test_given_the_registry_when_listing_then_every_department_shows():
    out = subprocess.run(
        [YIWANG, "departments", "list"], capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    for name in ("drc", "treasury", "housing", "audit"):
        assert f"{name}_api" in out.stdout


def test_given_a_name_that_cannot_be_a_package_when_scaffolding_then_one_line_says_why(tmp_path):
    out = run("departments", "new", "Bad-Name", "--root", str(tmp_path), tmp_path=tmp_path)
    assert out.returncode == 2
    assert "cannot name a department" in out.stdout + out.stderr
    assert not (tmp_path / "departments").exists()


def test_given_a_day_not_yet_finished_in_beijing_when_extracting_then_nothing_is_read(tmp_path):
    """A day still being written must not be read (and its state saved) as if it were final:
    by the CLI, and by Airflow's extract task (a manual run with a typo'd `as_of`)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import pytest
    from airflow.sdk.exceptions import AirflowFailException

    from yiwang.airflow.tasks import extract_stream

    # tomorrow: unfinished even if Beijing's midnight passes while the test runs
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=1)
    out = run("extract", "audit", "--as-of", f"{today}", "--simulate", "tiny", tmp_path=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().startswith(f"as-of {today} is not a finished day in Beijing")
    assert not (tmp_path / "landing").exists() and not (tmp_path / "extract-state").exists()
    # before any connection or database, and not retried: waiting would not finish the day
    with pytest.raises(AirflowFailException, match=r"not a finished day.*not retried: AsOfError"):
        extract_stream("audit", "findings", today)
