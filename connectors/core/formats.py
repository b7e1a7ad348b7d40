"""Wire formats → typed record frames, vectorised per page.

A page becomes a DataFrame holding the contract's fields as received but typed where the wire
type is unambiguous: JSON numbers as `Decimal` (never a binary float), epoch milliseconds as
Asia/Shanghai timestamps, GBK text decoded. Values whose meaning needs the contract's rules
(万元 strings, thousands separators, dates as text) stay as received for `schemas/` and
`transforms/`. Three framework columns ride along:

- `_key`: the record's key, trimmed (None when it cannot be read);
- `_version`: what orders versions of one key (the modification stamp; "" when immutable);
- `_problems`: what could not be read, in words ("" when nothing), for the quarantine.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import requests

from connectors.core.answers import describe, is_json, media_type, unexpected
from connectors.core.errors import FatalSourceError, SourceError, TransientSourceError

TZ = "Asia/Shanghai"
MAX_EPOCH_MS = 9_000_000_000_000  # about year 2255: inside pandas' nanosecond range


def dig(doc: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` (keys) in a JSON document, or None."""
    for step in path:
        doc = doc.get(step) if isinstance(doc, dict) else None
    return doc


@dataclass(frozen=True)
class BusinessCode:
    """Errors reported inside HTTP 200 in a code field (drc: `code` 0 means success)."""

    field: str = "code"
    ok: int = 0
    transient: frozenset[int] = frozenset()
    message_field: str = "msg"

    def check(self, doc: dict, request: str) -> None:
        code = doc.get(self.field)
        if code == self.ok:
            return
        what = f"business error {code} {doc.get(self.message_field)!r} for GET {request}"
        if code in self.transient:
            raise TransientSourceError(what)
        raise FatalSourceError(what)


@dataclass(frozen=True)
class JsonItems:
    """A JSON document whose records sit at `items` (a path of keys)."""

    items: tuple[str, ...]
    business: BusinessCode | None = None

    def decode(self, response: requests.Response) -> tuple[dict, list, bool]:
        body, garbled = response.content, False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # keep the page; the records holding bad bytes are flagged
            text, garbled = body.decode("utf-8", errors="replace"), True
        garbled = garbled or _has_nul(text)
        try:  # strict=False: a raw control character inside a string is the record's problem
            doc = json.loads(text, parse_float=Decimal, strict=False)
        except ValueError as exc:
            raise _not_json(response, exc) from None
        except RecursionError:  # no record can be told from the rest: the page is refused
            raise FatalSourceError(
                f"GET {response.request.path_url}: JSON nested deeper than the parser can "
                "follow; the page cannot be read record by record"
            ) from None
        if not isinstance(doc, dict):
            raise FatalSourceError(f"GET {response.request.path_url}: expected a JSON object")
        if self.business is not None:
            self.business.check(doc, response.request.path_url)
        node = dig(doc, self.items)
        if not isinstance(node, list):
            raise TransientSourceError(
                f"GET {response.request.path_url}: no record list at {'.'.join(self.items)}"
            )
        return doc, node, garbled

    def parse(self, body: bytes) -> tuple[list, bool]:
        """Records of a landed page (for replay), as `decode` gave them."""
        text = body.decode("utf-8", errors="replace")
        node = dig(json.loads(text, parse_float=Decimal, strict=False), self.items)
        return node or [], "\ufffd" in text or _has_nul(text)


def _not_json(response: requests.Response, exc: ValueError) -> SourceError:
    """A 200 whose body does not parse: cut off in transit (JSON, or no content type said:
    asking again helps), or some other page, e.g. a gateway's HTML (it will not)."""
    if is_json(response) or not media_type(response):
        at = getattr(exc, "pos", None)
        return TransientSourceError(
            f"GET {response.request.path_url}: the JSON body breaks off or is malformed at "
            f"character {at}; got {describe(response)}"
        )
    return unexpected(response, expected="JSON")


@dataclass(frozen=True)
class GbkCsv:
    """A GBK-encoded CSV file with a header row (treasury), served as `content_type`: a page of
    another kind (a gateway's HTML) would otherwise read as a CSV without rows."""

    content_type: str = "text/csv"

    def decode(self, response: requests.Response) -> tuple[dict, pd.DataFrame, bool]:
        if media_type(response) != self.content_type:
            raise unexpected(response, expected=self.content_type)
        return {}, *self.parse(response.content)

    def parse(self, body: bytes) -> tuple[pd.DataFrame, bool]:
        # invalid bytes become U+FFFD, which GBK cannot encode: the row is flagged, not lost
        text = body.decode("gbk", errors="replace")
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
        )
        return frame, "\ufffd" in text or _has_nul(text)


