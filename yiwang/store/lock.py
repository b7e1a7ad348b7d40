"""One night at a time per store: the store lock, the migrations' lock, and the mark of the
latest night staging holds.

The rule. Every step of a night (a source's staging, the publish) holds the store lock for
its night's as-of date; steps of the *same* night share it (Airflow stages the sources side
by side, in separate processes), a step of *another* night is refused at once with one
line naming the holder, or waits for it as long as its caller says (`YIWANG_NIGHT_LOCK_WAIT_S`
at the edge). A whole night run in
one process (`run_night`, `yiwang run`) holds it alone from its first staging to its publish
commit, so a second `yiwang run`, even of the same day, is refused too.

A lock held step by step cannot span the gap between Airflow's tasks: night D+1's sync may
stage after D's syncs and before D's publish. So every staged write also marks, in the same
transaction, the latest night staging holds records of; a publish of D refuses when that mark
is later than D (`refuse_staged_ahead`), rather than publish D+1's records as D's snapshot.

PostgreSQL: advisory locks (they end with the session that holds them), one session per
holder; the holder's night, pid and host are its `application_name`. SQLite: `flock` on a file
beside the database (ended by the process's death too); the holder's details are in the file.
An in-memory SQLite database is one process's own: it needs no lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yiwang.store.publish import PublishError, latest_run
from yiwang.store.staging import DbSink
from yiwang.store.tables import stream_state

WAIT_ENV = "YIWANG_NIGHT_LOCK_WAIT_S"  # named to the operator a busy store refuses
# advisory lock keys: (namespace, what); the namespace is fixed, derived from a name
NAMESPACE = int.from_bytes(hashlib.sha256(b"yiwang.store").digest()[:4], "big") & 0x7FFFFFFF
GATE, NIGHT = 1, 2  # GATE: held a moment to enter, and by a migration; NIGHT: by the night
POLL_S = 0.5
# the mark of the latest night staged: a row of stream_state no stream can have
MARK = ("~staging", "~night")


class StoreBusy(PublishError):
    """Another night holds the store (and nothing was done)."""


class StagedAhead(PublishError):
    """Staging holds records of a night later than the one being published."""


@dataclass(frozen=True)
class Holder:
    night: str | None  # its as-of date, None when it could not be read
    whole: bool  # a whole night in one process, not one step of it
    pid: str
    host: str
    since: dt.datetime | None

    def busy(self) -> StoreBusy:
        which = f"the night of {self.night}" if self.night else "another night"
        since = f", since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return StoreBusy(
            f"the store is busy with {which} (pid {self.pid} on {self.host}{since}); wait for it "
            f"to finish and run again, or set {WAIT_ENV} to the seconds to wait for it"
        )


_held = threading.local()  # per thread: {store: night} this thread holds (re-entry is free)


@contextmanager
def store_lock(
    engine: Engine, as_of: dt.date, whole_night: bool = False, wait: float = 0.0
) -> Iterator[None]:
    """Hold the store for the night of `as_of` (see the module's rule); `wait`: seconds to
    wait for another night's hold (0: refused at once), then `StoreBusy`."""
    night, key = f"{as_of}", engine.url.render_as_string(hide_password=False)
    held: dict[str, str] = _held.__dict__.setdefault("stores", {})
    if key in held:  # a step inside this thread's own night (`run_night` → `stage_source`)
        if held[key] != night:
            raise PublishError(f"this process holds the store for the night of {held[key]}")
        yield
        return
    lock = _lock_for(engine)
    if lock is None:
        yield
        return
    with lock:
        _enter(lock, night, whole_night, wait)
        held[key] = night
        try:
            yield
        finally:
            del held[key]


def _enter(lock: _PgLock | _FileLock, night: str, whole: bool, wait: float) -> None:
    """Enter `lock` for `night`, polling while another night holds it, up to `wait` seconds
    (then `StoreBusy`, naming the holder)."""
    deadline = time.monotonic() + wait
    while (holder := lock.enter(night, whole)) is not None:
        if time.monotonic() >= deadline:
            raise holder.busy()
        time.sleep(POLL_S)


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction for the migrations that no other migration runs beside."""
    path = sqlite_file(engine)
    if path is not None:
        with flocked(Path(f"{path}.lock")), engine.begin() as connection:
            yield connection
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # released at commit
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({NAMESPACE}, {GATE})")
        yield connection


def sqlite_file(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return None if not database or database == ":memory:" or "mode=memory" in database else database


def _lock_for(engine: Engine) -> _PgLock | _FileLock | None:
    if engine.dialect.name == "postgresql":
        return _PgLock(engine)
    path = sqlite_file(engine)
    return _FileLock(Path(path)) if path else None


def _me(night: str, whole: bool) -> dict:
    return {
        "night": night, "whole": whole, "pid": os.getpid(), "host": socket.gethostname(),
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


class _FileLock:
    """`<db>.lock`: the gate, held a moment by each who enters and by a migration;
    `<db>.night.lock`: held shared by the steps of one night, or alone by a whole night; its
    text names the night and its first holder."""

    def __init__(self, database: Path) -> None:
        self.gate = Path(f"{database}.lock")
        self.path = Path(f"{database}.night.lock")

    def __enter__(self) -> _FileLock:
        self.fd = _open(self.path)
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # the flock ends with it

    def enter(self, night: str, whole: bool) -> Holder | None:
        with flocked(self.gate):
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder()
                if whole or holder.whole or holder.night != night:
                    return holder
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    return None
                except BlockingIOError:
                    return holder
            # nobody holds it: it is this night's now
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, json.dumps(_me(night, whole)).encode(), 0)
            if not whole:  # under the gate, so nobody slips in between
                fcntl.flock(self.fd, fcntl.LOCK_SH)
            return None

    def _holder(self) -> Holder:
        try:
            text = os.pread(self.fd, 4096, 0).decode()
            doc = json.loads(text)
            since = dt.datetime.fromisoformat(doc["since"]).astimezone(dt.UTC)
            return Holder(doc["night"], doc["whole"], str(doc["pid"]), doc["host"], since)
        except (ValueError, KeyError, TypeError):
            return Holder(None, True, "unknown", "unknown", None)


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise PublishError(
            f"cannot open the store's lock file {path} ({exc.strerror}); make its directory "
            "writable for the night's user"
        ) from None


@contextmanager
def flocked(path: Path) -> Iterator[None]:
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class _PgLock:
    """Advisory locks on a session of their own, held for the lock's life."""

    HOLDERS = """
        SELECT a.application_name, a.query_start, l.pid FROM pg_locks l
        JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 2
    """

    def __init__(self, engine: Engine) -> None:
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def __enter__(self) -> _PgLock:
        import psycopg

        self.conn = psycopg.connect(self.url, autocommit=True)
        return self

    def __exit__(self, *exc) -> None:
        # released before closing: a closed session's locks go only when its server process
        # has exited, after `close` returns, and the next night must not find them held
        with contextlib.suppress(Exception):  # a session already lost holds nothing
            self.conn.execute("SELECT pg_advisory_unlock_all()")
        self.conn.close()

    def enter(self, night: str, whole: bool) -> Holder | None:
        conn, me = self.conn, _me(night, whole)
        # what the holders' query shows of this one, the moment it holds: at most 63 bytes
        name = f"yiwang {night} {'night' if whole else 'step'} {me['pid']} {me['host']}"
        conn.execute("SELECT set_config('application_name', %s, false)", (name[:63],))
        conn.execute("SELECT pg_advisory_lock(%s, %s)", (NAMESPACE, GATE))
        try:
            holders = [_parsed(*row) for row in conn.execute(self.HOLDERS, (NAMESPACE, NIGHT))]
            other = next((h for h in holders if whole or h.whole or h.night != night), None)
            if other:
                return other
            mode = "" if whole else "_shared"
            got = conn.execute(
                f"SELECT pg_try_advisory_lock{mode}(%s, %s)", (NAMESPACE, NIGHT)
            ).fetchone()
            if got and got[0]:
                return None
            return holders[0] if holders else Holder(None, True, "unknown", "unknown", None)
        finally:  # its last statement: the holders' query reads its `query_start` as `since`
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (NAMESPACE, GATE))


