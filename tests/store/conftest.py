"""Published nights on both backends: an embedded SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from simulators.cluster import Cluster
from tests.conftest import AS_OF, PG_DSN
from yiwang.db import engine_for
from yiwang.night import run_night

FAST = {"housing": {"rate_per_s": 1e9}}


def night(url: str, world, as_of: dt.date, quality: Path, faults: float = 0.0):
    """One whole night of the simulated world into the store at `url`."""
    from tests.connectors.kit import FAST as POLICY

    engine = engine_for(url)
    with Cluster(world, as_of, fault_rate=faults, options=FAST) as cluster:
        result = run_night(
            engine, cluster.environment(), as_of, policy=POLICY, rate_limits=False,
            quality_dir=quality,
        )  # fmt: skip
    engine.dispose()
    return result


def _pg_admin():
    try:
        return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_DSN} ({exc}); `bin/dev postgres` starts it"
        )


@pytest.fixture(scope="session")
def published_small(world, tmp_path_factory):
    """The small world's night of AS_OF published once per backend: {backend: (url, result)}."""
    root = tmp_path_factory.mktemp("published")
    admin = _pg_admin()
    name = f"yiwang_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    urls = {
        "sqlite": f"sqlite:///{root / 'night.db'}",
        "postgres": f"{PG_DSN.rsplit('/', 1)[0]}/{name}",
    }
    out = {b: (u, night(u, world, AS_OF, root / f"quality-{b}")) for b, u in urls.items()}
    yield out
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


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
    admin = _pg_admin()
    name = f"yiwang_test_{uuid.uuid4().hex[:12]}"
    template = url.rsplit("/", 1)[1]
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (template,)
    )
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield f"{PG_DSN.rsplit('/', 1)[0]}/{name}"
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()
