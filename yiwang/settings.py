"""Settings read at the edge (environment), passed everywhere else as arguments."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Where Yiwang keeps its files (world cache, landing, the embedded database).

    `YIWANG_DATA_DIR`, default `./data` under the current directory.
    """
    return Path(os.environ.get("YIWANG_DATA_DIR", "data")).resolve()


def kept_dir() -> Path:
    """Where validated streams are kept between nights (`yiwang.store.kept`).

    `YIWANG_KEPT_DIR`, default `<data dir>/validated`: a cache, safe to delete (the next
    night then validates every record again).
    """
    kept = os.environ.get("YIWANG_KEPT_DIR")
    return Path(kept).resolve() if kept else data_dir() / "validated"


def gate_beside() -> bool:
    """Whether a night into a published store runs its quality gate in a process beside the
    snapshot and publishing (`yiwang.night.run`): at `large` its incremental night took 25.2-26.6 s
    beside and 26.8-29.2 s in turn, and peaked at 3.2 GB against 2.3 GB.

    `YIWANG_GATE_BESIDE`, default `1`; `0` runs it in the night's own process, in turn.
    """
    return os.environ.get("YIWANG_GATE_BESIDE", "1").strip() not in ("0", "false", "no", "")


def ledger_heads() -> Path | None:
    """The file every publish and withdrawal appends its ledger head to (`yiwang.store.anchor`),
    kept outside the database so `yiwang verify --heads` can tell a rewritten ledger.

    `YIWANG_LEDGER_HEADS`, unset by default (no file written).
    """
    heads = os.environ.get("YIWANG_LEDGER_HEADS", "").strip()
    return Path(heads).resolve() if heads else None