def _parsed(name: str | None, since: dt.datetime | None, backend: int) -> Holder:
    parts = (name or "").split(" ", 4)
    when = since.astimezone(dt.UTC) if since else None
    if len(parts) == 5 and parts[0] == "yiwang":
        return Holder(parts[1], parts[2] == "night", parts[3], parts[4], when)
    return Holder(None, True, f"{backend} (server)", "unknown", when)


class HeldFromFirstWrite:
    """The store lock of one step of a night (an Airflow sync task), taken before its first
    staged write and held until `release`: a step whose source does not answer (a dead
    system retried for minutes, a night that will fail) holds nothing, so other nights'
    steps are not kept waiting by it. Thread-safe: the sink writes from a thread of its own."""

    def __init__(self, engine: Engine, as_of: dt.date, wait: float) -> None:
        self.engine, self.night, self.wait = engine, f"{as_of}", wait
        self._mutex = threading.Lock()
        self._lock: _PgLock | _FileLock | None = None

    def take(self) -> None:
        with self._mutex:
            if self._lock is not None:
                return
            lock = _lock_for(self.engine)
            if lock is None:
                return
            lock.__enter__()
            try:
                _enter(lock, self.night, False, self.wait)
            except BaseException:
                lock.__exit__()
                raise
            self._lock = lock

    def release(self) -> None:
        with self._mutex:
            if self._lock is not None:
                self._lock.__exit__()
                self._lock = None


