"""Validated streams kept between nights (PostgreSQL): the next night reads and validates only
what was staged since, and gets exactly what validating every staged record gives; parts that
are not the store's own (a copy moved them on, other code, a lost file) are never taken."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from departments.registry import registry
from simulators.cluster import Cluster
from simulators.world import generate_world
from tests.conftest import AS_OF, clone_database, drop_database, night
from tests.connectors.kit import FAST as POLICY
from yiwang.night.options import NightOptions
from yiwang.night.run import stage_source
from yiwang.night.steps import Clock, unify_night
from yiwang.store import kept as validated
from yiwang.store.db import engine_for, migrate
from yiwang.store.staging import DbSink

pytestmark = pytest.mark.postgres

EARLIER = AS_OF - dt.timedelta(days=9)


class Reads:
    """Every `DbSink.read` of a kept stream: since which write, and the record ids it got."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[tuple[str, int | None, list]] = []
        original = DbSink.read

        def read(sink, source, stream, since=None, ids=False):
            rows = original(sink, source, stream, since, ids)
            if ids:
                got = list(rows["_record_id"]) if len(rows) else []
                self.calls.append((f"{source}.{stream}", since, got))
            return rows

        monkeypatch.setattr(DbSink, "read", read)

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def staged_twice(world, pg_database, tmp_path):
    """The night of EARLIER published (its streams kept under tmp_path/kept), then AS_OF's
    records staged: the store a next night starts from."""
    night(
        pg_database,
        world,
        EARLIER,
        tmp_path / "quality",
        options=NightOptions(kept=tmp_path / "kept"),
    )
    engine = engine_for(pg_database)
    with Cluster(world, AS_OF, rate_limits=False) as cluster:
        for name in registry():
            stage_source(
                engine, cluster.environment(), name, AS_OF, policy=POLICY, rate_limits=False
            )
    yield engine
    engine.dispose()


def _unify(engine, kept):
    return unify_night(DbSink(engine, run_id="test"), AS_OF, kept=kept)


def test_given_kept_streams_when_the_next_night_validates_then_it_equals_validating_everything(
    staged_twice, tmp_path, monkeypatch
):
    kept = tmp_path / "kept"
    before = {rid for p in kept.rglob("base-*.pickle") for rid in validated._read_part(p).ids()}
    reads = Reads(monkeypatch)
    kept_night = _unify(staged_twice, kept)

    # it read only what was staged since the earlier night, and that held changed records
    assert reads.calls and all(since is not None for _, since, _ in reads.calls)
    changed = {rid for _, _, ids in reads.calls for rid in ids}
    assert changed & before and changed - before  # records changed, and records new
    shutil.rmtree(kept)  # nothing kept: every staged record read and validated
    reads.clear()
    full_night = _unify(staged_twice, kept)
    assert all(since is None for _, since, _ in reads.calls)
    every = {rid for _, _, ids in reads.calls for rid in ids}
    assert len(changed) < len(every) / 3

    assert kept_night.received == full_night.received
    assert kept_night.tables.keys() == full_night.tables.keys()
    for name in full_night.tables:
        pd.testing.assert_frame_equal(kept_night.tables[name], full_night.tables[name])
    assert len(full_night.tables["quarantine"]) > 0  # quarantined records were kept too


def test_given_a_copy_of_the_store_moved_the_parts_on_when_the_original_validates_then_it_reads_everything(
    staged_twice, pg_database, tmp_path, monkeypatch
):
    staged_twice.dispose()  # the copy is made from a database nobody is connected to
    copy = clone_database(pg_database)
    try:
        copied = engine_for(copy)
        # the copy takes the parts (its tokens are the original's) and moves on
        _unify(copied, tmp_path / "kept")
        copied.dispose()
    finally:
        drop_database(copy)
    reads = Reads(monkeypatch)
    _unify(staged_twice, tmp_path / "kept")
    assert reads.calls and all(since is None for _, since, _ in reads.calls)


@pytest.mark.parametrize("spoil", ["other code", "a lost part"])
def test_given_stale_parts_when_a_night_validates_then_it_reads_everything(
    staged_twice, tmp_path, monkeypatch, spoil
):
    if spoil == "other code":
        monkeypatch.setattr(validated, "fingerprint", lambda: "other code")
    else:
        for part in (tmp_path / "kept").rglob("base-*.pickle"):
            part.unlink()
    reads = Reads(monkeypatch)
    _unify(staged_twice, tmp_path / "kept")
    assert reads.calls and all(since is None for _, since, _ in reads.calls)


@pytest.fixture(scope="module")
def tiny():
    return generate_world("tiny", 7)


def test_given_catch_ups_beside_the_staging_then_each_night_reads_only_what_came_after_them(
    tiny, pg_database, tmp_path, monkeypatch
):
    kept = tmp_path / "kept"
    engine = engine_for(pg_database)
    migrate(engine)
    names = list(registry())
    before, after = names[:3], names[3:]  # the registry, treasury, housing; then the rest
    reads = Reads(monkeypatch)
    for day in (EARLIER, AS_OF):  # a first night (nothing kept yet), then the next one
        streams = validated.KeptStreams(DbSink(engine, run_id="test"), kept)
        with Cluster(tiny, day, rate_limits=False) as cluster:
            environ = cluster.environment()
            for name in before:
                stage_source(engine, environ, name, day, policy=POLICY, rate_limits=False)
            streams.catch_up(Clock({}))  # as the night does beside its staging
            for name in after:
                stage_source(engine, environ, name, day, policy=POLICY, rate_limits=False)
        reads.clear()
        caught = unify_night(DbSink(engine, run_id="test"), day, kept=kept, streams=streams)

        # only what was staged after the catch-up was read: nothing of the sources before it
        assert reads.calls and all(since is not None for _, since, _ in reads.calls), day
        read = {stream: ids for stream, _, ids in reads.calls}
        assert all(not ids for stream, ids in read.items() if stream.split(".")[0] in before)
        assert any(ids for stream, ids in read.items() if stream.split(".")[0] in after)
        full = unify_night(DbSink(engine, run_id="test"), day)  # every staged record validated
        assert caught.received == full.received
        for name in full.tables:
            pd.testing.assert_frame_equal(caught.tables[name], full.tables[name], obj=name)
        assert len(full.tables["quarantine"]) > 0  # quarantined records were kept too
    # what the night kept is what the next one loads: with nothing staged since, it reads nothing
    reads.clear()
    again = unify_night(DbSink(engine, run_id="test"), AS_OF, kept=kept)
    assert reads.calls and not any(ids for _, _, ids in reads.calls)
    pd.testing.assert_frame_equal(again.tables["source_record"], full.tables["source_record"])
    engine.dispose()
