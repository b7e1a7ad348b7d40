"""What a department's simulator declares: its server, the credentials it is started with, and
for each stream the world table it serves, which the conformance kit expects a connector to
end up holding and which gives the ground truth of where each record belongs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from simulators.servers.base import SimServer
from simulators.world.model import World


@dataclass(frozen=True)
class Served:
    stream: str  # the connector's stream
    table: str  # the world table it serves (latest version per `_key`, as of the day)
    record_type: str
    version: str | None = None  # the field the connector orders versions by; None: immutable
    epoch_ms: bool = False  # the version is epoch milliseconds (rendered as 15 digits)
    deleted: str | None = None  # its resource in the world's `deleted` table (tombstones)
    # which rows the server serves at all (e.g. no payment before the treasury's first day)
    serves: Callable[[pd.DataFrame], pd.Series] | None = None


@dataclass(frozen=True)
class Simulator:
    server: type[SimServer]
    credentials: tuple[str, ...]  # what the server is constructed with, after world and day
    served: tuple[Served, ...]
    # the tables this department adds to the shared world (its records, with `_key`, `_ts`,
    # `_project` and `_bad`), derived deterministically from the world's seed and projects
    tables: Callable[[World], dict[str, pd.DataFrame]] | None = None