class NightSink(DbSink):
    """`DbSink` whose every write of records also marks, in its transaction, the night they
    are staged for: staging never holds a record of a night later than its mark. `hold`, when
    given, is taken before each write (see `HeldFromFirstWrite`)."""

    def __init__(self, *args, hold: HeldFromFirstWrite | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hold = hold

    def _write(self, *args, **kwargs) -> None:
        if self.hold is not None:
            self.hold.take()
        super()._write(*args, **kwargs)

    def _upsert(self, conn: Connection, rows: list[tuple]) -> None:
        super()._upsert(conn, rows)
        mark_staged(conn, self.run_id)


def mark_staged(conn: Connection, night: str) -> None:
    """Raise the mark of the latest night staged to `night` (never lower it)."""
    source, stream = MARK
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(stream_state)
        .values(source=source, stream=stream, state=json.dumps({"staged": night}), run_id=night)
        .on_conflict_do_nothing()
    )
    mark = (stream_state.c.source == source) & (stream_state.c.stream == stream)
    conn.execute(
        update(stream_state)
        .where(mark, stream_state.c.run_id < night)
        .values(state=json.dumps({"staged": night}), run_id=night)
    )


def staged_night(conn: Connection) -> str | None:
    """The latest night staging holds records of (None: none marked)."""
    source, stream = MARK
    query = select(stream_state.c.run_id).where(
        stream_state.c.source == source, stream_state.c.stream == stream
    )
    return conn.execute(query).scalar()


def refuse_staged_ahead(engine: Engine, as_of: dt.date) -> None:
    """Refuse to publish `as_of` from a staging that holds records of a later night not yet
    published (a later one published is refused by the ledger's own check)."""
    with engine.connect() as conn:
        staged = staged_night(conn)
        if staged is None or staged <= f"{as_of}":
            return
        last = latest_run(conn)
    if last and f"{last['as_of_date']}" >= staged:
        return
    raise StagedAhead(
        f"staging holds records of the night of {staged}, later than {as_of}: its snapshot "
        f"would mix the two nights; publish the night of {staged} instead"
    )
