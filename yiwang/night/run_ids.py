"""Run ids: every format the hub names a run by, written once.

The ledger, staging, landing folders and the tests hold these ids, so each stays byte for byte
what it has always been. A night's id is its as-of date in ISO form: the store lock and the
staging mark (`yiwang.store.lock`) compare it with dates as text.
"""

from __future__ import annotations

import datetime as dt

# kind -> format, over `as_of`, `source` and `at` (the moment a run by hand started)
FORMATS = {
    "night": "{as_of}",  # staging, landing and the ledger: `2026-11-23`
    "evaluate": "evaluate-{as_of}",  # `yiwang evaluate`'s local sink
    "extract": "extract-{source}-{as_of:%Y%m%d}-{at:%H%M%S}",  # `yiwang extract`'s landing
    "bench": "bench",  # the benchmarks' throwaway sinks and landings
}


def run_id_for(
    as_of: dt.date,
    kind: str = "night",
    *,
    run: int = 1,
    source: str = "",
    at: dt.datetime | None = None,
) -> str:
    """The id of a run of `kind` for the night of `as_of`. A night published again (over
    changed data, or after a withdrawal) is its `run`th run: `2026-11-23.2`."""
    if kind not in FORMATS:
        raise ValueError(f"no run id of kind {kind!r}; known: {', '.join(FORMATS)}")
    if kind == "extract" and (not source or at is None):
        raise ValueError("an extract's run id names its source and the moment it started")
    run_id = FORMATS[kind].format(as_of=as_of, source=source, at=at)
    return f"{run_id}.{run}" if kind == "night" and run > 1 else run_id


def withdrawal_of(run_id: str) -> str:
    """The ledger's id for the withdrawal of `run_id`."""
    return f"{run_id}.withdrawn"
