"""What the Airflow tasks do, as plain functions (testable without a scheduler).

Every task is an edge: it builds the settings (`yiwang.settings`: the store from
`YIWANG_DATABASE_URL`, the data directory from `YIWANG_DATA_DIR`, …) and reads the departmental
systems from `AIRFLOW_CONN_*` (Airflow Connections) when it runs, and passes them down. They
take and return only references and small counts, never data, so that nothing but those passes
through XCom. "Today" is the run's as-of date.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pendulum
from sqlalchemy import func, select

from connectors.core import Landing, from_env
from departments.registry import configured, get, record, skipped_line
from schemas.validate import validate
from yiwang.night.as_of import check_as_of
from yiwang.night.extract import extract_source
from yiwang.night.run import publish_night
from yiwang.night.run_ids import run_id_for
from yiwang.night.steps import live_records
from yiwang.settings import from_environment
from yiwang.store.db import engine_for, migrate
from yiwang.store.lock import HeldFromFirstWrite, NightSink, store_lock
from yiwang.store.publish import latest_run
from yiwang.store.staging import DbSink
from yiwang.store.tables import stream_state

TZ = "Asia/Shanghai"
# a task of one night waits this long (unless YIWANG_NIGHT_LOCK_WAIT_S says) while another
# night holds the store, as a sensor would, rather than fail and spend its retries
LOCK_WAIT_S = 3600.0


def as_of_for(context: dict[str, Any]) -> dt.date:
    """The business date a run is for: its `as_of` param, else the date its triggering asset
    events name, else the Beijing day before its data interval ends (the night of D runs at
    01:00 on D+1, so `airflow dags test sync_drc 2026-11-24` syncs 2026-11-23). Never the
    wall clock."""
    params = context.get("params") or {}
    if params.get("as_of"):
        return dt.date.fromisoformat(str(params["as_of"]))
    events = context.get("triggering_asset_events") or {}
    named = sorted(
        {e.extra["as_of"] for evs in events.values() for e in evs if (e.extra or {}).get("as_of")}
    )
    if named:
        return dt.date.fromisoformat(named[-1])
    end = context.get("data_interval_end") or context.get("logical_date")
    if end is None:
        raise ValueError("this run names no as-of date: trigger it with {'as_of': 'YYYY-MM-DD'}")
    return pendulum.instance(end).in_timezone(TZ).date() - dt.timedelta(days=1)


def earlier_nights_published(as_of: dt.date) -> bool:
    """Whether night `as_of` may start staging: every night staged before it is published.

    Nights publish in order, one snapshot each; a source running ahead (a backfill, a late
    night) would otherwise put two nights' records into one snapshot.
    """
    engine = engine_for(from_environment().store_url)
    migrate(engine)
    night = run_id_for(as_of)  # a night's run id is its date: earlier nights sort before
    with engine.connect() as conn:
        staged = conn.execute(
            select(func.max(stream_state.c.run_id)).where(stream_state.c.run_id < night)
        ).scalar()
        last = latest_run(conn)
    return staged is None or (last is not None and f"{last['as_of_date']}" >= staged)


def extract_stream(source: str, stream: str, as_of: dt.date) -> dict[str, Any]:
    """Read one stream incrementally; pages land raw, records and state commit together. A
    department whose connection is not configured is skipped, saying so in one line."""
    check_as_of(as_of)  # a manual run of a day still being written stages nothing
    if source in configured(os.environ)[1]:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(skipped_line(source))
    settings = from_environment()
    connector = get(source)
    engine = engine_for(settings.store_url)
    migrate(engine)
    connection = from_env(connector.conn_id, dict(os.environ))
    run_id = run_id_for(as_of)
    landing = Landing(settings.landing_dir, run_id)
    # not beside another night's staging or publish, from the first record staged on
    hold = HeldFromFirstWrite(engine, as_of, settings.lock_wait_s(LOCK_WAIT_S))
    try:
        result = extract_source(
            connector, connection, NightSink(engine, run_id, hold=hold), as_of, run_id,
            landing, streams=[stream],
        )  # fmt: skip
    finally:
        hold.release()
    stats = result.streams[stream]
    return {
        "source": source, "stream": stream, "as_of": f"{as_of}", "records": stats.records,
        "pages": stats.pages, "retries": result.retries,
        "unknown_fields": sorted(stats.unknown_fields),
    }  # fmt: skip


def validate_stream(source: str, stream: str, as_of: dt.date) -> dict[str, Any]:
    """Validate the stream's staged records: counts, and a loud failure on schema drift."""
    spec = get(source).stream(stream)
    if spec.deletes:  # tombstones carry keys only; they are applied, not validated
        return {"source": source, "stream": stream, "as_of": f"{as_of}", "tombstones": True}
    engine = engine_for(from_environment().store_url)
    rows = live_records(DbSink(engine, run_id_for(as_of)), source, stream)
    checked = validate(source, record(spec.record_type), rows)
    return {
        "source": source, "stream": stream, "as_of": f"{as_of}", "received": checked.received,
        "accepted": len(checked.accepted), "quarantined": len(checked.quarantine),
    }  # fmt: skip


def publish(as_of: dt.date) -> dict[str, Any]:
    """Unify what is staged, gate it, publish it; the ledger row's references come back."""
    settings = from_environment()
    options = settings.night_options(LOCK_WAIT_S)
    engine = engine_for(settings.store_url)
    with store_lock(engine, as_of, wait=options.lock_wait_s):  # publish_night's own, waiting
        done = publish_night(engine, as_of, settings.quality_dir, options=options)
    return {
        "run_id": done.run_id, "as_of": f"{as_of}", "status": done.status,
        "content_hash": done.content_hash, "chain_hash": done.chain_hash,
    }  # fmt: skip


def worker_name() -> str:
    """The hostname Airflow records for a task: `YIWANG_WORKER_NAME` when set (several workers
    on one machine, told apart), else the machine's name."""
    import socket

    return from_environment().worker_name or socket.getfqdn()
