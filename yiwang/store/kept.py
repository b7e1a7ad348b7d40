"""Validated streams kept between nights, so a night validates only what was staged since.

Without them every night reads, decodes and validates every staged record (millions at
`large`), though few changed since the night before. Validation is a function of the record
alone (`schemas.validate` checks nothing across rows, and a record's reasons and payload do
not depend on its batch: `tests/drills/test_hostile.py` validates hostile records apart and
together), so what it made of a record stays true until the record is staged again: every
staged write takes the next number of a sequence (`hub.staged_record.seq`), and a
night reads only the records numbered after the last night's watermark, validates them and
merges them into what it kept. The result is the very frame a full validation would give
(`tests/store/test_kept.py` compares the two over nights of a changing world).

What is kept, per stream: a base part and the parts of the nights since (each a pickle of the
accepted and quarantined rows, with their record ids), and a manifest naming them with the
watermark they cover, the store's id, a fingerprint of the code that validated them and a
token the store holds too (`hub.kept_stream`). A different store, different code, a token the
store does not hold (a copy of the store moved the parts on; a backup was restored) or a
missing file: the stream is validated in full again and its base rewritten. Parts are
written whole and renamed into place, the manifest last, so a
night killed while writing leaves the previous manifest and its parts intact.

Only on PostgreSQL (the sequence); the registry stream is always read whole (resolution needs
every record it served, quarantined ones too); tombstones are applied after the merge.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select

from connectors.core import Stream
from departments.registry import backbone, record, registry
from schemas.validate import Validated, validate
from yiwang.store.staging import DbSink
from yiwang.store.tables import kept_stream

RID = "_record_id"
COMPACT_SHARE = 0.1  # the parts since the base are folded into a new base past this share


@dataclass
class Part:
    """Validated records, accepted and quarantined, each frame sorted by record id (`RID`)."""

    accepted: pd.DataFrame
    quarantine: pd.DataFrame

    @classmethod
    def of(cls, source: str, record_type: str, rows: pd.DataFrame) -> Part:
        """`rows` (sorted by record id, as staging reads them) validated."""
        checked = validate(source, record(record_type), rows)
        if rows.empty:
            return cls(checked.accepted, checked.quarantine)
        ids = rows[RID].reset_index(drop=True)
        accepted = checked.accepted.assign(**{RID: ids[checked.accepted.index].to_numpy()})
        bad = np.ones(len(ids), dtype=bool)
        bad[checked.accepted.index] = False
        quarantine = checked.quarantine.assign(**{RID: ids[bad].to_numpy()})
        return cls(accepted.reset_index(drop=True), quarantine)

    def __len__(self) -> int:
        return len(self.accepted) + len(self.quarantine)

    def ids(self) -> set:
        return set(self.accepted[RID]) | set(self.quarantine[RID]) if len(self) else set()

    def updated_by(self, newer: Part) -> Part:
        """This part with every record `newer` holds taken from `newer` instead."""
        if not len(newer):
            return self
        if not len(self):
            return newer
        replaced = newer.ids()
        return Part(
            *(
                _merge_sorted(mine, theirs, replaced)
                for mine, theirs in (
                    (self.accepted, newer.accepted),
                    (self.quarantine, newer.quarantine),
                )
            )
        )

    def live(self, source: str, record_type: str, gone: set) -> Validated:
        """What `validate` gives for this part's records less the tombstoned ones: the same
        rows in the same order, accepted rows indexed by their place among all records."""
        accepted, quarantine = self.accepted, self.quarantine
        if gone and len(accepted):
            accepted = accepted[~accepted["_key"].isin(gone)]
        if gone and len(quarantine):
            quarantine = quarantine[~quarantine["record_key"].isin(gone)]
        if not len(accepted) + len(quarantine):
            return validate(source, record(record_type), pd.DataFrame())
        a_ids = accepted[RID].to_numpy() if len(accepted) else np.array([], dtype=object)
        q_ids = quarantine[RID].to_numpy() if len(quarantine) else np.array([], dtype=object)
        # accepted row i sits after i accepted rows and after every quarantined one before it
        before = np.searchsorted(a_ids, q_ids, side="left")  # few searches over many rows
        place = np.arange(len(a_ids)) + np.searchsorted(before, np.arange(len(a_ids)), "right")
        accepted = accepted.drop(columns=RID).set_axis(pd.Index(place), axis=0)
        quarantine = quarantine.drop(columns=RID, errors="ignore").reset_index(drop=True)
        return Validated(source, record_type, accepted, quarantine, len(a_ids) + len(q_ids))


def _merge_sorted(mine: pd.DataFrame, theirs: pd.DataFrame, replaced: set) -> pd.DataFrame:
    """Two frames sorted by `RID` as one, sorted by `RID`, without `mine`'s rows whose ids are
    `replaced`: one copy of the rows (filtering first, then merging, took two)."""
    if not len(mine) or RID not in mine.columns:
        return (theirs if len(theirs) else mine).reset_index(drop=True)
    kept = np.flatnonzero(~mine[RID].isin(replaced).to_numpy())
    if not len(theirs):
        return mine.take(kept).reset_index(drop=True)
    at = np.searchsorted(mine[RID].to_numpy()[kept], theirs[RID].to_numpy())
    order = np.insert(kept, at, np.arange(len(mine), len(mine) + len(theirs)))
    both = pd.concat([mine, theirs.astype(mine.dtypes.to_dict())], ignore_index=True)
    return both.take(order).reset_index(drop=True)


@dataclass
class _Held:
    """A stream's part as brought up to date in memory since it was loaded (or first read)."""

    manifest: dict  # as on disk ({} when there was none to load)
    part: Part  # every record staged up to `watermark`, validated
    watermark: int
    since_disk: Part | None  # what was validated since the manifest's watermark (None: a base)


