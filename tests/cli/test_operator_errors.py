"""What an operator sees when the setup is wrong: one line naming the cause and the fix, a
non-zero exit status, no traceback unless `--debug`, and never a secret.

Each test runs the real `yiwang` command in a subprocess, at 80 columns (a line that wraps
fails the test), with the secret below in every connection and database URL it is given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from tests.conftest import PG_DSN
from yiwang.cli.main import app
from yiwang.store.db import engine_for
from yiwang.store.publish import latest_run

YIWANG = Path(sys.executable).parent / "yiwang"
SECRET = "s3cret-Pw0rd-9f2"
CONNECTIONS = ("AUDIT_API", "DRC_API", "HOTLINE_API", "HOUSING_API", "PLANNING_API", "TREASURY_API")
SERVER = PG_DSN.rsplit("/", 1)[0]  # postgresql://postgres@127.0.0.1:5432


def connection(port: int = 1) -> str:
    """A well-formed connection that is never reached (the tests fail before extracting)."""
    return json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": port, "password": SECRET})


def well_formed() -> dict[str, str]:
    return {f"AIRFLOW_CONN_{c}": connection() for c in CONNECTIONS}


def yiwang(*args: str, data_dir: Path | str, **env: str) -> subprocess.CompletedProcess:
    """`yiwang ARGS` with only the connections and database URL given here."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW_CONN_") and k != "YIWANG_DATABASE_URL"
    }
    base |= {"YIWANG_DATA_DIR": str(data_dir), "COLUMNS": "80", **env}
    return subprocess.run([YIWANG, *args], capture_output=True, text=True, env=base, timeout=300)


def the_one_line(out: subprocess.CompletedProcess) -> str:
    """The single line the command printed, after checking the promises every error keeps."""
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "Traceback" not in text and "╭" not in text, text  # neither Python's nor rich's
    assert SECRET not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_given_no_connections_when_running_a_night_then_one_line_names_every_variable(tmp_path):
    line = the_one_line(yiwang("run", "--as-of", "2026-11-23", data_dir=tmp_path))
    for conn in CONNECTIONS:
        assert f"AIRFLOW_CONN_{conn}" in line, line
    assert "not configured" in line and "--simulate" in line, line


@pytest.mark.parametrize(
    ("value", "cause"),
    [
        ("{not json", "not valid Airflow connection JSON"),
        (f"http://login:{SECRET}@127.0.0.1:99999999/http", "port"),
        (json.dumps({"host": "127.0.0.1", "port": "eighty", "password": SECRET}), "port"),
        (json.dumps({"port": 80, "password": SECRET}), "host"),
    ],
)
def test_given_a_malformed_connection_when_running_a_night_then_one_line_names_it(
    tmp_path, value, cause
):
    env = well_formed() | {"AIRFLOW_CONN_DRC_API": value}
    line = the_one_line(yiwang("run", "--as-of", "2026-11-23", data_dir=tmp_path, **env))
    assert "AIRFLOW_CONN_DRC_API" in line and "drc_api" in line, line
    assert cause in line, line
    for other in ("AUDIT_API", "HOUSING_API", "TREASURY_API"):
        assert other not in line, line


def test_given_no_database_listening_when_running_a_night_then_one_line_says_start_it(tmp_path):
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:1/yiwang"
    env = well_formed() | {"YIWANG_DATABASE_URL": url}
    line = the_one_line(yiwang("run", "--as-of", "2026-11-23", data_dir=tmp_path, **env))
    assert "cannot reach the database at 127.0.0.1:1" in line, line
    assert "connection refused" in line.lower() and "YIWANG_DATABASE_URL" in line, line


def test_given_an_unknown_database_when_verifying_then_one_line_says_create_it(tmp_path):
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/no_such_db_xyz"
    line = the_one_line(yiwang("verify", data_dir=tmp_path, YIWANG_DATABASE_URL=url))
    assert 'database "no_such_db_xyz" does not exist' in line, line
    assert "createdb -h 127.0.0.1 -p 5432 no_such_db_xyz" in line, line


# Tests run as root, whom chmod does not stop; sysfs refuses even root a new directory
# (EPERM, or EROFS where a container mounts /sys read-only), and no one can make a directory
# where a file is.
@pytest.mark.parametrize("where", ["sysfs", "a file"])
def test_given_a_data_directory_that_cannot_be_written_when_running_then_one_line_says_so(
    tmp_path, where
):
    data = Path("/sys/kernel/yiwang-data") if where == "sysfs" else tmp_path / "data"
    if where == "a file":
        data.write_text("not a directory")
    out = yiwang("run", "--as-of", "2026-11-23", "--simulate", "tiny", data_dir=data)
    line = the_one_line(out)
    assert f"cannot write to the data directory {data}" in line, line
    assert "YIWANG_DATA_DIR" in line, line


