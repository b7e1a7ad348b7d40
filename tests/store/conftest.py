"""Both backends for the store tests, and private copies of a published store to change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import clone_database, drop_database
from yiwang.db import engine_for


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def store_copy(backend, published_small, tmp_path):
    """A private copy of the published store (to tamper with, or to publish more into)."""
    url, _ = published_small[backend]
    if backend == "sqlite":
        source = Path(url.removeprefix("sqlite:///"))
        engine_for(url).dispose()
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copy(f"{source}{suffix}", tmp_path / f"copy.db{suffix}")
        yield f"sqlite:///{tmp_path / 'copy.db'}"
        return
    copy = clone_database(url)
    yield copy
    drop_database(copy)
