"""The DAG factory: one `sync_<source>` DAG per registered department, and `publish_unified`
scheduled on the staged assets of the departments whose connection is configured. Wiring
only; the work is in `yiwang.airflow.tasks`.

A new department gets its DAG by registering. Parsing this file does no I/O: departments are
declarations, and every setting but the schedules is read when a task runs. A department whose
connection is not configured keeps its DAG (its extract tasks skip, saying why), and the
publication does not wait for it.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from departments.registry import configured, registry
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
    """The asset a source's sync updates once every stream is staged and validated."""
    return Asset(name=f"yiwang_staged_{source}", uri=f"yiwang://staged/{source}")


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

        @task(outlets=[staged(source)])
        def mark_staged(checked: list[dict], **context) -> dict:
            from yiwang.airflow.tasks import as_of_for

            as_of = f"{as_of_for(context)}"
            context["outlet_events"][staged(source)].extra = {"as_of": as_of}
            return {"source": source, "as_of": as_of, "streams": len(checked)}

        checked = []
        for stream in connector.streams:

            @task(task_id=f"extract_{stream.name}")
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
        @task
        def publish(**context) -> dict:
            from yiwang.airflow.tasks import as_of_for
            from yiwang.airflow.tasks import publish as publish_night

            return publish_night(as_of_for(context))

        publish()

    return publish_unified()


def _all_of(assets: list[Asset]):
    condition = assets[0]
    for asset in assets[1:]:
        condition = condition & asset
    return condition


def build() -> dict[str, object]:
    cron = from_environment().sync_schedule  # the settings read when the file is parsed:
    waited_for, _ = configured(os.environ)  # the schedule and which connections are set
    dags = {f"sync_{name}": sync_dag(name, cron) for name in registry()}
    dags["publish_unified"] = publish_dag(waited_for or list(registry()))
    return dags
