"""Shared fixtures: the simulated world and servers, and a fresh PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from simulators.cluster import Cluster
from simulators.world import World, generate_world
from yiwang.store.db import engine_for

AS_OF = dt.date(2026, 11, 23)
PG_DSN = os.environ.get("YIWANG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# The longest files, started first: `bin/dev test` runs the suite on two xdist workers, a file
# per worker at a time in this order, so these run beside the many short ones, not after.
# `test_run` stages the medium world for the run (`medium_staged`); the other files that read
# it come later in the default order, when it is ready.
LONGEST_FIRST = (
    "tests/night/test_run.py",
    "tests/airflow/test_backfill.py",
    "tests/airflow/test_celery_scale_out.py",
    "tests/store/test_integrity.py",
    "tests/drills/test_wrong_data.py",
    "tests/airflow/test_airflow_e2e.py",
    "tests/drills/test_kills.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture(scope="session", autouse=True)
def kept_validated_streams_apart(tmp_path_factory) -> None:
    """The suite's PostgreSQL nights keep their validated streams in a temporary folder, not
    in the checkout's `data/validated` (a night's subprocesses inherit the setting)."""
    os.environ.setdefault("YIWANG_KEPT_DIR", str(tmp_path_factory.mktemp("validated")))


@pytest.fixture(scope="session", autouse=True)
def api_files_apart(tmp_path_factory) -> None:
    """An app made without `docs_dir` keeps its files (exports) under the run's temporary
    folder, not in the working tree's `data/`."""
    import yiwang.api.app

    yiwang.api.app.QUALITY_DIR = tmp_path_factory.mktemp("data") / "quality"


@pytest.fixture(scope="session")
def world() -> World:
    return generate_world("small", 7)


@pytest.fixture(scope="session")
def medium_world() -> World:
    """Large enough that every rare quirk happens (~10k projects)."""
    return generate_world("medium", 3)


@pytest.fixture(scope="session")
def medium_staged(medium_world: World, tmp_path_factory):
    """The medium world (every quirk happens) read by every department's connector, as of AS_OF and
    as of nine days earlier: (earlier sink, AS_OF sink).

    The AS_OF night goes on from the earlier one's sink, as a production night does (a full
    read costs a minute, most of it the hotline's 2,855 windows). Read once per test run, not
    once per xdist worker: the first worker to ask stages it in the run's shared temporary
    folder, under a lock the others wait on, and every worker reads the sinks' files."""
    from connectors.core import LocalSink
    from tests.connectors.kit import stage_all

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "medium-staged"
    with (shared / "medium-staged.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "complete").exists():
            shutil.rmtree(root, ignore_errors=True)
            stage_all(medium_world, AS_OF - dt.timedelta(days=9), root / "earlier")
            # the later night as production reads it: on from the earlier one's state
            shutil.copytree(root / "earlier", root / "now")
            stage_all(medium_world, AS_OF, root / "now")
            (root / "complete").touch()
    return LocalSink(root / "earlier"), LocalSink(root / "now")


@pytest.fixture
def cluster(world: World):
    """Every department's simulator as of AS_OF, fault-free, on ephemeral loopback ports."""
    with Cluster(world, AS_OF) as c:
        yield c


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database on the local server; dropped afterwards.

    Fails (never skips) when the server is missing: a PostgreSQL test that silently skips
    proves nothing. `.ci/run` starts the server before the suite.
    """
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_DSN} ({exc}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
        )
    name = f"yiwang_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def night(url: str, world, as_of: dt.date, quality: Path, faults: float = 0.0, options=None):
    """One whole night of the simulated world into the store at `url`, with the options an
    edge passes down (default: validated streams kept between nights, as the CLI's are)."""
    from tests.connectors.kit import FAST as POLICY
    from yiwang.night.options import NightOptions
    from yiwang.night.run import run_night
    from yiwang.store.db import engine_for

    engine = engine_for(url)
    options = options or NightOptions(kept=Path(os.environ["YIWANG_KEPT_DIR"]))
    with Cluster(world, as_of, fault_rate=faults, rate_limits=False) as cluster:
        result = run_night(
            engine, cluster.environment(), as_of, policy=POLICY, rate_limits=False,
            quality_dir=quality, options=options,
        )  # fmt: skip
    engine.dispose()
    return result


def pg_admin():
    try:
        return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_DSN} ({exc}); `bin/dev postgres` starts it"
        )


def clone_database(url: str) -> str:
    """A new PostgreSQL database copied from the one at `url` (its connections are ended)."""
    admin = pg_admin()
    name = f"yiwang_test_{uuid.uuid4().hex[:12]}"
    template = url.rsplit("/", 1)[1]
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (template,)
    )
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.close()
    return f"{PG_DSN.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    admin = pg_admin()
    admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def published_small(world, tmp_path_factory):
    """The small world's night of AS_OF published once per backend: {backend: (url, result)}."""
    root = tmp_path_factory.mktemp("published")
    admin = pg_admin()
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


def eventually(condition, seconds: float = 10.0) -> bool:
    """Whether `condition()` holds within `seconds` (polled every 50 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class SnapshotReader:
    """A downstream reader polling the store in a thread while nights publish: each read, in
    one transaction, checks that every table holds the row count the latest ledger row says
    (a partial snapshot cannot). `errors` lists what it saw wrong, `seen` the runs it saw."""

    def __init__(self, url: str) -> None:
        from yiwang.store.db import engine_for, is_postgres

        engine = engine_for(url)
        if is_postgres(engine):
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        self.engine, self.errors, self.seen = engine, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        from yiwang.store.db import qualified

        while not self._stop.is_set():
            try:
                with self.engine.connect() as conn, conn.begin():
                    ledger = qualified(conn, "unified", "publish_run")
                    latest = conn.exec_driver_sql(
                        f"SELECT run_id, record_counts FROM {ledger} ORDER BY seq DESC LIMIT 1"
                    ).one_or_none()
                    if latest is None:
                        continue
                    tables = json.loads(latest.record_counts)["tables"]
                    for name, rows in tables.items():
                        n = conn.exec_driver_sql(
                            f"SELECT COUNT(*) FROM {qualified(conn, 'unified', name)}"
                        ).scalar_one()
                        if n != rows:
                            self.errors.append(
                                f"{latest.run_id}: {name} has {n}, snapshot says {rows}"
                            )
                    self.seen.append(latest.run_id)
            except Exception as exc:  # any failure of a reader is the finding
                self.errors.append(repr(exc))

    def __enter__(self) -> SnapshotReader:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()


# ---- both backends, and private copies of a published store to change --------------------
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
