"""A whole night of the simulated world with the options an edge passes down (`tests.conftest`'s
`night` passes none: nothing kept, the gate beside, no heads written)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from simulators.cluster import Cluster
from tests.connectors.kit import FAST as POLICY
from yiwang.night.options import NightOptions
from yiwang.night.run import NightResult, run_night
from yiwang.store.db import engine_for


def night(url: str, world, as_of: dt.date, quality: Path, options: NightOptions) -> NightResult:
    engine = engine_for(url)
    with Cluster(world, as_of, rate_limits=False) as cluster:
        result = run_night(
            engine, cluster.environment(), as_of, policy=POLICY, rate_limits=False,
            quality_dir=quality, options=options,
        )  # fmt: skip
    engine.dispose()
    return result
