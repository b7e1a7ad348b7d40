"""The DAG factory: one `sync_<source>` DAG per registered department, and `publish_unified`
scheduled on their staged assets, which updates the published asset. Wiring only; the work is
in `yiwang.airflow.tasks`.

A new department gets its DAG by registering. Parsing this file does no I/O: departments are
declarations, and every setting but the schedule is read when a task runs, connections
included (through Airflow's lookup, so one added later needs no new parse). A department
Airflow has no connection for still ends its night: its extract tasks skip, saying why, and
its staged asset says it staged nothing, so the publication never waits for it.

Each department's extract tasks run in its pool (`yiwang.airflow.pools`), which keeps a
contract's per-client request limit across workers.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from departments.registry import registry
from yiwang.airflow.lineage import lineage_task
from yiwang.airflow.pools import pool
from yiwang.settings import from_environment


def nightly(cron: str):
    """01:00 Beijing time by default; `YIWANG_SYNC_SCHEDULE` may name another cron, or `none`
    where the syncs are triggered from outside (the publish DAG still follows their assets)."""
    return None if cron == "none" else CronDataIntervalTimetable(cron, timezone="Asia/Shanghai")


START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEFAULTS = {
    "owner": "yiwang",
    "retries": 3,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=10),
}
AS_OF = {"as_of": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD")}


def staged(source: str) -> Asset:
    """The asset a source's sync updates once every stream is staged and validated (or its
    connection found missing): extra `as_of`, and `staged` false when nothing was."""
    return Asset(name=f"yiwang_staged_{source}", uri=f"yiwang://staged/{source}")


# what downstream DAGs and other deployments schedule on: extra `run_id`, `as_of`, `status`,
# `content_hash`, `chain_hash` of the snapshot just published
PUBLISHED = Asset(name="yiwang_published", uri="yiwang://published/unified")


def sync_dag(source: str, cron: str):
    connector = registry()[source]

    @dag(
        dag_id=f"sync_{source}",
        description=f"Nightly sync of {connector.title} into staging",
        schedule=nightly(cron),
        start_date=START,
        catchup=False,
        max_active_runs=1,  # incremental state: nights of one source run in order
        default_args=DEFAULTS,
        params=AS_OF,
        tags=["yiwang", "sync", source],
    )
    def sync_source():
        @task.sensor(poke_interval=15, timeout=6 * 3600, mode="reschedule")
        def earlier_nights_published(**context) -> bool:
            from yiwang.airflow.tasks import as_of_for, earlier_nights_published

            return earlier_nights_published(as_of_for(context))

        ready = earlier_nights_published()

        # also after its extracts skipped (no connection): the publication must not wait
        @task(outlets=[staged(source)], trigger_rule="none_failed")
        def mark_staged(checked: list[dict | None], **context) -> dict:
            from yiwang.airflow.tasks import as_of_for

            as_of, streams = f"{as_of_for(context)}", sum(1 for c in checked if c)
            extra = {"as_of": as_of, "staged": streams > 0}
            context["outlet_events"][staged(source)].extra = extra
            return {"source": source, "streams": streams, **extra}

        checked = []
        for stream in connector.streams:

            @lineage_task(task_id=f"extract_{stream.name}", pool=pool(source))
            def extract(stream_name: str = stream.name, **context) -> dict:
                from yiwang.airflow.tasks import as_of_for, extract_stream

                return extract_stream(source, stream_name, as_of_for(context))

            @task(task_id=f"validate_{stream.name}")
            def check(extracted: dict, stream_name: str = stream.name, **context) -> dict:
                from yiwang.airflow.tasks import as_of_for, validate_stream

                return validate_stream(source, stream_name, as_of_for(context))

            # tombstones are applied when records are read, not validated on their own
            extracted = extract()
            ready >> extracted
            checked.append(extracted if stream.deletes else check(extracted))
        mark_staged(checked)

    return sync_source()


def publish_dag(sources: list[str]):
    @dag(
        dag_id="publish_unified",
        description="Unify, gate and publish the night once every configured source is staged",
        schedule=_all_of([staged(s) for s in sources]),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULTS,
        params=AS_OF,
        tags=["yiwang", "publish"],
    )
    def publish_unified():
        @lineage_task(outlets=[PUBLISHED])
        def publish(**context) -> dict:
            from yiwang.airflow.tasks import as_of_for
            from yiwang.airflow.tasks import publish as publish_night

            done = publish_night(as_of_for(context))
            context["outlet_events"][PUBLISHED].extra = {
                k: done[k] for k in ("run_id", "as_of", "status", "content_hash", "chain_hash")
            }
            return done

        publish()

    return publish_unified()


def _all_of(assets: list[Asset]):
    condition = assets[0]
    for asset in assets[1:]:
        condition = condition & asset
    return condition


def build() -> dict[str, object]:
    cron = from_environment().sync_schedule  # the one setting read when the file is parsed
    dags = {f"sync_{name}": sync_dag(name, cron) for name in registry()}
    dags["publish_unified"] = publish_dag(list(registry()))
    return dags
