"""One night as functions: extract every source, validate, resolve, unify.

`yiwang.night` runs them against the store (staging, gate, publish); `yiwang evaluate` runs
them against a local sink to score the links against the simulator's ground truth.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from connectors.core import Landing, RetryPolicy, Sink, Stream, SyncResult, from_env, sync
from connectors.registry import registry
from schemas.validate import validate
from transforms.resolve import resolve
from transforms.unify import project_table, spot_check_table, unit_scorecard


def extract_all(
    environ: dict[str, str],
    as_of: dt.date,
    sink: Sink,
    run_id: str,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    rate_limits: bool = True,
) -> dict[str, SyncResult]:
    results = {}
    for name, connector in registry().items():
        if not rate_limits:
            connector = dataclasses.replace(connector, rate_per_s=None)
        settings = from_env(connector.conn_id, environ)
        results[name] = sync(connector, settings, sink, as_of, run_id, landing, policy)
    return results


def live_records(sink: Sink, source: str, stream: str) -> pd.DataFrame:
    """The latest version of every record of `stream` that no tombstone has deleted."""
    connector = registry()[source]
    rows = sink.records(source, stream)
    for s in connector.streams:
        if s.deletes == stream:
            gone = sink.records(source, s.name)
            if len(gone):
                rows = rows[~rows["_key"].isin(set(gone["_key"]))]
    return rows


def record_streams(sink: Sink) -> Iterator[tuple[str, Stream, pd.DataFrame]]:
    """(source, stream, live latest records) for every record stream (tombstones applied)."""
    for name, connector in registry().items():
        for s in connector.streams:
            if not s.deletes:
                yield name, s, live_records(sink, name, s.name)


@dataclass
class Night:
    as_of: dt.date
    received: dict[tuple[str, str], int]  # (source, record type) -> records received
    tables: dict[str, pd.DataFrame]
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, for the benchmarks


def _count(rows: pd.DataFrame) -> int:
    """Records received: one per key, and each keyless record."""
    if "_key" not in rows.columns:
        return len(rows)
    return int(rows["_key"].nunique() + rows["_key"].isna().sum())


def unify_night(sink: Sink, as_of: dt.date, published_draws: pd.DataFrame | None = None) -> Night:
    """Validate every stream's live records, resolve them into projects, and unify.

    Streams are read and validated one at a time, and a stream's records as received are let
    go once validated (only the registry's are kept, for resolving): the night's memory is
    what it accepts, not everything it read twice over.
    """
    received, accepted, quarantines, registry_served = {}, {}, [], None
    seconds = dict.fromkeys(("read_staged", "validate", "resolve", "unify"), 0.0)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] += now - clock
        clock = now

    for name, s, rows in record_streams(sink):
        lap("read_staged")
        checked = validate(name, s.record_type, rows)
        received[(name, s.record_type)] = _count(rows)
        accepted[s.record_type] = checked.accepted
        quarantines.append(checked.quarantine)
        if s.record_type == "project":
            registry_served = rows
        del rows, checked
        lap("validate")
    links = resolve(accepted, registry_served)
    del registry_served
    lap("resolve")
    projects = project_table(accepted, links, as_of)
    tables = {
        "project": projects,
        "source_record": links,
        "quarantine": pd.concat(quarantines, ignore_index=True),
        "unit_scorecard": unit_scorecard(accepted, links, projects, as_of),
        "spot_check": spot_check_table(projects, as_of, published_draws),
    }
    lap("unify")
    return Night(as_of, received, tables, seconds)
