"""One night against the store: stage every source, then unify, gate and publish.

The two halves are separate functions because Airflow runs them as separate tasks (one sync
DAG per source, one publish DAG); `run_night` chains them for the CLI. "Today" is `as_of`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd
from sqlalchemy import Engine

from connectors.core import Landing, RetryPolicy, SourceError, SyncResult, from_env
from connectors.core.sync import ProgressHook
from departments.registry import configured, get, skipped_line
from schemas.quarantine import carry_forward
from yiwang.night import apart
from yiwang.night.as_of import check_as_of
from yiwang.night.collector import fewer_collections
from yiwang.night.extract import extract_source
from yiwang.night.forked import Forked
from yiwang.night.gate import GateResult, reconciliation, run_gate
from yiwang.night.options import DEFAULTS, NightOptions
from yiwang.night.run_ids import run_id_for
from yiwang.night.steps import Clock, unify_night
from yiwang.store.db import migrate
from yiwang.store.kept import KeptStreams
from yiwang.store.lock import NightSink, refuse_staged_ahead, store_lock
from yiwang.store.publish import (
    Publication,
    PublishError,
    Snapshot,
    latest_run,
    read_table,
    runs_for,
    snapshot_table,
)
from yiwang.store.staging import DbSink

Progress = Callable[[str], None]
log = logging.getLogger(__name__)
T = TypeVar("T")


def stage_source(
    engine: Engine,
    environ: dict[str, str],
    source: str,
    as_of: dt.date,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    rate_limits: bool = True,
    progress: ProgressHook | None = None,
) -> SyncResult:
    """Extract one source incrementally into staging (records and state commit together),
    its connection read from `environ`."""
    check_as_of(as_of)  # a day still being written, or before the sources hold any, is refused
    with store_lock(engine, as_of):  # no other night stages or publishes meanwhile
        return staged_held(engine, environ, source, as_of, landing, policy, rate_limits, progress)


def staged_held(
    engine: Engine,
    environ: dict[str, str],
    source: str,
    as_of: dt.date,
    landing: Landing | None,
    policy: RetryPolicy | None,
    rate_limits: bool,
    progress: ProgressHook | None = None,
) -> SyncResult:
    """`stage_source` for a caller that holds the store for the night already."""
    connector = get(source)
    settings = from_env(connector.conn_id, environ)
    run_id = run_id_for(as_of)
    sink = NightSink(engine, run_id=run_id)  # marks the night its records are staged for
    return extract_source(
        connector, settings, sink, as_of, run_id, landing, policy, rate_limits,
        progress=progress,
    )  # fmt: skip


class SourcesFailed(SourceError):
    """One or more sources failed while the others were staged (their records are kept)."""


def stage_together(
    engine: Engine,
    environ: dict[str, str],
    names: list[str],
    as_of: dt.date,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    rate_limits: bool = True,
    say: Progress | None = None,
) -> dict[str, SyncResult]:
    """The sources `names` staged side by side, a process each (`yiwang.night.apart`), for a
    caller that holds the store for the night: each has its own HTTP session and keeps its
    own contract's pace, so the night waits for its slowest source rather than for their sum.

    A source that fails does not stop the others: what each staged is committed with its
    state, and the next night resumes from there. Once all have ended, the failures are
    raised together (`SourcesFailed`, naming each source), or a single one as it was (and
    a failure that is not the source's, a fault of the hub's own, before any other).
    """
    say = say or (lambda _: None)
    results: dict[str, SyncResult] = {}
    failures: dict[str, BaseException] = {}
    pool, store = apart.executor(engine, len(names))
    with pool:
        running = {
            pool.submit(
                apart.staged_apart, store, environ, n, as_of, landing, policy, rate_limits
            ): n
            for n in names
        }  # fmt: skip
        say(f"extract {', '.join(names)}")
        for future in as_completed(running):
            name = running[future]
            try:
                results[name] = future.result()
            except Exception as exc:  # the others go on; raised below, once all ended
                failures[name] = exc
            left = [n for f, n in running.items() if not f.done()]
            if left:
                say(f"extract {', '.join(left)} ({len(names) - len(left)} of {len(names)} done)")
    if failures:
        ordered = [failures[n] for n in names if n in failures]
        unlike = [e for e in ordered if not isinstance(e, SourceError)]  # a fault of ours
        if len(ordered) == 1 or unlike:
            raise (unlike or ordered)[0]
        raise SourcesFailed("; ".join(f"{n}: {failures[n]}" for n in names if n in failures))
    return {n: results[n] for n in names}


@dataclass
class Published:
    run_id: str
    as_of: dt.date
    status: str  # "published" | "unchanged"
    content_hash: str
    chain_hash: str
    counts: dict
    risks: dict[str, int]
    projects: int
    gate: GateResult | None
    seconds: dict[str, float] = field(default_factory=dict)
    changes: dict[str, dict[str, int]] = field(default_factory=dict)  # per table: rows touched


class GateFailed(PublishError):
    def __init__(self, result: GateResult) -> None:
        self.result = result
        listed = "\n  ".join(result.failures[:20])
        super().__init__(f"the quality gate failed; nothing was published:\n  {listed}")


def _counts(received: dict, tables: dict[str, pd.DataFrame]) -> tuple[dict, dict]:
    recon = reconciliation(received, tables)
    counts = {
        f"{r['source_system']}/{r['record_type']}": {
            "received": r["received"],
            "accepted": r["linked"] + r["unlinked"],
            "quarantined": r["quarantined"],
            "linked": r["linked"],
        }
        for r in recon.to_dict("records")
    }
    return counts, recon


def publish_night(
    engine: Engine,
    as_of: dt.date,
    quality_dir: Path,
    progress: Progress | None = None,
    options: NightOptions = DEFAULTS,
    streams: KeptStreams | None = None,
) -> Published:
    """Unify what is staged, gate it (its Data Docs under `quality_dir`), and publish it as
    the snapshot of `as_of`. `streams`: the kept streams brought up to date while the night's
    sources were staged (`run_night`).

    Publishing the same night over the same staged data again changes nothing (same
    content_hash, no new ledger row). A night older than the latest published one is refused.
    """
    check_as_of(as_of)
    t0 = time.perf_counter()
    migrate(engine)
    # the publishing transaction first: its locks make this night the only publisher, and
    # it reads what is published while the night is resolved
    with store_lock(engine, as_of, wait=options.lock_wait_s):  # no other night meanwhile
        refuse_staged_ahead(engine, as_of)  # nor did since this one staged (Airflow's tasks)
        with fewer_collections(), Publication(engine, options.ledger_heads) as publication:
            return _publish_night(
                engine, publication, as_of, quality_dir, progress, t0, options, streams
            )  # fmt: skip


def _publish_night(
    engine: Engine,
    publication: Publication,
    as_of: dt.date,
    quality_dir: Path,
    progress: Progress | None,
    t0: float,
    options: NightOptions,
    streams: KeptStreams | None,
) -> Published:
    say = progress or (lambda _: None)
    timings: dict[str, float] = {}
    with engine.connect() as conn:
        last = latest_run(conn)
        previous_quarantine = read_table(conn, "quarantine")
        draws = read_table(conn, "spot_check")
        same_night = runs_for(conn, as_of)
    t_read = time.perf_counter()
    if last and last["as_of_date"] > as_of:
        raise PublishError(
            f"the latest snapshot is of {last['as_of_date']}; publishing {as_of} would take "
            "readers back in time"
        )
    say("validate, resolve and unify")
    night = unify_night(
        DbSink(engine, run_id=run_id_for(as_of)), as_of, draws.drop(columns="row_hash"),
        when_read=publication.read_ahead, kept=options.kept, streams=streams,
    )  # fmt: skip
    timings.update(night.seconds)
    received = night.received
    timings["read_staged"] += t_read - t0  # the ledger, quarantine and draws read above

    def tables_for(run_id: str) -> dict[str, pd.DataFrame]:
        quarantine, _ = carry_forward(previous_quarantine, night.tables["quarantine"], run_id)
        return {**night.tables, "quarantine": quarantine, "snapshot": snapshot_table(run_id, as_of)}

    # the night's first run, or its next when it was published (or withdrawn) before; the
    # same night again over the same data is unchanged, and keeps its run
    run_id = run_id_for(as_of, run=same_night + 1)
    if last and last["as_of_date"] == as_of:  # the same night again: unchanged, or a new run
        say("canonical snapshot")
        t1 = time.perf_counter()
        tables = tables_for(last["run_id"])
        snapshot = Snapshot.of(tables)
        timings["snapshot"] = time.perf_counter() - t1
        if last["content_hash"] == snapshot.content_hash:
            return Published(
                last["run_id"], as_of, "unchanged", snapshot.content_hash, last["chain_hash"],
                _counts(received, tables)[0], _risk_counts(tables["project"]),
                len(tables["project"]), None, timings,
            )  # fmt: skip
        del tables, snapshot  # over changed data: `run_id`, a new run of that night
    tables = tables_for(run_id)
    counts, recon = _counts(received, tables)
    risks, projects = _risk_counts(tables["project"]), len(tables["project"])
    publication.ready()  # its reading thread done before a fork: a child gets no thread
    # A process forked beside the night costs memory: each page either side writes is copied
    # (docs/performance.md, "Gate"). A first load into an empty store (rare, and the night
    # holding the most) gates here, in turn, to keep the night's peak within the memory
    # budget; so does every night with YIWANG_GATE_BESIDE=0.
    if last and options.gate_beside:
        say("canonical snapshot, quality gate beside it")
        gate = Forked(_timed, run_gate, tables, recon, quality_dir, run_id)
        verdict = gate.result
    else:
        say("quality gate")
        ran = _timed(run_gate, tables, recon, quality_dir, run_id)
        if not ran[0].success:
            raise GateFailed(ran[0])
        say("canonical snapshot")
        gate, verdict = contextlib.nullcontext(), lambda: ran
    with gate:
        t1 = time.perf_counter()
        snapshot = Snapshot.of(tables)  # canonical lines, row and content hashes
        timings["snapshot"] = timings.get("snapshot", 0.0) + time.perf_counter() - t1
        # the tables are kept until the night ends: while the gate's process shares their
        # pages, freeing them here would only copy each page the frees touch
        gated: list[GateResult] = []

        def gate_passed() -> None:
            """Called by `commit` before it commits: a failed gate rolls it all back."""
            t = time.perf_counter()
            result, timings["gate"] = verdict()
            timings["gate_wait"] = time.perf_counter() - t
            gated.append(result)
            if not result.success:
                raise GateFailed(result)

        say("publish")
        t2 = time.perf_counter()
        row = publication.commit(snapshot, run_id, as_of, counts, before_commit=gate_passed)
        timings["publish"] = time.perf_counter() - t2 - timings["gate_wait"]
    return Published(
        run_id, as_of, "published", row["content_hash"], row["chain_hash"], counts, risks,
        projects, gated[0], timings, row["changes"],
    )  # fmt: skip


def _timed(work: Callable[..., T], *args) -> tuple[T, float]:
    """`work(*args)` and the seconds it took (in the process that ran it)."""
    started = time.perf_counter()
    return work(*args), time.perf_counter() - started


def _risk_counts(projects: pd.DataFrame) -> dict[str, int]:
    flags = projects["risk_flags"].str.split(",").explode()
    flags = flags[flags.notna() & (flags != "")]
    return {k: int(v) for k, v in flags.value_counts().sort_index().items()}


@dataclass
class NightResult:
    extracted: dict[str, SyncResult]
    published: Published
    seconds: float
    staging_s: float = 0.0  # from the night's start to its last source staged


def run_night(
    engine: Engine,
    environ: dict[str, str],
    as_of: dt.date,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    rate_limits: bool = True,
    *,
    quality_dir: Path,
    progress: Progress | None = None,
    options: NightOptions = DEFAULTS,
) -> NightResult:
    """extract all → validate → stage → unify → gate → publish, in-process; the sources'
    connections read from `environ` (a department without one is skipped, said through
    `progress`), the gate's Data Docs under `quality_dir`."""
    check_as_of(as_of)  # before anything starts
    say = progress or (lambda _: None)
    started = time.perf_counter()
    # the whole night is this night's alone
    with store_lock(engine, as_of, whole_night=True, wait=options.lock_wait_s):
        migrate(engine)
        on, off = configured(environ)
        for name in off:  # its records staged before, if any, are still published
            say(skipped_line(name))
        streams = KeptStreams(DbSink(engine, run_id_for(as_of)), options.kept)
        with CatchingUp(streams, active=options.kept is not None) as validating:
            extracted = stage_together(
                engine, environ, on, as_of, landing, policy, rate_limits, say
            )  # fmt: skip
        staging_s = time.perf_counter() - started
        published = publish_night(engine, as_of, quality_dir, progress, options, streams)
        published.seconds |= validating.seconds
    return NightResult(extracted, published, time.perf_counter() - started, staging_s)


class CatchingUp:
    """While the sources are staged, the kept streams brought up to date every `every_s`
    seconds in a thread of its own (`KeptStreams.catch_up`): the night's validation overlaps
    the sources' paced fetching, and what is left once the slowest source ends is its last
    stretch. Its seconds are reported apart ("read_beside", "validate_beside"). A catch-up
    that fails is logged and not tried again: the night's own validation does it all."""

    def __init__(self, streams: KeptStreams, active: bool, every_s: float = 10.0) -> None:
        self.streams, self.active, self.every_s = streams, active, every_s
        self.seconds: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catch-up", daemon=True)

    def __enter__(self) -> CatchingUp:
        if self.active:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.active:
            self._thread.join()

    def _run(self) -> None:
        laps: dict[str, float] = {}
        clock = Clock(laps)
        try:
            while not self._stop.wait(self.every_s):
                clock.lap()
                self.streams.catch_up(clock)
        except Exception:  # the night's validation reads what this did not
            log.warning("validating beside the staging stopped", exc_info=True)
        self.seconds = {f"{k}_beside": v for k, v in laps.items()}
