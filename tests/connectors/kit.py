"""The connector conformance kit: helpers shared by the suite every department with a
simulator runs.

A department joins by declaring a simulator (`departments/<name>/__init__.py`); the kit then
syncs the department's connector against that simulator and compares what it stored with the
world's own records, stream by stream, as the simulator's `Served` declarations say.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from connectors.core import Connector, LocalSink, RetryPolicy, from_env, sync
from connectors.core.sync import SyncResult
from simulators.cluster import Cluster
from simulators.expected import expected_records
from simulators.world import World
from simulators.world import calendar as cal
from yiwang.night.steps import extract_all, live_records

# quick back-off: the suite injects faults and must not sleep through them
FAST = RetryPolicy(backoff_base_s=0.005, backoff_max_s=0.05, max_attempts=20)


def small_pages(connector: Connector) -> Connector:
    """The same connector with small pages, so a small world still spans many requests."""
    streams = []
    for s in connector.streams:
        p = s.paginator
        fields = {f.name for f in dataclasses.fields(p)}
        changes = {k: v for k, v in (("size", 10), ("limit", 10)) if k in fields}
        streams.append(dataclasses.replace(s, paginator=dataclasses.replace(p, **changes)))
    return dataclasses.replace(connector, streams=tuple(streams))


def run(
    connector: Connector,
    world: World,
    as_of: dt.date,
    sink: LocalSink,
    fault_rate: float = 0.0,
    fault_seed: int = 0,
    password: str | None = None,
    landing=None,
) -> SyncResult:
    # the suite lifts published rate limits (server and client alike) to run in seconds;
    # test_housing_stays_under_the_rate_limit keeps the real one
    connector = dataclasses.replace(connector, rate_per_s=None)
    with Cluster(
        world, as_of, fault_rate=fault_rate, fault_seed=fault_seed, rate_limits=False
    ) as cluster:
        settings = from_env(connector.conn_id, cluster.environment())
        if password is not None:
            settings = dataclasses.replace(settings, password=password)
        result = sync(connector, settings, sink, as_of, f"run-{as_of}", landing, FAST)
        # the faults the server drew, so a test can tell that it tested something
        result.faults_drawn = [f for f in cluster.servers[connector.name].faults.log if f != "-"]
        return result


def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    if frame.empty:
        return set()
    return set(zip(frame["_key"], frame["_version"], strict=True))


def expected_pairs(world: World, connector: Connector, stream: str, as_of: dt.date) -> set:
    return pairs(expected_records(world, connector.name, stream, cal.day(as_of)))


def mismatches(sink: LocalSink, connector: Connector, world: World, as_of: dt.date) -> dict:
    """Per stream, what is missing and what is extra (empty when the sync was exact)."""
    out = {}
    for s in connector.streams:
        got = pairs(
            sink.records(connector.name, s.name)
            if s.deletes
            else live_records(sink, connector.name, s.name)
        )
        want = expected_pairs(world, connector, s.name, as_of)
        if got != want:
            out[s.name] = {"missing": sorted(want - got)[:5], "extra": sorted(got - want)[:5]}
    return out


def fresh_sink(root: Path, name: str) -> LocalSink:
    return LocalSink(root / name, commit_every_s=0)


def stage_all(world: World, as_of: dt.date, root: Path) -> LocalSink:
    """Every registered connector's full read of the simulators into one local sink."""
    sink = LocalSink(root, commit_every_s=600)
    with Cluster(world, as_of, rate_limits=False) as cluster:
        extract_all(cluster.environment(), as_of, sink, f"stage-{as_of}", None, FAST, False)
    return sink
