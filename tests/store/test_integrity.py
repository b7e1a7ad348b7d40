"""What downstream relies on: readers only ever see whole snapshots, a killed publish leaves
the previous one, tampering is named by `verify`, and the reader role cannot write."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import AS_OF, SnapshotReader, night
from yiwang.store.db import engine_for, qualified
from yiwang.store.publish import ledger, verify
from yiwang.store.tables import stored

pytestmark = pytest.mark.postgres


def _sql(url: str, statement: str) -> None:
    engine = engine_for(url)
    with engine.begin() as conn:
        # edits go where the rows are kept (`project` and `quarantine` are views over them)
        conn.exec_driver_sql(statement.format(**{t: qualified(conn, "unified", stored[t].name) for t in (
            "project", "source_record", "quarantine", "publish_run", "unit_scorecard", "spot_check"
        )}))  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE {project} SET paid_amount = paid_amount + 1 WHERE project_id = "
         "(SELECT MIN(project_id) FROM {project})", "project row (project_id="),
        ("UPDATE {source_record} SET project_id = NULL WHERE record_key = "
         "(SELECT MIN(record_key) FROM {source_record} WHERE project_id IS NOT NULL)",
         "source_record row"),
        ("DELETE FROM {unit_scorecard} WHERE unit_code = (SELECT MIN(unit_code) FROM {unit_scorecard})",
         "unit_scorecard holds"),
        ("UPDATE {publish_run} SET record_counts = '{{}}'", "publish_run '2026-11-23' (seq 1) was edited"),
        ("UPDATE {publish_run} SET as_of_date = '2026-11-22'", "publish_run '2026-11-23' (seq 1) was edited"),
    ],
)  # fmt: skip
def test_given_a_tampered_store_when_verified_then_the_edit_is_named(
    backend, store_copy, edit, named
):
    assert verify(engine_for(store_copy)).ok
    _sql(store_copy, edit)
    verdict = verify(engine_for(store_copy))
    assert not verdict.ok
    assert any(named in p for p in verdict.problems), verdict.problems


def test_given_two_runs_when_an_old_content_hash_is_rewritten_then_the_chain_breaks_there(
    backend, store_copy, world, tmp_path
):
    night(store_copy, world, AS_OF + dt.timedelta(days=1), tmp_path / "q")
    # a careful forger also fixes the row hash: the chain still names the run
    engine = engine_for(store_copy)
    with engine.begin() as conn:
        runs = ledger(conn)
        first = runs.iloc[0].to_dict()
        first["content_hash"] = "0" * 64
        from yiwang.store.canonical import ledger_row_hash

        forged = ledger_row_hash(first)
        conn.execute(
            text(
                f"UPDATE {qualified(conn, 'unified', 'publish_run')} SET content_hash = :c, row_hash = :r WHERE seq = 1"
            ),
            {"c": "0" * 64, "r": forged},
        )
    verdict = verify(engine)
    assert verdict.problems[0].startswith("publish_run '2026-11-23' (seq 1): chain_hash"), verdict


def test_given_a_reader_when_nights_publish_then_it_only_sees_whole_snapshots(
    backend, store_copy, world, tmp_path
):
    with SnapshotReader(store_copy) as reader:
        for days in (1, 2):
            night(store_copy, world, AS_OF + dt.timedelta(days=days), tmp_path / f"q{days}")
    assert not reader.errors, reader.errors[:5]
    assert {f"{AS_OF}", f"{AS_OF + dt.timedelta(days=2)}"} <= set(reader.seen)


PUBLISH_SLOWLY = """
import sys, time, datetime as dt
from yiwang.store.db import engine_for
from yiwang.store.tables import stored
from yiwang.night.run import publish_night
from yiwang.store.publish import Publication
original = Publication.commit
def slow(*args, **kwargs):
    def stage(name):
        print("publishing", name, flush=True)
        time.sleep(0.5)
    return original(*args, **kwargs, on_stage=stage)
