"""One night as functions: extract every source, validate, resolve, unify.

`yiwang.night.run` runs them against the store (staging, gate, publish); `yiwang evaluate` runs
them against a local sink to score the links against the simulator's ground truth.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from connectors.core import Landing, RetryPolicy, Sink, Stream, SyncResult, from_env
from connectors.core.connection import env_var
from departments.registry import (
    backbone,
    configured,
    get,
    linking,
    plan,
    record,
    record_types,
    registry,
    taking_part,
)
from schemas.validate import Validated, validate
from transforms.detail import detail_frames
from transforms.resolve import resolve
from transforms.unify import spot_check_table, unified, unit_scorecard
from yiwang.night.extract import extract_source
from yiwang.store.kept import KeptStreams, kept_streams
from yiwang.store.publish import PublishError
from yiwang.store.staging import DbSink


def extract_all(
    environ: dict[str, str],
    as_of: dt.date,
    sink: Sink,
    run_id: str,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    rate_limits: bool = True,
) -> dict[str, SyncResult]:
    """Every department whose connection `environ` configures into `sink` (the others are
    skipped, as by the night), side by side as the night reads them, a thread each; the first
    failure, in the registry's order, is raised once all have ended."""
    names = configured(environ)[0]

    def one(name: str) -> SyncResult:
        connector = registry()[name]
        settings = from_env(connector.conn_id, environ)
        return extract_source(
            connector, settings, sink, as_of, run_id, landing, policy, rate_limits
        )  # fmt: skip

    with ThreadPoolExecutor(max(len(names), 1), thread_name_prefix="extract") as pool:
        running = [pool.submit(one, name) for name in names]
    return {name: future.result() for name, future in zip(names, running, strict=True)}


def live_records(sink: Sink, source: str, stream: str) -> pd.DataFrame:
    """The latest version of every record of `stream` that no tombstone has deleted."""
    rows = sink.records(source, stream)
    gone = tombstoned(sink, source, stream)
    return rows[~rows["_key"].isin(gone)] if gone and len(rows) else rows


def tombstoned(sink: Sink, source: str, stream: str) -> set:
    """The keys of `stream` its source's tombstone streams have deleted."""
    keys: set = set()
    for s in registry()[source].streams:
        if s.deletes == stream:
            gone = sink.records(source, s.name)
            keys |= set(gone["_key"]) if len(gone) else set()
    return keys


def record_streams(sink: Sink) -> Iterator[tuple[str, Stream, pd.DataFrame]]:
    """(source, stream, live latest records) for every record stream (tombstones applied)."""
    for name, connector in registry().items():
        for s in connector.streams:
            if not s.deletes:
                yield name, s, live_records(sink, name, s.name)


def validated_streams(
    sink: Sink,
    kept: Path | None = None,
    seconds: dict[str, float] | None = None,
    streams: KeptStreams | None = None,
) -> Iterator[tuple[str, Stream, Validated, pd.DataFrame | None]]:
    """(source, stream, its live records validated, the registry's records as received) for
    every record stream, tombstones applied.

    On PostgreSQL, given `kept` (the edge's `YIWANG_KEPT_DIR`), a stream's validated records
    are kept between nights under it and only what was staged since is read and validated
    (`yiwang.store.kept`); `streams`: those the night brought up to date while its sources
    were staged (`KeptStreams.catch_up`). Without `kept` every record is read and validated.
    The registry's stream is read whole, since resolution needs it as received. `seconds`
    gathers the time spent reading ("read_staged") and validating.
    """
    clock = Clock(seconds if seconds is not None else {})
    _, registry_type = backbone()
    mark = sink.watermark() if isinstance(sink, DbSink) and kept is not None else None
    if mark is not None and streams is None:
        streams = KeptStreams(sink, kept)
    kept_here = {(n, s.name) for n, s in kept_streams()} if mark is not None else set()
    for name, connector in registry().items():
        for s in connector.streams:
            if s.deletes:
                continue
            clock.lap()
            if (name, s.name) not in kept_here:
                rows = live_records(sink, name, s.name)
                clock.lap("read_staged")
                checked = validate(name, record(s.record_type), rows)
                checked.received = _count(rows)
                clock.lap("validate")
                yield name, s, checked, rows if s.record_type == registry_type else None
                continue
            store, watermark = mark
            part = streams.stream(store, name, s).validated(watermark, clock)
            checked = part.live(name, s.record_type, tombstoned(sink, name, s.name))
            clock.lap("validate")
            yield name, s, checked, None


class Clock:
    """Seconds between laps, added up per stage into `seconds`."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds, self.last = seconds, time.perf_counter()

    def lap(self, stage: str | None = None) -> None:
        now = time.perf_counter()
        if stage:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self.last
        self.last = now


@dataclass
class Night:
    as_of: dt.date
    received: dict[tuple[str, str], int]  # (source, record type) -> records received
    tables: dict[str, pd.DataFrame]
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, for the benchmarks


class NoRegistry(PublishError):
    """A night with no registry records: nothing would link, so nothing is published."""


def _count(rows: pd.DataFrame) -> int:
    """Records received: one per key, and each keyless record."""
    if "_key" not in rows.columns:
        return len(rows)
    return int(rows["_key"].nunique() + rows["_key"].isna().sum())


def unify_night(
    sink: Sink,
    as_of: dt.date,
    published_draws: pd.DataFrame | None = None,
    when_read: Callable[[], None] | None = None,
    kept: Path | None = None,
    streams: KeptStreams | None = None,
) -> Night:
    """Validate every stream's live records, resolve them into projects, and unify.

    Streams are read and validated one at a time, and a stream's records as received are let
    go once validated (only the registry's are kept, for resolving): the night's memory is
    what it accepts, not everything it read twice over. `when_read` is called once every
    stream is read, before resolving (which keeps one core busy and the database idle).
    `kept`: where validated streams are kept between nights, `streams` those brought up to
    date beside the night's staging (`validated_streams`).
    """
    received, accepted, quarantines, registry_served = {}, {}, [], None
    seconds = dict.fromkeys(("read_staged", "validate", "resolve", "unify"), 0.0)
    registry_source, registry_type = backbone()
    for name, s, checked, served in validated_streams(sink, kept, seconds, streams):
        received[(name, s.record_type)] = checked.received
        accepted[s.record_type] = checked.accepted
        quarantines.append(checked.quarantine)
        if s.record_type == registry_type:
            registry_served = served
        del checked, served
    if not received[(registry_source, registry_type)]:
        # every link rests on the registry's codes: without them each permit would be
        # published as an unapproved `X-` project
        raise NoRegistry(
            f"nothing of {registry_source} (the registry that issues project codes) is staged, "
            f"so no record can be linked; configure its connection "
            f"({env_var(get(registry_source).conn_id)}) and run the night again"
        )
    if when_read:
        when_read()
    clock = Clock(seconds)
    links = resolve(accepted, linking(), registry_served)
    del registry_served
    clock.lap("resolve")
    part = taking_part(name for (name, _), n in received.items() if n)
    projects, own = unified(accepted, links, as_of, plan(part))
    tables = {
        "project": projects,
        "source_record": links,
        "quarantine": pd.concat(quarantines, ignore_index=True),
        "unit_scorecard": unit_scorecard(accepted, links, projects, as_of),
        "spot_check": spot_check_table(projects, as_of, published_draws),
        **detail_frames(accepted, links, [record(r) for r in record_types()]),
        **own,
    }
    clock.lap("unify")
    return Night(as_of, received, tables, seconds)
