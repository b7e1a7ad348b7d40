"""What the Airflow tasks do, as plain functions (testable without a scheduler).

Every task is an edge: it builds the settings (`yiwang.settings`: the store from
`YIWANG_DATABASE_URL`, the data directory from `YIWANG_DATA_DIR`, …) and looks the departmental
systems' connections up through Airflow (`yiwang.airflow.connections`) when it runs, and passes
them down. What each did goes to its task log in words an operator can act on. They
take and return only references and small counts, never data, so that nothing but those passes
through XCom. "Today" is the run's as-of date.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pendulum
from sqlalchemy import Engine, func, select

from connectors.core import Landing
from departments.registry import backbone, get, record, registry
from schemas.validate import validate
from yiwang.airflow import report
from yiwang.airflow.connections import lookup, not_configured_line
from yiwang.airflow.failures import failing_fast
from yiwang.airflow.lineage import lineage, store_dataset
from yiwang.night.as_of import AsOfError, check_as_of
from yiwang.night.extract import extract_source
from yiwang.night.run import publish_night
from yiwang.night.run_ids import run_id_for
from yiwang.settings import from_environment
from yiwang.store.db import engine_for, migrate
from yiwang.store.lock import HeldFromFirstWrite, NightSink, store_lock
from yiwang.store.publish import latest_run
from yiwang.store.staging import DbSink
from yiwang.store.tables import stream_state

log = logging.getLogger(__name__)
TZ = "Asia/Shanghai"
# a task of one night waits this long (unless YIWANG_NIGHT_LOCK_WAIT_S says) while another
# night holds the store, as a sensor would, rather than fail and spend its retries
LOCK_WAIT_S = 3600.0


def as_of_for(context: dict[str, Any]) -> dt.date:
    """The business date a run is for: its `as_of` param, else the date its triggering asset
    events name, else the Beijing day before its data interval ends (the night of D runs at
    01:00 on D+1, so `airflow dags test sync_drc 2026-11-24` syncs 2026-11-23). Never the
    wall clock. A run that names none, or no date, fails at once: no retry names one."""
    with failing_fast():
        params = context.get("params") or {}
        named = [params["as_of"]] if params.get("as_of") else []
        events = context.get("triggering_asset_events") or {}
        named = named or sorted(
            {e.extra["as_of"] for es in events.values() for e in es if (e.extra or {}).get("as_of")}
        )
        if named:
            try:
                return dt.date.fromisoformat(str(named[-1]))
            except ValueError:
                raise AsOfError(f"as-of {str(named[-1])[:40]!r} is not a date YYYY-MM-DD") from None
        end = context.get("data_interval_end") or context.get("logical_date")
        if end is None:
            raise AsOfError("this run names no as-of date: trigger it with {'as_of': 'YYYY-MM-DD'}")
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
    department Airflow has no connection for is skipped, saying so in one line; a failure no
    retry can cure fails the task at once (`failing_fast`)."""
    with failing_fast():
        check_as_of(as_of)  # a manual run of a day still being written stages nothing
        connector = get(source)
        connection = lookup(connector.conn_id)
        if connection is None:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(not_configured_line(source))
        settings = from_environment()
        engine = engine_for(settings.store_url)
        migrate(engine)
        run_id = run_id_for(as_of)
        landing = Landing(settings.landing_dir, run_id)
        # not beside another night's staging or publish, from the first record staged on
        hold = HeldFromFirstWrite(engine, as_of, settings.lock_wait_s(LOCK_WAIT_S))
        try:
            result = extract_source(
                connector.one_of_clients(), connection, NightSink(engine, run_id, hold=hold),
                as_of, run_id, landing, streams=[stream],
            )  # fmt: skip
        finally:
            hold.release()
    stats = result.streams[stream]
    log.info("%s", report.extracted(source, stream, result, connection, landing.stream_dir(
        source, stream)))  # fmt: skip
    if stats.unknown_fields:
        log.warning(
            "%s/%s: fields the contract does not name were ignored: %s",
            source, stream, ", ".join(sorted(stats.unknown_fields)),
        )  # fmt: skip
    path = connection.base_path.rstrip("/") + connector.stream(stream).path
    staging = store_dataset(settings.store_url, "hub.staged_record")
    return {
        "source": source, "stream": stream, "as_of": f"{as_of}", "records": stats.records,
        "pages": stats.pages, "requests": result.requests, "retries": result.retries,
        "unknown_fields": sorted(stats.unknown_fields),
        "lineage": lineage([(connection.origin, path)], [(*staging, stats.records)]),
    }  # fmt: skip