def test_given_a_data_directory_sqlite_cannot_write_when_verifying_then_one_line_says_so():
    # /sys/kernel exists, but no file can be made in it: SQLite cannot open yiwang.db there
    line = the_one_line(yiwang("verify", data_dir="/sys/kernel"))
    assert "cannot open the SQLite database /sys/kernel/yiwang.db" in line, line
    assert "YIWANG_DATA_DIR" in line, line


@pytest.fixture
def published_once(pg_database, tmp_path):
    """A store with the night of 2026-11-22 published, and the data directory it used."""
    out = yiwang(
        "run", "--as-of", "2026-11-22", "--simulate", "tiny", "--fast",
        data_dir=tmp_path, YIWANG_DATABASE_URL=pg_database,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return pg_database, tmp_path


def test_given_the_connection_dropped_while_staging_then_one_line_says_re_run_the_night(
    published_once,
):
    url, data = published_once
    # The night's first write into staging waits on this lock; the backend that waits is
    # then the night's, mid-statement, so ending it fails the night at exactly that point.
    locker = psycopg.connect(url)
    locker.execute("LOCK TABLE hub.staged_record IN ACCESS EXCLUSIVE MODE")
    env = {**os.environ, "YIWANG_DATA_DIR": str(data), "YIWANG_DATABASE_URL": url}
    env |= {"COLUMNS": "80"}
    night = subprocess.Popen(
        [YIWANG, "run", "--as-of", "2026-11-23", "--simulate", "tiny", "--fast"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            waiting = _wait_for_lock_waiter(admin, url.rsplit("/", 1)[1], night)
            admin.execute("SELECT pg_terminate_backend(%s)", (waiting,))
        locker.rollback()
        stdout, stderr = night.communicate(timeout=120)
    finally:
        locker.close()
        night.kill()
    line = the_one_line(subprocess.CompletedProcess(night.args, night.returncode, stdout, stderr))
    assert "the database connection was lost" in line, line
    assert "terminating connection due to administrator command" in line, line
    assert "the last good snapshot is still in place" in line and "re-run the night" in line
    verified = yiwang("verify", data_dir=data, YIWANG_DATABASE_URL=url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    engine = engine_for(url)
    with engine.connect() as conn:
        assert latest_run(conn)["as_of_date"] == dt.date(2026, 11, 22)
    engine.dispose()


def _wait_for_lock_waiter(admin: psycopg.Connection, database: str, night) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and night.poll() is None:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (database,),
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError(f"the night never waited on staging: {night.communicate()}")


def test_given_debug_when_the_database_is_unreachable_then_the_traceback_shows(tmp_path):
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:1/yiwang"
    out = yiwang("--debug", "verify", data_dir=tmp_path, YIWANG_DATABASE_URL=url)
    assert out.returncode != 0
    assert "Traceback" in out.stderr or "╭" in out.stderr, out.stderr
    assert "OperationalError" in out.stderr


def test_given_an_unexpected_error_then_one_line_says_internal_error_without_secrets(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))

    def broken(engine, **_):  # publish.verify's signature: (engine, expect=None, heads=None)
        raise ZeroDivisionError(f"boom at postgresql://postgres:{SECRET}@db/yiwang\nmore")

    monkeypatch.setattr("yiwang.store.publish.verify", broken)
    result = CliRunner().invoke(app, ["verify"], env={"COLUMNS": "80"})
    assert result.exit_code == 1
    assert result.output.strip() == (
        "internal error: ZeroDivisionError: boom at postgresql://postgres:***@db/yiwang …; "
        "re-run with --debug for the traceback"
    )


def test_given_settings_that_are_not_valid_then_one_line_names_each_variable(tmp_path):
    bad = {"YIWANG_NIGHT_LOCK_WAIT_S": "soon", "YIWANG_GATE_BESIDE": "maybe"}
    line = the_one_line(yiwang("verify", data_dir=tmp_path, **bad))
    assert line.startswith("YIWANG_GATE_BESIDE='maybe' is not valid (input should be"), line
    assert "; YIWANG_NIGHT_LOCK_WAIT_S='soon' is not valid (input should be a valid number" in line
    assert line.endswith("; fix or unset them"), line
