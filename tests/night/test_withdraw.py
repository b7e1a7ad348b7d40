"""Withdrawing a mistaken night: recorded in the ledger, the withdrawn snapshot never shown as
current, staging reset, and the right (earlier) night published next without anything
extracted for the mistaken day, on both backends."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import AS_OF, clone_database, drop_database, night
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.cli.main import app
from yiwang.night.options import NightOptions
from yiwang.night.withdraw import WithdrawError, withdraw
from yiwang.store.canonical import canonical
from yiwang.store.changes import read_changes
from yiwang.store.db import engine_for, is_postgres
from yiwang.store.lock import StoreBusy, store_lock
from yiwang.store.publish import PublishError, latest_run, ledger, read_table, verify
from yiwang.store.tables import DATA_TABLES, details, kept_stream, staged_record, stream_state

pytestmark = pytest.mark.postgres

MISTAKE = AS_OF + dt.timedelta(days=9)  # a typo'd date, in the next month: it draws December
RIGHT = AS_OF + dt.timedelta(days=1)


def _copy(url: str, tmp_path: Path) -> str:
    """A second copy of the store as published before the mistake."""
    if url.startswith("sqlite"):
        engine_for(url).dispose()
        source = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copy(f"{source}{suffix}", tmp_path / f"direct.db{suffix}")
        return f"sqlite:///{tmp_path / 'direct.db'}"
    return clone_database(url)


def _lines(url: str) -> dict[str, list[str]]:
    """Every published table's canonical lines: what the content hash is over."""
    engine = engine_for(url)
    with engine.connect() as conn:
        lines = {name: canonical(name, read_table(conn, name))[1] for name in DATA_TABLES}
    engine.dispose()
    return lines


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_given_a_mistaken_night_when_withdrawn_then_the_right_night_publishes_unmixed(
    backend, store_copy, world, tmp_path
):
    heads = tmp_path / "heads.jsonl"
    options = NightOptions(kept=tmp_path / "kept", ledger_heads=heads)
    direct = _copy(store_copy, tmp_path)  # the same store, where the mistake never happened
    try:
        apart = NightOptions(kept=tmp_path / "kept-direct", ledger_heads=heads)
        night(direct, world, RIGHT, tmp_path / "q-direct", options=apart)
        want = _lines(direct)
    finally:
        if backend == "postgres":
            drop_database(direct)
    heads.unlink()
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        draws_before = read_table(conn, "spot_check")
    night(store_copy, world, MISTAKE, tmp_path / "q", options=options)
    with engine.connect() as conn:
        assert f"{MISTAKE:%Y-%m}" in set(read_table(conn, "spot_check")["period"])
    with pytest.raises(PublishError, match="back in time"):
        night(store_copy, world, RIGHT, tmp_path / "q", options=options)
    api = TestClient(create_app(engine, {digest("token")}))
    auth = {"Authorization": "Bearer token"}
    assert api.get("/projects", headers=auth).json()["items"]  # the mistake, served and cached

    row = withdraw(engine, f"{MISTAKE}", options)

    assert (row["run_id"], row["as_of_date"]) == (f"{MISTAKE}.withdrawn", AS_OF)
    assert json.loads(row["record_counts"])["withdraws"] == f"{MISTAKE}"
    with engine.connect() as conn:
        assert latest_run(conn)["run_id"] == f"{MISTAKE}.withdrawn"  # what readers are told
        assert read_table(conn, "project").empty and read_table(conn, "source_record").empty
        held = [name for name in details if not read_table(conn, name).empty]
        assert held == [], f"the withdrawn night's records are still published in {held}"
        gone = read_changes(conn, f"{MISTAKE}")  # what a client that read the mistake is told
        draws = read_table(conn, "spot_check")
    assert set(gone["change_type"]) == {"delete"} and set(details) <= set(gone["table_name"])
    assert set(draws["period"]) == set(draws_before["period"])  # December's draw withdrawn
    assert (
        draws.sort_values(["period", "project_id"])
        .reset_index(drop=True)
        .equals(draws_before.sort_values(["period", "project_id"]).reset_index(drop=True))
    )  # November's draw, once published, unchanged
    assert _count(engine, staged_record) == _count(engine, stream_state) == 0
    if is_postgres(engine):
        assert _count(engine, kept_stream) == 0  # the kept validated parts are not taken
    assert verify(engine).ok
    assert api.get("/health").json()["latest"]["run_id"] == f"{MISTAKE}.withdrawn"
    assert api.get("/projects", headers=auth).json()["items"] == []  # never the withdrawn one

    right = night(store_copy, world, RIGHT, tmp_path / "q", options=options).published

    assert (right.status, right.run_id) == ("published", f"{RIGHT}")
    with engine.connect() as conn:
        runs = ledger(conn)
    assert list(runs["run_id"]) == [f"{AS_OF}", f"{MISTAKE}", f"{MISTAKE}.withdrawn", f"{RIGHT}"]
    assert verify(engine, expect=right.chain_hash, heads=heads).ok  # heads of all three
    assert len(heads.read_text().splitlines()) == 3
    assert _lines(store_copy) == want  # nothing of the mistaken day mixed in


def test_given_runs_that_are_not_the_latest_when_withdrawn_then_each_is_refused_in_one_line(
    backend, store_copy
):
    engine = engine_for(store_copy)
    with pytest.raises(WithdrawError, match="there is no run 'nope' in the ledger"):
        withdraw(engine, "nope")
    with engine.connect() as conn:
        before = latest_run(conn)
    withdraw(engine, f"{AS_OF}")  # the first night: the store is left at the sources' first day
    with engine.connect() as conn:
        after = latest_run(conn)
    assert after["seq"] == before["seq"] + 1 and after["as_of_date"] == dt.date(2024, 1, 1)
    with pytest.raises(WithdrawError, match="already withdrawn"):
        withdraw(engine, f"{AS_OF}")
    with pytest.raises(WithdrawError, match="is a withdrawal, not a published run"):
        withdraw(engine, f"{AS_OF}.withdrawn")
    result = CliRunner().invoke(app, ["withdraw", f"{AS_OF}", "--database-url", store_copy])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "already withdrawn" in result.output
    assert verify(engine).ok


def test_given_an_older_run_when_withdrawn_then_it_is_refused_naming_the_latest(
    store_copy, world, tmp_path
):
    engine = engine_for(store_copy)
    night(store_copy, world, RIGHT, tmp_path / "q", options=NightOptions())
    with pytest.raises(WithdrawError, match=f"'{RIGHT}' is\\): only the latest"):
        withdraw(engine, f"{AS_OF}")
    with engine.connect() as conn:
        assert latest_run(conn)["run_id"] == f"{RIGHT}"


def test_given_a_night_holding_the_store_when_withdrawing_then_it_is_refused_and_nothing_changes(
    backend, store_copy
):
    """A withdrawal beside a night staging would be published over (or mixed into) by it."""
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        before = latest_run(conn)
    holding, done = threading.Event(), threading.Event()

    def a_night() -> None:  # its own thread: its own session (PostgreSQL) or file (SQLite)
        with store_lock(engine, RIGHT):
            holding.set()
            done.wait(30)

    staging = threading.Thread(target=a_night)
    staging.start()
    try:
        assert holding.wait(30)
        with pytest.raises(StoreBusy, match=f"busy with the night of {RIGHT}"):
            withdraw(engine, f"{AS_OF}")
    finally:
        done.set()
        staging.join()
    with engine.connect() as conn:
        assert latest_run(conn)["seq"] == before["seq"]
    withdraw(engine, f"{AS_OF}")  # the night gone, the same withdrawal goes through
