"""Where staged records and incremental state go, always together.

`Sink` is the interface the sync writes to; `yiwang.store.staging.DbSink` implements it with
one database transaction per checkpoint. `LocalSink` is the file implementation: per stream,
one file holds both the latest version of every record and the state that covers them,
replaced atomically, so state is never ahead of its data.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from connectors.core.record_json import encode
from connectors.core.stream import Stream


class Sink(Protocol):
    def state(self, source: str, stream: str) -> dict[str, Any] | None: ...

    def stage(self, source: str, stream: Stream, frame: pd.DataFrame) -> None: ...

    def commit(
        self, source: str, stream: Stream, state: dict[str, Any] | None, final: bool
    ) -> None:
        """Make staged frames and `state` durable together (`state` None: keep the last)."""
        ...

    def records(self, source: str, stream: str) -> pd.DataFrame:
        """The latest stored version of every record of `stream`."""
        ...


def latest_versions(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per key, the highest `_version` winning (ties: the later arrival).

    Rows without a readable key are kept once per distinct record JSON (`record_json`), the
    identity the store gives them.
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    keyed = rows[rows["_key"].notna()].sort_values("_version", kind="stable")
    keyed = keyed.drop_duplicates("_key", keep="last")
    keyless = rows[rows["_key"].isna()]
    if len(keyless):
        keyless = keyless[~pd.Series(encode(keyless), index=keyless.index).duplicated()]
    return pd.concat([keyed, keyless], ignore_index=True)


class CoalescingSink:
    """Buffers staged frames per stream and writes them with their state once every
    `commit_every_s` and at the stream's end: fewer, larger writes, state never ahead. Once
    `max_pending_rows` are buffered they are written at once, without state (some sources
    checkpoint only at the stream's end, and a buffer of millions would not fit).

    With `background`, a write runs in a thread of its own while the sync reads on, so the
    store's time hides behind the network's and the parser's. One write at most is in flight:
    the next waits for it and fails with its error, so a write never lands after a failed one
    (whose state it would carry past data that is not stored). The stream's last commit
    returns only once everything is written. Several sources' syncs may share one sink, each
    in a thread of its own (each stream's buffer is its own; their writes take turns).
    """

    def __init__(
        self,
        commit_every_s: float = 5.0,
        max_pending_rows: int | None = None,
        background: bool = False,
    ) -> None:
        self.commit_every_s, self.max_pending_rows = commit_every_s, max_pending_rows
        self._pending: dict[tuple[str, str], list[pd.DataFrame]] = {}
        self._pending_state: dict[tuple[str, str], dict] = {}
        self._last_commit: dict[tuple[str, str], float] = {}
        self._writer = ThreadPoolExecutor(1, "sink-writer") if background else None
        self._in_flight: Future | None = None
        self._handing = threading.Lock()  # several sources' threads may share one sink

    def stage(self, source: str, stream: Stream, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        pending = self._pending.setdefault((source, stream.name), [])
        pending.append(frame)
        if self.max_pending_rows is not None and sum(map(len, pending)) >= self.max_pending_rows:
            # written without state (the last stays): records may run ahead of state, never behind
            self._write_pending(source, stream, None, final=False)

    def commit(self, source: str, stream: Stream, state: dict | None, final: bool) -> None:
        slot = (source, stream.name)
        if state is not None:
            self._pending_state[slot] = state
        due = time.monotonic() - self._last_commit.get(slot, 0.0) >= self.commit_every_s
        if final or due:
            self._last_commit[slot] = time.monotonic()
            self._write_pending(source, stream, self._pending_state.pop(slot, None), final)

    def _write_pending(self, source: str, stream: Stream, state: dict | None, final: bool) -> None:
        frames = self._pending.pop((source, stream.name), [])
        if self._writer is None:  # each stream's writes are its own: no write is shared
            self._write(source, stream, frames, state)
            return
        with self._handing:
            self._flush()
            self._in_flight = self._writer.submit(self._write, source, stream, frames, state)
            if final:
                self._flush()

    def flush(self) -> None:
        """Wait for the write in flight (raising its error, if it failed)."""
        with self._handing:
            self._flush()

    def _flush(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def _write(
        self, source: str, stream: Stream, frames: list[pd.DataFrame], state: dict | None
    ) -> None:
        """Make `frames` and `state` (None: keep the last) durable together."""
        raise NotImplementedError


class LocalSink(CoalescingSink):
    """Files under `root`: per stream one pickle of the records and their state."""

    def __init__(self, root: Path, commit_every_s: float = 5.0) -> None:
        super().__init__(commit_every_s)
        self.root = Path(root)
        self.changed: dict[tuple[str, str], set[str]] = {}  # keys new or changed this session

    def _path(self, source: str, stream: str) -> Path:
        return self.root / source / f"{stream}.pkl"

    def _load(self, source: str, stream: str) -> tuple[dict | None, pd.DataFrame]:
        path = self._path(source, stream)
        if not path.exists():
            return None, pd.DataFrame()
        with path.open("rb") as f:
            doc = pickle.load(f)
        return doc["state"], doc["records"]

    def state(self, source: str, stream: str) -> dict | None:
        return self._load(source, stream)[0]

    def records(self, source: str, stream: str) -> pd.DataFrame:
        """The latest version of every stored record (tombstoned keys included)."""
        return self._load(source, stream)[1]

    def _write(
        self, source: str, stream: Stream, frames: list[pd.DataFrame], state: dict | None
    ) -> None:
        old_state, stored = self._load(source, stream.name)
        merged = latest_versions([stored, *frames])
        slot = (source, stream.name)
        self.changed.setdefault(slot, set()).update(_changed_keys(stored, frames))
        doc = {"state": state if state is not None else old_state, "records": merged}
        path = self._path(source, stream.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as f:
            pickle.dump(doc, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)


def _changed_keys(stored: pd.DataFrame, new: list[pd.DataFrame]) -> set[str]:
    frames = [f for f in new if len(f)]
    if not frames:
        return set()
    incoming = pd.concat(frames, ignore_index=True)[["_key", "_version"]].dropna(subset=["_key"])
    if stored.empty:
        return set(incoming["_key"])
    known = set(zip(stored["_key"], stored["_version"], strict=True))
    pairs = zip(incoming["_key"], incoming["_version"], strict=True)
    return {k for k, v in pairs if (k, v) not in known}
