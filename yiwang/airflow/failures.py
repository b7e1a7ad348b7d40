"""Which failures Airflow retries. A retry helps only what can change by itself (a system that
is down or slow, a store another night holds); a missing or wrong connection, credentials the
system refuses, an interface that drifted, a date that is not a night, a gate that failed fail
the task at once, so that someone hears of it in seconds, not after three back-offs. (A store
that refuses our password looks like one that is down, and is retried.)"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.exc import ArgumentError

from connectors.core.connection import ConnectionConfigError
from connectors.core.errors import FatalSourceError
from schemas.validate import SchemaDriftError
from yiwang.store.lock import StoreBusy
from yiwang.store.publish import PublishError

NOT_RETRIED = (
    ConnectionConfigError,
    FatalSourceError,
    SchemaDriftError,
    PublishError,
    ArgumentError,  # a YIWANG_DATABASE_URL that is no database URL
)
RETRIED = (StoreBusy,)  # a PublishError that waiting cures


@contextlib.contextmanager
def failing_fast() -> Iterator[None]:
    """Turns a failure no retry can cure into `AirflowFailException` (its one line kept)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except RETRIED:
        raise
    except NOT_RETRIED as exc:
        raise AirflowFailException(f"{exc} [not retried: {type(exc).__name__}]") from None
