"""Settings read at the edge (environment), passed everywhere else as arguments."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Where Yiwang keeps its files (world cache, landing, the embedded database).

    `YIWANG_DATA_DIR`, default `./data` under the current directory.
    """
    return Path(os.environ.get("YIWANG_DATA_DIR", "data")).resolve()