def record_frame(
    records: list | pd.DataFrame,
    fields: Sequence[str],
    key: str,
    version: str | None,
    epoch_ms: Sequence[str] = (),
    garbled: bool = False,
) -> tuple[pd.DataFrame, set[str]]:
    """Typed frame of one page, and the field names the contract does not know.

    `garbled`: the page held bytes that were not valid text (now U+FFFD) or NUL characters
    (which no database text column can store); only then are the text columns searched.
    """
    frame = records if isinstance(records, pd.DataFrame) else _from_items(records)
    unknown = set(frame.columns) - set(fields)
    problems = pd.Series("", index=frame.index, dtype=object)
    context = [c for c in frame.columns if c.startswith("_") and c != "_not_an_object"]
    unknown -= set(context)
    frame = frame[[f for f in fields if f in frame.columns] + context].copy()
    frame["_key"] = _keys(frame, key)
    # no source's key is this long (nor can an index hold one), and no text column a NUL:
    # such a record is kept without a key, and quarantined for it
    keys = frame["_key"]
    unusable = (keys.str.len() > MAX_KEY_CHARS) | keys.str.contains("\x00", regex=False)
    unusable = unusable.fillna(False).astype(bool)
    problems = _note(problems, keys.where(unusable), lambda v: f"{key} {_brief(v)} is no key")
    frame["_key"] = keys.where(~unusable, None)
    if version in frame.columns:
        is_ms = version in epoch_ms
        stamp = _ms_text(frame[version]) if is_ms else frame[version].astype(str)
        # a stamp only orders versions, and is stored as text: a NUL (noted below) cannot be
        frame["_version"] = stamp.str.replace("\x00", "\ufffd", regex=False)
    else:
        frame["_version"] = ""
    for name in epoch_ms:
        if name in frame.columns:
            frame[name], bad = _epoch_ms(frame[name])
            problems = _note(problems, bad, lambda v, n=name: f"{n} {v!r} is not epoch ms")
    for name in frame.columns:
        if name.startswith("_"):
            continue
        column = frame[name]
        if column.dtype == object and pd.api.types.infer_dtype(column) not in _PLAIN:
            nested = column.map(lambda v: isinstance(v, dict | list)).astype(bool)
            problems = _note(
                problems, column.where(nested), lambda v, n=name: f"{n} is nested, not a value"
            )
            frame[name] = column.where(~nested, column[nested].map(json.dumps))
        if garbled:
            hit = frame[name].map(lambda v: isinstance(v, str) and "\ufffd" in v).astype(bool)
            problems = _note(
                problems,
                frame[name].where(hit),
                lambda v, n=name: f"{n} holds bytes that are not valid text",
            )
            nul = frame[name].map(lambda v: isinstance(v, str) and "\x00" in v).astype(bool)
            problems = _note(
                problems, frame[name].where(nul), lambda v, n=name: f"{n} holds a NUL character"
            )
    frame["_problems"] = problems
    return frame.reset_index(drop=True), unknown


MAX_KEY_CHARS = 256


def _has_nul(text: str) -> bool:
    return "\x00" in text or "\\u0000" in text


def _brief(value: str, limit: int = 40) -> str:
    """A value short enough for a reason: its start, and its length when cut."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


# inferred kinds of an object column that cannot hold a nested value
_PLAIN = {"string", "decimal", "integer", "floating", "empty", "boolean", "mixed-integer-float"}


def _from_items(items: list) -> pd.DataFrame:
    dicts = [i if isinstance(i, dict) else {"_not_an_object": repr(i)} for i in items]
    return pd.DataFrame.from_records(dicts) if dicts else pd.DataFrame()


def _keys(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    raw = frame[key]
    if pd.api.types.is_string_dtype(raw) and raw.dtype != object:
        trimmed = raw.str.strip()
        return trimmed.astype(object).where(trimmed.fillna("") != "", None)
    is_text = raw.map(lambda v: isinstance(v, str | int) and not isinstance(v, bool)).astype(bool)
    trimmed = raw.astype(object).where(is_text).map(lambda v: str(v).strip(), na_action="ignore")
    trimmed = trimmed.astype(object)
    return trimmed.where(trimmed.fillna("").astype(bool) & is_text, None)


def _epoch_ms(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Timestamps in Asia/Shanghai, and the raw values that were not integer milliseconds."""
    numbers = _integers(values)
    numbers = numbers.where(numbers.abs() < MAX_EPOCH_MS)  # beyond: no real timestamp
    bad = values.where(numbers.isna() & values.notna())
    stamps = pd.to_datetime(numbers, unit="ms", utc=True).dt.tz_convert(TZ)
    return stamps, bad


def _integers(values: pd.Series) -> pd.Series:
    """Whole numbers as float64 (exact below 2**53), anything else NaN."""
    if pd.api.types.is_integer_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_float_dtype(values):
        numbers = values.where(values == np.floor(values))
    else:
        numbers = pd.to_numeric(values.map(_int_or_nan), errors="coerce").astype("float64")
    return numbers.where(numbers.abs() < 2**53)  # beyond: not exact, or not finite at all


def _int_or_nan(v: Any) -> float | int:
    if isinstance(v, bool) or v is None:
        return np.nan
    if isinstance(v, int):
        return v
    if isinstance(v, float | Decimal) and math.isfinite(v) and v == int(v):
        return int(v)
    return np.nan


def _ms_text(values: pd.Series) -> pd.Series:
    """Epoch ms as fixed-width text, so versions compare as text too ("" when unreadable)."""
    numbers = _integers(values)
    text = numbers.fillna(0).astype("int64").astype(str).str.zfill(15)
    return text.astype(object).where(numbers.notna(), "")


def _note(problems: pd.Series, bad: pd.Series, say) -> pd.Series:
    hit = bad.notna()
    if not hit.any():
        return problems
    words = bad[hit].map(say)
    joined = problems[hit].where(problems[hit] == "", problems[hit] + "; ") + words
    out = problems.copy()
    out[hit] = joined
    return out