class KeptStream:
    """One stream's kept parts and manifest under `root/<store id>/<source>.<stream>/`."""

    def __init__(self, sink: DbSink, root: Path, store: str, source: str, stream: Stream) -> None:
        self.dir = root / store / f"{source}.{stream.name}"
        self.sink, self.engine = sink, sink.engine
        self.store, self.source, self.stream = store, source, stream
        self._held: _Held | None = None

    def catch_up(self, watermark: int, clock) -> None:
        """Bring the stream up to `watermark` in memory, reading only what was staged since
        the last catch-up (or the kept watermark): a night does this while its sources are
        still being staged, so that little is left to read once they are. Nothing is
        written; `validated` writes. `clock` laps "read_staged" and "validate"."""
        if self._held is None:
            manifest, part = self._load()
            if part is None:
                rows = self.sink.read(self.source, self.stream.name, ids=True)
                clock.lap("read_staged")
                self._held = _Held({}, Part.of(self.source, self.stream.record_type, rows),
                                   watermark, None)  # fmt: skip
                del rows
                clock.lap("validate")
                return
            nothing = Part.of(self.source, self.stream.record_type, pd.DataFrame())
            self._held = _Held(manifest, part, manifest["watermark"], nothing)
        held = self._held
        rows = self.sink.read(self.source, self.stream.name, since=held.watermark, ids=True)
        clock.lap("read_staged")
        delta = Part.of(self.source, self.stream.record_type, rows)
        del rows
        held.part = held.part.updated_by(delta)
        if held.since_disk is not None:
            held.since_disk = held.since_disk.updated_by(delta)
        held.watermark = watermark
        clock.lap("validate")

    def validated(self, watermark: int, clock) -> Part:
        """Every staged record of the stream validated, reading only what changed since the
        last catch-up or the kept watermark; the parts on disk are brought up to
        `watermark`. `clock` laps "read_staged" (the kept parts and staging), "validate" and
        "keep"."""
        self.catch_up(watermark, clock)
        held, self._held = self._held, None
        if held.since_disk is None:  # read whole: the new base
            self._save(held.part, {"watermark": watermark}, base=True)
            clock.lap("keep")
            return held.part
        manifest, delta = held.manifest, held.since_disk
        manifest["watermark"] = watermark
        manifest["delta_rows"] = manifest["delta_rows"] + len(delta)
        if manifest["delta_rows"] > COMPACT_SHARE * max(len(held.part), 1):
            self._save(held.part, manifest, base=True)
        else:
            self._save(delta if len(delta) else None, manifest, base=False)
        clock.lap("keep")
        return held.part

    # ---- files ----------------------------------------------------------------------------
    def _load(self) -> tuple[dict, Part | None]:
        try:
            manifest = json.loads((self.dir / "manifest.json").read_text())
        except (OSError, ValueError):
            return {}, None
        if manifest.get("fingerprint") != fingerprint() or manifest.get("store") != self.store:
            return {}, None
        if manifest.get("token") != self._token():  # a copy of the store, a restored backup
            return {}, None
        try:
            part = _read_part(self.dir / manifest["base"])
            for name in manifest["deltas"]:
                part = part.updated_by(_read_part(self.dir / name))
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError):
            return {}, None
        return manifest, part

    def _save(self, part: Part | None, manifest: dict, base: bool) -> None:
        """`part` as the new base, or as one more delta (None: only the watermark moved)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if part is not None:
            name = f"{'base' if base else 'delta'}-{uuid.uuid4().hex}.pickle"
            _write_part(self.dir / name, part)
            if base:
                manifest = {**manifest, "base": name, "deltas": [], "delta_rows": 0}
            else:
                manifest = {**manifest, "deltas": [*manifest["deltas"], name]}
        token = uuid.uuid4().hex
        manifest = {**manifest, "fingerprint": fingerprint(), "store": self.store, "token": token}
        with _written_whole(self.dir / "manifest.json") as f:
            f.write(json.dumps(manifest, indent=1).encode())
        self._put_token(token, manifest["watermark"])
        named = {manifest["base"], *manifest["deltas"], "manifest.json"}
        for path in self.dir.iterdir():  # parts no manifest names any more, and torn writes
            if path.name not in named:
                path.unlink(missing_ok=True)

    def _token(self) -> str | None:
        query = select(kept_stream.c.token).where(
            kept_stream.c.source == self.source, kept_stream.c.stream == self.stream.name
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def _put_token(self, token: str, watermark: int) -> None:
        """The store's word on which parts are its own (a kill before it: parts not taken)."""
        row = {"source": self.source, "stream": self.stream.name}
        with self.engine.begin() as conn:
            conn.execute(delete(kept_stream).filter_by(**row))
            conn.execute(insert(kept_stream).values(**row, token=token, watermark=watermark))


