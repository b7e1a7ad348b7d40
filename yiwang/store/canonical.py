"""The canonical serialisation of a snapshot, and the hashes over it.

A row's canonical line is its values in stored column order (a view's snapshot column, such as
`project.as_of_date`, is the `snapshot` table's), tab-separated, in PostgreSQL
`COPY` text form: text with `\\`, tab, newline and carriage return escaped, `\\N` for null,
money with exactly two decimals, dates `YYYY-MM-DD`, integers in decimal, reals as Python's
shortest round-trip `repr`. The same line is what `COPY` loads, so hashing costs no second
rendering.

- `row_hash` = SHA-256 of `<table>\\t<line>`;
- `content_hash` = SHA-256 of, for each published data table in `DATA_TABLES` order, the line
  `<table>` followed by the row hashes of its rows in key order, one per line;
- `chain_hash` = SHA-256 of the previous run's `chain_hash` (empty for the first) followed by
  this run's `content_hash`, as the contract says.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from functools import cache

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Date, DateTime, Double

from yiwang.store.tables import DATA_TABLES, LATER_TABLES, SORT, Money, stored

NULL = "\\N"
TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC, to the microsecond


SAMPLE = 10_000  # rows that tell a column of keys from a column of repeated values


def mostly_distinct(values: pd.Series) -> bool:
    """A column of keys rather than of repeated values, judged by its first `SAMPLE` rows:
    factorizing it would cost more than it saves."""
    head = values.iloc[:SAMPLE]
    return len(values) > SAMPLE and head.nunique() > 0.9 * len(head)


def _distinct(values: pd.Series, render) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, rendered distinct values + None last): rendering once per distinct value
    is what makes a column of millions cheap; code -1 (null) picks the None.

    A column whose values nearly all differ (record keys) is not factorized: every row is its
    own "distinct value" (equal ones still rank alike), which saves hashing millions of keys.
    """
    if mostly_distinct(values):
        present = values.notna().to_numpy()
        codes = np.full(len(values), -1, dtype=np.intp)
        codes[present] = np.arange(int(present.sum()))
        kept = values[present]
        if render is _text and pd.api.types.infer_dtype(kept, skipna=False) == "string":
            rendered = kept.tolist()  # text renders as itself: no call a row
        else:
            rendered = [render(v) for v in kept]
        return codes, np.array([*rendered, None], dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.array([render(u) for u in uniques] + [None], dtype=object)


def _needs_escaping(text: str) -> bool:
    return "\\" in text or "\t" in text or "\n" in text or "\r" in text


def _escape(text: str | None) -> str:
    if text is None:
        return NULL
    if _needs_escaping(text):
        text = text.replace("\\", "\\\\").replace("\t", "\\t")
        text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text


def _escaped(uniques: np.ndarray) -> np.ndarray:
    """`_escape` of each rendered value (the None last): where no value holds a character to
    escape (nearly always), one scan of them all rather than a call a value."""
    if _needs_escaping("".join(uniques[:-1])):
        return np.array([_escape(u) for u in uniques], dtype=object)
    out = uniques.copy()
    out[-1] = NULL
    return out


_UNESCAPE = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
_ESCAPED = re.compile(r"\\[\\tnr]")


def unescaped(line: str) -> list[str | None]:
    """A canonical line's values again (None for null): what `COPY` reads from it."""
    return [
        None
        if field == NULL
        else _ESCAPED.sub(lambda m: _UNESCAPE[m.group()], field)
        if "\\" in field
        else field
        for field in line.split("\t")
    ]


def _exact(quantum: Decimal):
    return lambda v: str(Decimal(v).quantize(quantum))


def _date(v) -> str:
    if isinstance(v, str):
        return v[:10]
    return (v.date() if isinstance(v, dt.datetime) else v).isoformat()


def _text(v) -> str:
    return v if isinstance(v, str) else str(v)


def _timestamp(v) -> str:
    ts = pd.Timestamp(v)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime(TIMESTAMP)


def _renderer(kind):
    if isinstance(kind, Money):
        return _exact(kind.quantum)
    if isinstance(kind, DateTime):
        return _timestamp
    if isinstance(kind, Date):
        return _date
    if isinstance(kind, BigInteger):
        return lambda v: str(int(v))
    if isinstance(kind, Double):
        return lambda v: repr(float(v))
    return _text


def _rendered_columns(table: str, frame: pd.DataFrame) -> dict[str, tuple]:
    """Per column, (code per row, rendered values + None last), as `_distinct` gives them.

    Numbers and dates are factorized as they are, not as Python objects; text no row is sorted
    by renders as itself, a value a row (factorizing it would hash every value and save
    nothing: there is no rendering to share).
    """
    out = {}
    for column in stored[table].columns:
        if column.name in ("row_hash", "seq"):
            continue
        series, render = frame[column.name], _renderer(column.type)
        if series.dtype.kind in "biufmM":
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            out[column.name] = (
                codes,
                np.array([*_all_rendered(uniques, render), None], dtype=object),
            )
        elif isinstance(series.dtype, pd.StringDtype) and column.name not in SORT[table]:
            out[column.name] = _as_is(series)
        else:
            values = series.astype(object).where(series.notna(), None)
            out[column.name] = _distinct(values, render)
    return out


def _all_rendered(uniques, render) -> list[str]:
    """`render` of each distinct value; times in one call (the records' times are nearly all
    distinct: a call a value costs seconds at a few hundred thousand)."""
    if render is _timestamp and isinstance(uniques, pd.DatetimeIndex):
        utc = uniques.tz_convert("UTC") if uniques.tz is not None else uniques.tz_localize("UTC")
        # numpy's C formatter writes TIMESTAMP's very text (a Z added), 3-5x faster than
        # pandas' strftime, a Python call a value
        micro = utc.tz_localize(None).to_numpy().astype("datetime64[us]")
        return np.strings.add(np.datetime_as_string(micro, unit="us"), "Z").tolist()
    return list(map(render, uniques))


def _as_is(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A text column in `_distinct`'s form, each row its own value."""
    values = text.to_numpy(dtype=object, na_value=None)
    missing = pd.isna(values)
    codes = np.arange(len(values), dtype=np.intp)
    codes[missing] = -1
    values[missing] = ""  # no row picks these: theirs pick the None last
    return codes, np.append(values, None)


def _rank(uniques: np.ndarray) -> np.ndarray:
    """Each rendered distinct value's place in code-point order (the None last gets -1, so
    nulls sort first); values that render alike share a place.

    Python's own sort (str order is code-point order) rather than `np.unique`: timsort takes
    the runs a table's keys already come in.
    """
    values = uniques[:-1]
    by_value = np.array(sorted(range(len(values)), key=values.__getitem__), dtype=np.intp)
    ordered = values[by_value]
    starts = np.ones(len(ordered), dtype=bool)  # where a new rendered value begins
    starts[1:] = ordered[1:] != ordered[:-1]
    places = np.empty(len(values) + 1, dtype=np.intp)
    places[by_value] = np.cumsum(starts) - 1
    places[-1] = -1
    return places


def _order(columns: dict[str, tuple], keys: tuple[str, ...]) -> np.ndarray:
    """Row positions in code-point order of the key columns' canonical text, ties in frame
    order: a stable sort of small integers, not of millions of strings."""
    ranks = [_rank(columns[k][1])[columns[k][0]] for k in keys]
    return np.lexsort(ranks[::-1]) if ranks and len(ranks[0]) else np.arange(0)


def canonical(table: str, frame: pd.DataFrame) -> tuple[pd.Index, list[str], RowHashes]:
    """(the frame's index in canonical row order, lines, row hashes) of one table.

    Escaping, like rendering, is done once per distinct value and spread to the rows by code.
    """
    columns = _rendered_columns(table, frame)
    order = _order(columns, SORT[table]) if len(frame) else np.arange(0)
    escaped = [_escaped(uniques)[codes[order]] for codes, uniques in columns.values()]
    lines = ["\t".join(values) for values in zip(*escaped, strict=True)]  # str.cat is slower
    # a row none of whose columns of a later version (nor of any after it) holds a value
    # hashes as its line in the version before
    cut = np.zeros(len(lines), dtype=np.int64)
    still = np.ones(len(lines), dtype=bool)
    for version in reversed(later_versions(table)):
        still &= np.logical_and.reduce([columns[name][0][order] == -1 for name in version])
        cut += still * len(f"\t{NULL}") * len(version)
    prefix = f"{table}\t".encode()
    digests = bytearray()
    for line, short in zip(lines, cut, strict=True):
        digests += hashlib.sha256(prefix + (line[:-short] if short else line).encode()).digest()
    return frame.index[order], lines, RowHashes(bytes(digests))


@cache
def later_columns(table: str) -> frozenset[str]:
    """The columns a later version of the contract added to `table` (planning's and the
    hotline's on `project`): the last of its columns, so a row's earlier line is a prefix."""
    names = column_names(table)
    later = [c.name for c in stored[table].columns if c.info.get("since", "1.0") != "1.0"]
    if later and names[-len(later) :] != later:
        raise AssertionError(f"{table}: the columns added since 1.0 must come last")
    return frozenset(later)


def later_versions(table: str) -> list[list[str]]:
    """The columns each later version of the contract added to `table`, version by version,
    each in column order (a later version's come after an earlier one's)."""
    later = sorted(later_columns(table), key=column_names(table).index)
    since = {c.name: c.info.get("since", "1.0") for c in stored[table].columns}
    versions = sorted({since[c] for c in later}, key=lambda v: tuple(map(int, v.split("."))))
    out = [[c for c in later if since[c] == v] for v in versions]
    if [c for v in out for c in v] != later:
        raise AssertionError(f"{table}: a later version's columns must come after an earlier's")
    return out


class RowHashes(Sequence[str]):
    """One table's row hashes, read as hex strings but kept as 32-byte digests in one buffer:
    a list of millions of hex strings takes 121 bytes a row, this 32."""

    SIZE = 32

    def __init__(self, digests: bytes = b"") -> None:
        self.digests = digests

    def __len__(self) -> int:
        return len(self.digests) // self.SIZE

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.digests[i * self.SIZE : (i + 1) * self.SIZE].hex()

    def __iter__(self) -> Iterator[str]:
        return (digest.hex() for digest in self.raw())

    def raw(self) -> Iterator[bytes]:
        """The digests themselves, in row order (cheaper to compare than their hex)."""
        d, size = self.digests, self.SIZE
        return (d[j : j + size] for j in range(0, len(d), size))


def column_names(table: str) -> list[str]:
    """The columns a canonical line holds, in order."""
    return [c.name for c in stored[table].columns if c.name not in ("row_hash", "seq")]


def content_hash(row_hashes: dict[str, RowHashes]) -> str:
    digest = hashlib.sha256()
    for table in DATA_TABLES:
        if table in LATER_TABLES and not len(row_hashes.get(table, RowHashes())):
            continue  # a later version's table, empty: the earlier version's hash stands
        digest.update(f"{table}\n".encode())
        for block in _hex_lines(row_hashes.get(table, RowHashes()).digests):
            digest.update(block)
    return digest.hexdigest()


HEX_BLOCK = 65_536


def _hex_lines(digests: bytes) -> Iterator[bytes]:
    """Each digest as hex and a newline, 65,536 digests at a time in one C call, not a Python
    string a row."""
    step = RowHashes.SIZE * HEX_BLOCK
    for start in range(0, len(digests), step):
        yield binascii.hexlify(digests[start : start + step], "\n", RowHashes.SIZE) + b"\n"


def chain_hash(previous_chain: str | None, content: str) -> str:
    return hashlib.sha256(((previous_chain or "") + content).encode()).hexdigest()


def ledger_row_hash(row: dict) -> str:
    """SHA-256 of a `publish_run` row, so an edit of any of its fields shows."""
    frame = pd.DataFrame([row])
    _, _, hashes = canonical("publish_run", frame)
    return hashlib.sha256(f"{hashes[0]}\t{int(row['seq'])}".encode()).hexdigest()
