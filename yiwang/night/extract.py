"""Extract one source: the night's one way to call the connector framework's `sync`.

`yiwang run` (through `stage_source`), `yiwang evaluate`, `yiwang extract`, Airflow's
per-stream tasks and the benchmarks all come here. Each caller resolves the source's
connection settings itself (from `AIRFLOW_CONN_*`, or the simulators' environment) and picks
the sink (staging, a night's lock held from its first write, or a local folder).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from connectors.core import (
    ConnectionSettings,
    Connector,
    Landing,
    RetryPolicy,
    Sink,
    SyncResult,
    sync,
)
from connectors.core.sync import ProgressHook


def extract_source(
    connector: Connector,
    settings: ConnectionSettings,
    sink: Sink,
    as_of: dt.date,
    run_id: str,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    rate_limits: bool = True,
    streams: Iterable[str] | None = None,
    progress: ProgressHook | None = None,
) -> SyncResult:
    """Read `connector`'s streams (all, or `streams`) incrementally into `sink` as of
    `as_of`; pages land raw under `landing` when given. `rate_limits=False` lifts the
    connector's own request rate: the simulators and benchmarks lift the servers' limit too,
    and a night against them is not about the limit."""
    if not rate_limits:
        connector = dataclasses.replace(connector, rate_per_s=None)
    return sync(
        connector, settings, sink, as_of, run_id, landing, policy, streams=streams,
        progress=progress,
    )  # fmt: skip