class KeptStreams:
    """A night's kept streams, each brought up to date beside the sources' staging
    (`catch_up`), then validated whole by the night (`stream(...).validated`)."""

    def __init__(self, sink: DbSink, root: Path) -> None:
        self.sink, self.root = sink, root
        self._streams: dict[tuple[str, str, str], KeptStream] = {}

    def stream(self, store: str, source: str, stream: Stream) -> KeptStream:
        key = (store, source, stream.name)
        if key not in self._streams:
            self._streams[key] = KeptStream(self.sink, self.root, store, source, stream)
        return self._streams[key]

    def catch_up(self, clock) -> None:
        """Every kept stream brought up to what is staged now (see `KeptStream.catch_up`)."""
        mark = self.sink.watermark()
        if mark is None:  # SQLite: nothing is kept
            return
        store, watermark = mark
        for source, stream in kept_streams():
            self.stream(store, source, stream).catch_up(watermark, clock)


def kept_streams() -> Iterator[tuple[str, Stream]]:
    """(source, stream) of every stream whose validated records are kept: the record streams
    but the registry's, which resolution needs whole, as received."""
    _, registry_type = backbone()
    for name, connector in registry().items():
        for s in connector.streams:
            if not s.deletes and s.record_type != registry_type:
                yield name, s


@contextmanager
def _written_whole(path: Path) -> Iterator[BinaryIO]:
    """A file written beside `path`, synced, then renamed over it: readers see all or nothing."""
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def _write_part(path: Path, part: Part) -> None:
    """Pickled, each column of `Decimal`s as their text: text pickles far faster than
    `Decimal` objects, and loading it and making them again costs no more than unpickling them."""
    frames = {"accepted": _portable(part.accepted), "quarantine": _portable(part.quarantine)}
    with _written_whole(path) as f:
        pickle.dump(frames, f, protocol=5)


def _read_part(path: Path) -> Part:
    with open(path, "rb") as f:
        # our own file, written by `_write_part` into the store's data directory
        frames = pickle.load(f)
    return Part(_restored(frames["accepted"]), _restored(frames["quarantine"]))


def _portable(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    decimals = [
        c for c in frame.columns
        if frame[c].dtype == object and pd.api.types.infer_dtype(frame[c], skipna=True) == "decimal"
    ]  # fmt: skip
    out = frame.copy(deep=False)
    for c in decimals:
        out[c] = pd.Series(
            [str(v) if type(v) is Decimal else v for v in frame[c].tolist()],
            index=frame.index, dtype=object,
        )  # fmt: skip
    return out, decimals


def _restored(portable: tuple[pd.DataFrame, list[str]]) -> pd.DataFrame:
    frame, decimals = portable
    for c in decimals:
        frame[c] = pd.Series(
            [Decimal(v) if type(v) is str else v for v in frame[c].tolist()],
            index=frame.index, dtype=object,
        )  # fmt: skip
    return frame


@cache
def fingerprint() -> str:
    """The code that turns staged text into validated rows, and the libraries it runs on: a
    change to any of them makes every kept part stale."""
    here = Path(__file__).resolve().parents[2]
    code = (
        p
        for d in ("schemas", "transforms", "connectors", "departments")
        for p in (here / d).rglob("*.py")
    )
    files = [*sorted(code), here / "yiwang" / "store" / "staging.py", Path(__file__).resolve()]
    digest = hashlib.sha256(sys.version.encode())
    for package in ("pandas", "numpy", "pandera", "msgspec"):
        digest.update(f"{package}={metadata.version(package)}".encode())
    for path in files:
        digest.update(path.relative_to(here).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
