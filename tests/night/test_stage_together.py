"""The night stages its sources side by side (`stage_together`), and a source that fails leaves
the others staged, its failure named. That side by side stages what one after another did is
held by the pinned content hashes (tests/night/test_version_1_1.py) and the snapshot tests."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from connectors.core import SourceError
from connectors.core.connection import env_var
from departments.registry import get, registry
from simulators.cluster import Cluster
from simulators.world import generate_world
from tests.conftest import AS_OF
from tests.connectors.kit import FAST as POLICY
from yiwang.night.run import SourcesFailed, stage_together
from yiwang.store.db import engine_for, migrate
from yiwang.store.staging import DbSink


def _staged(engine) -> dict[str, pd.DataFrame]:
    sink = DbSink(engine, run_id="read")
    staged = {
        f"{name}.{s.name}": sink.records(name, s.name)
        for name, connector in registry().items()
        for s in connector.streams
    }
    return {k: f.sort_values("_key", ignore_index=True) if len(f) else f for k, f in staged.items()}


@pytest.fixture(scope="module")
def tiny():
    return generate_world("tiny", 7)


def _spoiled(environ: dict[str, str], *departments: str) -> dict[str, str]:
    """`environ` with a wrong password on each of `departments`' connections."""
    environ = dict(environ)
    for name in departments:
        var = env_var(get(name).conn_id)
        conn = json.loads(environ[var])
        environ[var] = json.dumps({**conn, "password": "not-the-password"})
    return environ


def test_given_two_sources_refusing_the_password_then_the_others_are_staged_and_both_are_named(
    tiny, tmp_path
):
    failing = ("audit", "planning")
    engine = engine_for(f"sqlite:///{tmp_path / 'store'}.db")
    migrate(engine)
    with Cluster(tiny, AS_OF, rate_limits=False) as cluster:
        environ, names = _spoiled(cluster.environment(), *failing), list(registry())
        with pytest.raises(SourceError) as raised:
            stage_together(engine, environ, names, AS_OF, None, POLICY, False)
    said = str(raised.value)
    for name in failing:
        assert f"{name}/" in said  # the source and its stream, as the sync names them
    assert isinstance(raised.value, SourcesFailed)
    staged = _staged(engine)
    for name in names:
        counts = [len(staged[f"{name}.{s.name}"]) for s in get(name).streams if not s.deletes]
        # the failing sources staged nothing; every other one staged all its record streams
        assert (sum(counts) == 0) if name in failing else all(counts), name


def test_given_two_sources_then_they_are_read_at_the_same_time_each_in_a_process_of_its_own(
    tiny, tmp_path
):
    engine = engine_for(f"sqlite:///{tmp_path / 'store'}.db")
    migrate(engine)
    pair = ["treasury", "hotline"]  # each reads a day a request: seconds of requests each
    with Cluster(tiny, AS_OF, rate_limits=False) as cluster:
        results = stage_together(engine, cluster.environment(), pair, AS_OF, None, POLICY, False)
    (a0, a1), (b0, b1) = ((r.started_at, r.started_at + r.seconds) for r in results.values())
    assert a0 < b1 and b0 < a1  # side by side, not one after the other
    staged = _staged(engine)
    for name in pair:
        assert sum(len(staged[f"{name}.{s.name}"]) for s in get(name).streams)
        assert results[name].records  # what each process read came back to the night
