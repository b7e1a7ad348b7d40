"""One night in a process of its own, so that a drill can SIGKILL it anywhere.

    python -m tests.drills.night_process <database url> <as-of> <data dir>

The departmental connections come from the environment (`AIRFLOW_CONN_*`). Each stage is
announced on stdout as it starts ("stage <name>"), so the drill knows where its kill landed;
the sources are staged side by side, as one stage ("stage extract").
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from connectors.core import Landing
from tests.connectors.kit import FAST
from yiwang.night.run import run_night
from yiwang.store.db import engine_for


def main() -> None:
    url, as_of, data = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), Path(sys.argv[3])
    print("stage start", flush=True)
    said: list[str] = []

    def announce(what: str) -> None:
        stage = "extract" if what.startswith("extract") else what
        if not said or said[-1] != stage:
            said.append(stage)
            print(f"stage {stage}", flush=True)

    result = run_night(
        engine_for(url), dict(__import__("os").environ), as_of,
        Landing(data / "landing", f"{as_of}"), policy=FAST, rate_limits=False,
        quality_dir=data / "quality", progress=announce,
    )  # fmt: skip
    print(f"done {result.published.status} {result.published.content_hash}", flush=True)


if __name__ == "__main__":
    main()
