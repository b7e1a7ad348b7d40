"""What a night takes of the hub's settings, passed down from the edge.

The CLI and Airflow's tasks build it from the hub's settings (`Settings.night_options()`);
tests and benchmarks build it as they need. The night itself never reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NightOptions:
    # validated streams kept between nights (PostgreSQL); None: every record validated afresh
    kept: Path | None = None
    # the quality gate in a process beside snapshot and publish (False: in turn, less memory)
    gate_beside: bool = True
    # file each publication and withdrawal appends its ledger head to; None: none written
    ledger_heads: Path | None = None
    # seconds a step waits for another night's hold on the store before it is refused
    lock_wait_s: float = 0.0


# a night with nothing set: nothing kept, the gate beside, no heads file, never waiting
DEFAULTS = NightOptions()