Publication.commit = slow
publish_night(engine_for(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]), sys.argv[3])
print("done", flush=True)
"""


def test_given_a_publish_killed_midway_then_the_previous_snapshot_stays_and_a_rerun_completes(
    backend, store_copy, world, tmp_path
):
    later = AS_OF + dt.timedelta(days=1)
    # stage the later night's data without publishing it
    from departments.registry import systems
    from simulators.cluster import Cluster
    from tests.connectors.kit import FAST as POLICY
    from yiwang.night.run import stage_source

    engine = engine_for(store_copy)
    with Cluster(world, later, rate_limits=False) as cluster:
        for source in systems():
            stage_source(
                engine, cluster.environment(), source, later, policy=POLICY, rate_limits=False
            )
    env = {**os.environ, "YIWANG_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISH_SLOWLY, store_copy, str(later), str(tmp_path / "quality")],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    for line in proc.stdout:
        if line.startswith("publishing source_record"):  # project already replaced, uncommitted
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    verdict = verify(engine)
    assert verdict.ok, verdict.problems
    with engine.connect() as conn:
        assert list(ledger(conn)["run_id"]) == [f"{AS_OF}"]
        dates = (
            conn.exec_driver_sql(
                f"SELECT DISTINCT as_of_date FROM {qualified(conn, 'unified', 'project')}"
            )
            .scalars()
            .all()
        )
    assert [str(d)[:10] for d in dates] == [f"{AS_OF}"]
    from yiwang.night.run import publish_night

    rerun = publish_night(engine, later, tmp_path / "q")
    uninterrupted = night(store_copy, world, later, tmp_path / "q2").published  # from scratch
    assert rerun.status == "published"
    assert uninterrupted.status == "unchanged"
    assert uninterrupted.content_hash == rerun.content_hash


def _progress_over_100(run_gate):
    def gate(tables, *args):
        broken = tables["project"].assign(progress_rate=250.0)
        return run_gate({**tables, "project": broken}, *args)

    return gate


def _gate_process_killed(run_gate):
    def gate(tables, *args):
        os.kill(os.getpid(), signal.SIGKILL)

    return gate


@pytest.mark.parametrize(
    ("gate", "said"),
    [
        (_progress_over_100, "the quality gate failed; nothing was published:\n  project: "
         "expect_column_values_to_be_between(progress_rate) failed"),
        (_gate_process_killed, "the child process died (killed by signal 9)"),
    ],
)  # fmt: skip
def test_given_the_gate_fails_or_its_process_dies_then_nothing_is_published(
    backend, store_copy, world, tmp_path, monkeypatch, gate, said
):
    """The gate runs in its own process beside the snapshot and publishing; until it passes,
    the night's writes stay uncommitted. A night it fails (or that loses it) publishes
    nothing, and the same staged night publishes once the gate passes."""
    import yiwang.night.run as night_module
    from yiwang.night.forked import ForkedError

    later = AS_OF + dt.timedelta(days=1)
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        before = ledger(conn)["content_hash"].tolist()
    monkeypatch.setattr(night_module, "run_gate", gate(night_module.run_gate))
    with pytest.raises((night_module.GateFailed, ForkedError)) as failed:
        night(store_copy, world, later, tmp_path / "q")
    assert str(failed.value).startswith(said), str(failed.value)
    assert verify(engine).ok
    with engine.connect() as conn:
        assert ledger(conn)["content_hash"].tolist() == before
    monkeypatch.undo()
    published = night_module.publish_night(engine, later, tmp_path / "q")
    assert published.status == "published" and published.gate.success
    engine.dispose()


@pytest.mark.parametrize(("setting", "in_the_night"), [("1", False), ("0", True)])
def test_given_yiwang_gate_beside_then_the_gate_runs_beside_or_in_the_nights_process(
    backend, store_copy, world, tmp_path, monkeypatch, setting, in_the_night
):
    """Beside (the default) the gate runs in a forked process; `YIWANG_GATE_BESIDE=0` keeps it
    in the night's own process, for less memory. Either way the night publishes."""
    import yiwang.night.run as night_module
    from yiwang.settings import from_environment

    gated_in: list[int] = []  # a forked process appends to its own copy, not to this one
    real = night_module.run_gate

    def recorded(*args):
        gated_in.append(os.getpid())
        return real(*args)

    monkeypatch.setenv("YIWANG_GATE_BESIDE", setting)
    options = from_environment().night_options()  # as the CLI and Airflow pass it down
    monkeypatch.setattr(night_module, "run_gate", recorded)
    result = night(store_copy, world, AS_OF + dt.timedelta(days=1), tmp_path / "q", options=options)
    assert result.published.status == "published" and result.published.gate.success
    assert gated_in == ([os.getpid()] if in_the_night else [])


@pytest.mark.parametrize("backend", ["postgres"])
def test_given_the_reader_role_then_it_reads_unified_and_nothing_else(store_copy):
    reader = store_copy.replace("postgres@", "yiwang_reader@", 1)
    with psycopg.connect(reader) as conn:
        assert conn.execute("SELECT COUNT(*) FROM unified.project").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM unified.project_rows")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO unified.publish_run (run_id) VALUES ('forged')")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT COUNT(*) FROM hub.staged_record")
