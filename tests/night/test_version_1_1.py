"""Version 1.1 of the contract adds planning and the hotline; a store that connects neither
keeps the snapshot, and the content_hash, it had before."""

from __future__ import annotations

import re
import sqlite3

from typer.testing import CliRunner

from yiwang.cli.main import app

# `yiwang demo` (small world, seed 7, as of 2026-11-23) of the four departments: the hash
# the four-department hub publishes for that night, byte for byte. Before Version 1.1 (commit
# 112ceb6) it was 79909e3f…; issue 25's resolution then linked ten more vouchers (each to its
# true project), which gave 83836d59…; issue 31's forecasts (the hub's own 1.2 columns and
# flags, which the four departments' records fill) and the world's trajectories (overruns in
# the payments, stop-work orders on slipping works) give this one. A hub with the two new
# departments' code but not their connections must publish exactly what the four-department
# hub does.
BEFORE_1_1 = "6bd93e27f7f4ba324defc571d92c7b14c97577915fc890e41f4b06b10da47773"
LATER = ("planning_permit_count", "land_area", "longitude", "latitude", "complaint_count",
         "open_complaint_count", "satisfaction_rate")  # fmt: skip


def test_given_no_planning_or_hotline_connection_then_the_night_hashes_as_before_1_1(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YIWANG_DATABASE_URL", raising=False)
    result = CliRunner().invoke(
        app,
        ["demo", "--without", "planning", "--without", "hotline"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert re.search(
        r"planning: skipped, its connection planning_api is not configured", result.output
    )
    assert f"content_hash {BEFORE_1_1}" in result.output, result.output
    with sqlite3.connect(tmp_path / "yiwang.db") as db:
        # the columns are there for every reader, null while the departments take no part
        held = db.execute(
            f"SELECT {', '.join(f'count({c})' for c in LATER)} FROM project"
        ).fetchone()
        assert held == (0,) * len(LATER)
        assert db.execute("SELECT count(*) FROM project").fetchone()[0] > 100
        for table in (
            "project_geometry",
            "work_order",
            "record_work_order",
            "record_land_use_permit",
        ):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        flags = {
            f for (text,) in db.execute("SELECT risk_flags FROM project") for f in text.split(",")
        }
        assert "NO_PLANNING_PERMIT" not in flags  # no permit is missing where none was asked


def test_given_an_unknown_department_to_leave_out_then_one_line_names_the_known_ones(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--without", "plannin"], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert "no department 'plannin'; registered: audit, drc, hotline" in result.output
