"""Running a connector: pages in, typed frames to a sink, state committed with its data."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from connectors.core.answers import ContractAnswer
from connectors.core.connection import ConnectionSettings
from connectors.core.errors import SourceError
from connectors.core.formats import record_frame
from connectors.core.http import Decoder, Fetched, HttpClient, RetryPolicy
from connectors.core.landing import Landing, read_pages
from connectors.core.state import Sink
from connectors.core.stream import Checkpoint, Connector, Page, Stream


@dataclass
class StreamStats:
    records: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    parse_s: float = 0.0  # CPU seconds decoding bodies and typing records (inside `seconds`)
    stage_s: float = 0.0  # handing frames to the sink and its commits (inside `seconds`)
    checkpoints: int = 0
    unknown_fields: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


@dataclass
class SyncResult:
    source: str
    run_id: str
    as_of: dt.date
    streams: dict[str, StreamStats]
    requests: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0
    started_at: float = 0.0  # wall clock (seconds since the epoch): when the read began

    @property
    def records(self) -> int:
        return sum(s.records for s in self.streams.values())

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.streams.values())

    def retried(self) -> str:
        """What was retried, by reason: `HTTP 503 ×2, transport failure ×1`, or `none`."""
        return ", ".join(f"{why} ×{n}" for why, n in self.retry_reasons.items()) or "none"


class StreamReader:
    """What a paginator may use: fetch a page of its stream, and note what it noticed."""

    def __init__(
        self,
        connector: Connector,
        stream: Stream,
        client: HttpClient,
        as_of: dt.date,
        landing: Landing | None,
        stats: StreamStats,
    ) -> None:
        self.connector, self.stream, self.client = connector, stream, client
        self.as_of, self.landing, self.stats = as_of, landing, stats

    def page_size(self, declared: int) -> int:
        """The paginator's page size, or the connection's `page_size` when that is smaller."""
        wanted = self.client.settings.page_size
        return min(declared, wanted) if wanted else declared

    def fetch(self, params: dict[str, Any], decode: Decoder | None = None) -> Page:
        return self.accept(self.request(params, decode))

    def request(
        self,
        params: dict[str, Any],
        decode: Decoder | None = None,
        answers: Sequence[ContractAnswer] = (),
    ) -> Fetched:
        """The HTTP half of `fetch`: safe to call from several threads at once. `answers`: the
        non-success answers the contract gives this request (any other status fails it)."""
        s = self.stream
        return self.client.get(s.path, {**s.params, **params}, decode or s.format.decode, answers)

    def accept(self, fetched: Fetched) -> Page:
        """The bookkeeping half of `fetch` (numbering, typing, landing), in page order."""
        return self.accept_many([fetched])

    def accept_many(self, responses: list[Fetched]) -> Page:
        """Several responses, in order, as one typed page (the last one's envelope)."""
        s = self.stream
        parts, any_garbled, doc = [], False, {}
        for fetched in responses:
            doc, records, garbled = fetched.decoded
            fetched.decoded = None
            parts.append(_with_context(records, fetched.request, s.request_context))
            any_garbled |= garbled
            self.stats.pages += 1
            self.stats.bytes += len(fetched.body)
            if self.landing is not None:
                self.landing.write(self.connector.name, s.name, self.stats.pages, fetched)
        t0 = time.thread_time()
        records = _concat(parts)
        frame, unknown = record_frame(records, s.fields, s.key, s.version, s.epoch_ms, any_garbled)
        self.stats.parse_s += time.thread_time() - t0 + sum(f.decode_s for f in responses)
        self.stats.records += len(frame)
        self.stats.unknown_fields |= unknown
        return Page(self.stats.pages, responses[-1], doc, frame)

    def note(self, text: str) -> None:
        self.stats.notes.append(text)


def _with_context(records, request: str, params: tuple[str, ...]):
    if not params:
        return records
    query = {k: v[-1] for k, v in parse_qs(urlsplit(request).query).items()}
    values = {f"_{p}": query.get(p) for p in params}
    if isinstance(records, pd.DataFrame):
        return records.assign(**values)
    return [{**r, **values} if isinstance(r, dict) else r for r in records]


def _concat(parts: list) -> list | pd.DataFrame:
    if len(parts) == 1:
        return parts[0]
    if all(isinstance(p, pd.DataFrame) for p in parts):
        frames = [p for p in parts if len(p)] or parts[:1]
        return pd.concat(frames, ignore_index=True)
    return [record for p in parts for record in p]


ProgressHook = Callable[[Stream, StreamStats], None]


def sync(
    connector: Connector,
    settings: ConnectionSettings,
    sink: Sink,
    as_of: dt.date,
    run_id: str,
    landing: Landing | None = None,
    policy: RetryPolicy | None = None,
    streams: Iterable[str] | None = None,
    progress: ProgressHook | None = None,
) -> SyncResult:
    """Read every stream of `connector` incrementally into `sink`.

    Each checkpoint's state goes to the sink together with the pages before it, so a crash
    can never leave state ahead of data; the next run resumes from the last checkpoint.
    """
    wanted = set(streams) if streams is not None else None
    client = HttpClient(settings, connector.auth(settings), policy, connector.rate_per_s)
    result = SyncResult(connector.name, run_id, as_of, {}, started_at=time.time())
    started = time.perf_counter()
    try:
        for stream in connector.streams:
            if wanted is not None and stream.name not in wanted:
                continue
            stats = result.streams.setdefault(stream.name, StreamStats())
            t0 = time.perf_counter()
            done = landing.completed(connector.name, stream.name) if landing else None
            if done is not None:  # this night read the stream before: stage the same pages
                _replay_into(connector, stream, landing, sink, done["state"], stats)
                stats.seconds = time.perf_counter() - t0
                continue
            reader = StreamReader(connector, stream, client, as_of, landing, stats)
            try:
                for item in stream.paginator.pages(reader, sink.state(connector.name, stream.name)):
                    t1 = time.perf_counter()
                    if isinstance(item, Checkpoint):
                        sink.commit(connector.name, stream, item.state, final=False)
                        stats.checkpoints += 1
                    else:
                        sink.stage(connector.name, stream, item.frame)
                    stats.stage_s += time.perf_counter() - t1
                    if progress and not isinstance(item, Checkpoint):
                        progress(stream, stats)
                t1 = time.perf_counter()
                sink.commit(connector.name, stream, None, final=True)
                stats.stage_s += time.perf_counter() - t1
                if landing is not None:
                    landing.mark_complete(
                        connector.name, stream.name, sink.state(connector.name, stream.name)
                    )
            except SourceError as exc:
                raise type(exc)(f"{connector.name}/{stream.name}: {exc}") from None
            finally:
                stats.seconds = time.perf_counter() - t0
    finally:
        c = client.counters
        result.requests, result.retries, result.bytes = c.requests, c.retries, c.bytes
        result.retry_reasons = dict(c.by_reason)
        result.seconds = time.perf_counter() - started
        client.close()
    return result


def _landed_frames(connector: Connector, stream: Stream, landing: Landing, stats=None):
    """Every landed page of one stream, parsed again exactly as the live run parsed it."""
    for meta, body in read_pages(landing.stream_dir(connector.name, stream.name)):
        t0 = time.perf_counter()
        records, garbled = stream.format.parse(body)
        records = _with_context(records, meta["request"], stream.request_context)
        frame, _ = record_frame(
            records, stream.fields, stream.key, stream.version, stream.epoch_ms, garbled
        )
        if stats is not None:
            stats.parse_s += time.perf_counter() - t0
        yield frame


def _replay_into(connector, stream, landing, sink: Sink, state, stats: StreamStats) -> None:
    for frame in _landed_frames(connector, stream, landing, stats):
        t0 = time.perf_counter()
        sink.stage(connector.name, stream, frame)
        stats.stage_s += time.perf_counter() - t0
        stats.pages += 1
        stats.records += len(frame)
    t0 = time.perf_counter()
    sink.commit(connector.name, stream, state, final=True)
    stats.stage_s += time.perf_counter() - t0
    stats.notes.append("replayed from landing")


def replay(connector: Connector, landing: Landing) -> dict[str, pd.DataFrame]:
    """Every landed page of one run, parsed again exactly as the live run parsed it."""
    out = {}
    for s in connector.streams:
        frames = list(_landed_frames(connector, s, landing))
        if frames:
            out[s.name] = pd.concat(frames, ignore_index=True)
    return out


__all__ = ["StreamReader", "SyncResult", "replay", "sync"]
