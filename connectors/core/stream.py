"""Declarations: a connector is a name, a connection id, an auth strategy and typed streams.

Imperative code (requests, retries, paging, state, landing) lives once in the framework; a
connector package only fills these in (the Singer SDK `Stream` idea, without templates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from connectors.core.auth import Auth
from connectors.core.connection import ConnectionSettings
from connectors.core.formats import GbkCsv, JsonItems
from connectors.core.http import Fetched

if TYPE_CHECKING:
    from connectors.core.sync import StreamReader


@dataclass
class Page:
    """One response: as received (for landing) and as a typed frame (for staging)."""

    seq: int
    fetched: Fetched
    doc: dict  # the decoded envelope (totals, cursors); empty for CSV
    frame: pd.DataFrame


@dataclass(frozen=True)
class Checkpoint:
    """Incremental state that is true once every page yielded before it is stored."""

    state: dict[str, Any]


class Paginator(Protocol):
    def pages(
        self, reader: StreamReader, state: dict[str, Any] | None
    ) -> Iterator[Page | Checkpoint]: ...


@dataclass(frozen=True)
class Stream:
    name: str  # unique within its connector, e.g. "projects"
    record_type: str  # the unified dataset's record_type, e.g. "project"
    path: str  # appended to the connection's base URL
    key: str  # the field that identifies a record (trimmed before use)
    fields: tuple[str, ...]  # the contract's fields, in contract order
    paginator: Paginator
    format: JsonItems | GbkCsv
    version: str | None = None  # field ordering versions of one key; None: immutable records
    epoch_ms: tuple[str, ...] = ()  # fields carrying epoch milliseconds
    params: Mapping[str, str] = field(default_factory=dict)  # sent with every request
    deletes: str | None = None  # a tombstone stream: the stream whose keys it deletes
    sensitive: tuple[str, ...] = ()  # fields masked wherever records are shown
    # request parameters copied onto every record as `_<param>` (what the record was asked for)
    request_context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Connector:
    name: str  # short system name: drc, treasury, ...
    title: str
    conn_id: str  # Airflow connection id
    auth: Callable[[ConnectionSettings], Auth]
    streams: tuple[Stream, ...]
    rate_per_s: float | None = None  # the system's published request rate limit, per client
    # processes that may read the system at once (Airflow's pool for it has as many slots),
    # each pacing at `rate_per_s / clients`: the limit is per client, and they share one
    # client's credentials. None: no limit to share, as many as it has streams
    clients: int | None = None

    @property
    def parallel(self) -> int:
        """How many of its streams may be read at once, by as many processes."""
        return self.clients or len(self.streams)

    def one_of_clients(self) -> Connector:
        """The connector as one of `parallel` processes reading at once sees it: its even
        share of the rate limit (its client paces under it, as every client does:
        `connectors.core.http.ARRIVAL_JITTER_S`)."""
        if not self.rate_per_s or self.parallel == 1:
            return self
        return replace(self, rate_per_s=self.rate_per_s / self.parallel)

    def stream(self, name: str) -> Stream:
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(f"{self.name} has no stream {name!r}")
