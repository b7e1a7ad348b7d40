"""The canonical serialisation of a snapshot, and the hashes over it.

A row's canonical line is its values in contract column order, tab-separated, in PostgreSQL
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

import datetime as dt
import hashlib
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, Date, DateTime, Double

from yiwang.tables import CENT, DATA_TABLES, SORT, Money, published

NULL = "\\N"


def _per_distinct(values: pd.Series, render) -> pd.Series:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rendered = np.array([render(u) for u in uniques] + [None], dtype=object)
    return pd.Series(rendered[codes], index=values.index, dtype=object)


def _money(v) -> str:
    return str(Decimal(v).quantize(CENT))


def _date(v) -> str:
    if isinstance(v, str):
        return v[:10]
    return (v.date() if isinstance(v, dt.datetime) else v).isoformat()


def _text(v) -> str:
    return v if isinstance(v, str) else str(v)


def _timestamp(v) -> str:
    ts = pd.Timestamp(v)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rendered(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Each contract column as canonical text (None for null), unescaped."""
    out = {}
    for column in published[table].columns:
        name = column.name
        if name in ("row_hash", "seq"):
            continue
        values = frame[name].astype(object).where(frame[name].notna(), None)
        kind = column.type
        if isinstance(kind, Money):
            render = _money
        elif isinstance(kind, DateTime):
            render = _timestamp
        elif isinstance(kind, Date):
            render = _date
        elif isinstance(kind, BigInteger):
            render = lambda v: str(int(v))  # noqa: E731
        elif isinstance(kind, Double):
            render = lambda v: repr(float(v))  # noqa: E731
        else:
            render = _text
        out[name] = _per_distinct(values, render)
    return pd.DataFrame(out, index=frame.index)


def _escaped(text: pd.Series) -> pd.Series:
    s = text.astype(object)
    present = s.notna()
    if present.any():
        v = s[present].astype(str)
        if v.str.contains(r"[\\\t\n\r]", regex=True).any():
            v = v.str.replace("\\", "\\\\", regex=False).str.replace("\t", "\\t", regex=False)
            v = v.str.replace("\n", "\\n", regex=False).str.replace("\r", "\\r", regex=False)
        s = s.copy()
        s[present] = v
    return s.where(present, NULL)


def canonical(table: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(rendered values in canonical row order, lines, row hashes) of one table."""
    text = rendered(table, frame)
    if len(text):  # code-point order of the canonical text, nulls first: the same everywhere
        text = text.sort_values(list(SORT[table]), na_position="first", kind="stable")
    columns = [_escaped(text[c]) for c in text.columns]
    lines = columns[0].str.cat(columns[1:], sep="\t").tolist() if columns else []
    prefix = f"{table}\t".encode()
    hashes = [hashlib.sha256(prefix + line.encode()).hexdigest() for line in lines]
    return text, lines, hashes


def content_hash(row_hashes: dict[str, list[str]]) -> str:
    digest = hashlib.sha256()
    for table in DATA_TABLES:
        digest.update(f"{table}\n".encode())
        for h in row_hashes.get(table, []):
            digest.update(f"{h}\n".encode())
    return digest.hexdigest()


def chain_hash(previous_chain: str | None, content: str) -> str:
    return hashlib.sha256(((previous_chain or "") + content).encode()).hexdigest()


def ledger_row_hash(row: dict) -> str:
    """SHA-256 of a `publish_run` row, so an edit of any of its fields shows."""
    frame = pd.DataFrame([row])
    _, _, hashes = canonical("publish_run", frame)
    return hashlib.sha256(f"{hashes[0]}\t{int(row['seq'])}".encode()).hexdigest()
