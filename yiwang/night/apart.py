"""The night's sources staged side by side, each in a process of its own.

Threads of one process share its interpreter lock. At `large`, staged in threads, the hotline's
SOAP decoding and the validation beside the staging kept housing, the paced source the night
waits for, from typing its pages: it staged 431k of its 2.32M records in 13 minutes, where its
contract's pace allows all of them in 4. A process each runs the sources on every core, and
housing's, asleep between its paced requests, is scheduled as soon as it wakes.

The processes are forked from a fork server started once per night's process with the
night's modules imported: a fork costs milliseconds, where a fresh interpreter would import
them again for every source. A source's process dies with the fork server, and the server
with the night's process: a SIGKILLed night leaves no source staging behind it.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import pickle
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import cache

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from connectors.core import Landing, RetryPolicy, SourceError, SyncResult
from yiwang.night.forked import die_with_parent
from yiwang.store.db import engine_for
from yiwang.store.lock import sqlite_file
from yiwang.store.publish import PublishError


class StagingFailed(PublishError):
    """A source's process failed for a reason of the hub's own (not the source's answer)."""


def executor(engine: Engine, sources: int) -> tuple[Executor, object]:
    """(a pool to stage `sources` sources side by side, the store as its tasks take it): a
    process each, or a thread each for a store only this process can open (in-memory
    SQLite)."""
    url = _shareable_url(engine)
    if url is None:
        return ThreadPoolExecutor(max(sources, 1), thread_name_prefix="extract"), engine
    pool = ProcessPoolExecutor(
        max(sources, 1), mp_context=_fork_server(), initializer=die_with_parent
    )
    return pool, url


def staged_apart(
    store: Engine | str,
    environ: dict[str, str],
    source: str,
    as_of: dt.date,
    landing: Landing | None,
    policy: RetryPolicy | None,
    rate_limits: bool,
) -> SyncResult:
    """One source staged, in whichever process runs this (`store`: the night's engine, or
    its URL in a process of the source's own)."""
    from yiwang.night.run import staged_held

    if not isinstance(store, str):
        return staged_held(store, environ, source, as_of, landing, policy, rate_limits)
    engine = engine_for(store, pool_size=2)
    try:
        return staged_held(engine, environ, source, as_of, landing, policy, rate_limits)
    except (SourceError, PublishError):
        raise
    except Exception as exc:
        # the first error of the database driver behind it, for the operator's line to name
        # (a lost connection, a refusal): an error comes back without its causes
        driver = _first_driver_error(exc)
        if driver is not None:
            raise driver from None
        if _survives_pickling(exc):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        raise StagingFailed(f"{source}: {type(exc).__name__}: {first}") from None
    finally:
        engine.dispose()


def _first_driver_error(exc: BaseException) -> BaseException | None:
    """The innermost error of the database driver that `exc` was raised from or while
    handling (as a traceback lists them), if it can be sent back."""
    found, seen = None, set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        driver = exc.orig if isinstance(exc, DBAPIError) else exc
        if type(driver).__module__.split(".")[0] in ("psycopg", "sqlite3"):
            found = driver if _survives_pickling(driver) else found
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return found


def _survives_pickling(exc: BaseException) -> bool:
    """Whether `exc` can be sent back to the night's process as it is."""
    try:
        pickle.loads(pickle.dumps(exc))  # our own error, made in this process
    except Exception:
        return False
    return True


def _shareable_url(engine: Engine) -> str | None:
    """The store's URL, unless only this process can open it (in-memory SQLite)."""
    if engine.dialect.name == "sqlite" and sqlite_file(engine) is None:
        return None
    return engine.url.render_as_string(hide_password=False)


@cache
def _fork_server() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["yiwang.night.run"])
    return context