def validate_stream(source: str, stream: str, as_of: dt.date) -> dict[str, Any]:
    """Validate what this night staged of the stream (what came tonight, new, changed or sent
    again; the rest was validated on the night it came): counts and the rules broken most. The
    night's publication validates every live record again, quarantines with their reasons, and
    is where a schema drift (a field gone from the whole stream) fails the night: a field
    missing from every one of tonight's few records is, here, theirs to be quarantined for."""
    spec = get(source).stream(stream)
    rec = record(spec.record_type)
    run_id = run_id_for(as_of)
    with failing_fast():
        engine = engine_for(from_environment().store_url)
        rows = DbSink(engine, run_id).read(source, stream, staged_by=run_id)
        absent = [f for f in rec.required_fields if len(rows) and f not in rows.columns]
        if absent:
            log.warning(
                "%s/%s: every one of tonight's %s records lacks %s: has the source changed "
                "its interface?", source, stream, f"{len(rows):,}", ", ".join(absent),
            )  # fmt: skip
            rows = rows.assign(**dict.fromkeys(absent))
        checked = validate(source, rec, rows)
    log.info("%s", report.validated(source, stream, checked))
    return {
        "source": source, "stream": stream, "as_of": f"{as_of}", "received": checked.received,
        "accepted": len(checked.accepted), "quarantined": len(checked.quarantine),
    }  # fmt: skip


def publish(as_of: dt.date) -> dict[str, Any]:
    """Unify what is staged, gate it, publish it; the ledger row's references come back. A
    department that staged nothing tonight is published as last staged, and the log says so."""
    settings = from_environment()
    options = settings.night_options(LOCK_WAIT_S)
    engine = engine_for(settings.store_url)
    # publish_night's own lock, held on to count this publication's rows and no later one's
    with failing_fast(), store_lock(engine, as_of, wait=options.lock_wait_s):
        done = publish_night(engine, as_of, settings.quality_dir, options=options)
        rows = published_rows(engine)
        stale = stale_departments(engine, as_of)  # the store migrated by publish_night
    for line in stale:
        log.warning("%s", line)
    log.info("%s", report.published(
        as_of, done.run_id, done.status, done.content_hash, done.projects, done.counts,
        settings.quality_dir,
    ))  # fmt: skip
    url = settings.store_url
    return {
        "run_id": done.run_id, "as_of": f"{as_of}", "status": done.status,
        "content_hash": done.content_hash, "chain_hash": done.chain_hash,
        "projects": done.projects, "rows": rows,
        "lineage": lineage(
            [store_dataset(url, "hub.staged_record")],
            [(*store_dataset(url, table), n) for table, n in rows.items()],
        ),
    }  # fmt: skip


def stale_departments(engine: Engine, as_of: dt.date) -> list[str]:
    """One line per department of which this night's publication takes streams from earlier
    nights (or publishes nothing): its sync did not stage them tonight."""
    night = run_id_for(as_of)
    with engine.connect() as conn:
        last = {
            (source, stream): run
            for source, stream, run in conn.execute(
                select(stream_state.c.source, stream_state.c.stream, stream_state.c.run_id).where(
                    stream_state.c.run_id <= night
                )
            ).all()
        }
    registry_source, _ = backbone()
    lines = []
    for name, connector in registry().items():
        runs = {s.name: last.get((name, s.name)) for s in connector.streams}
        behind = {s: r for s, r in runs.items() if r != night}
        if not behind:
            continue
        if all(r is None for r in runs.values()):
            consequence = (
                "without the registry's codes nothing can be linked, so nothing is published"
                if name == registry_source
                else "the night is published without it"
            )
            lines.append(f"{name}: nothing ever staged; {consequence}")
            continue
        kept = ", ".join(f"{s} (as staged {r})" if r else f"{s} (never staged)"
                         for s, r in sorted(behind.items()))  # fmt: skip
        lines.append(
            f"{name}: not staged for the night of {as_of} (its sync did not run or failed); "
            f"published as kept from earlier nights: {kept}"
        )
    return lines


def published_rows(engine: Engine) -> dict[str, int]:
    """Rows of every published table, named `unified.<table>`, as the ledger's latest row
    counted them when it published (the ledger's own rows are its `seq`)."""
    with engine.connect() as conn:
        latest = latest_run(conn)
    tables = json.loads(latest["record_counts"])["tables"]
    return {
        f"unified.{name}": n for name, n in {**tables, "publish_run": int(latest["seq"])}.items()
    }


def worker_name() -> str:
    """The hostname Airflow records for a task: `YIWANG_WORKER_NAME` when set (several workers
    on one machine, told apart), else the machine's name."""
    import socket

    return from_environment().worker_name or socket.getfqdn()
