"""Validating whole batches: every record is accepted (typed) or quarantined with reasons.

One lazy pandera pass collects every failure of every row; conversion failures (a number that
is not one, a date that does not exist) and what the connector could not read are added, so a
quarantined record lists *all* that is wrong with it, as `<field> '<value>' <what is wrong>`.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import pandas as pd
import pandera.pandas as pa

from schemas.checks import WORDS, words
from schemas.records import RecordType
from transforms import normalise as n

QUARANTINE_COLUMNS = ["source_system", "record_type", "record_key", "reasons", "payload"]

# parser -> (function, what a failure means)
_PARSE = {
    "code": (lambda s: (n.code(s), None), ""),
    "key": (lambda s: (n.code(s, distinct=True), None), ""),  # from the connector's `_key`
    "text": (lambda s: (n.text(s), None), ""),
    "masked": (lambda s: (n.mask_account(s), None), ""),
    "money_wan": (lambda s: n.money(s, "wan"), "is not a number of 万元 (up to 6 decimals)"),
    "money_yuan": (lambda s: n.money(s, "yuan"), "is not a number of 元 (up to 2 decimals)"),
    "number": (n.number, "is not a number"),
    "integer": (n.integer, "is not a whole number"),
    "date_compact": (lambda s: n.date(s, "%Y%m%d"), "is not a real date YYYYMMDD"),
    "date_dashed": (lambda s: n.date(s, "%Y-%m-%d"), "is not a real date YYYY-MM-DD"),
    "time_local": (lambda s: n.local_timestamp(s, "%Y-%m-%d %H:%M:%S"), "is not a time YYYY-MM-DD HH:MM:SS"),
    "time_iso": (n.local_timestamp, "is not an ISO-8601 time with offset"),
    "epoch": (lambda s: (s.astype(f"datetime64[us, {n.TZ}]"), None), ""),
    "decimal": (lambda s: _decimal(s), "is not a number"),
}  # fmt: skip

_NUMBER = r"-?\d+(\.\d+)?([eE][-+]?\d+)?"


def _decimal(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """An exact number as `Decimal`, as many places as it has (areas, not money: no unit to
    round to); JSON numbers arrive as `Decimal`, text is read exactly, never as a float."""
    raw = n.text(values).astype(object)
    ok = raw.str.fullmatch(_NUMBER).fillna(False).astype(bool)
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    out[ok] = [Decimal(t) for t in raw[ok]]
    return out, raw.where(raw.notna() & ~ok)


class SchemaDriftError(Exception):
    """A required field is missing from a whole batch: the source changed its interface."""


@dataclass
class Validated:
    source: str
    record_type: str
    accepted: pd.DataFrame  # typed records: the model's fields and `_key`
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS
    received: int


def validate(source: str, record: RecordType, frame: pd.DataFrame) -> Validated:
    """Split a batch (latest version per key) into typed accepted rows and quarantine rows."""
    record_type = record.name
    frame = frame.reset_index(drop=True)
    if frame.empty:  # still typed, with every field: a department never staged has no rows
        empty = pd.DataFrame(
            {c: pd.Series([], dtype=object) for c in ("_key", *record.field_names)}
        )
        typed, _ = _typed(record, empty)
        return Validated(source, record_type, typed, _quarantine_frame([]), 0)
    missing = [f for f in record.required_fields if f not in frame.columns]
    if missing:
        raise SchemaDriftError(
            f"{source}/{record_type}: required field(s) {', '.join(missing)} missing from every "
            f"one of the {len(frame):,} records of this batch; the source changed its interface, "
            "so nothing of this stream is published until the contract is updated"
        )
    wire = frame
    if record.prepare is not None:
        frame = record.prepare(frame).reset_index(drop=True)
    typed, reasons = _typed(record, frame)
    _add_schema_failures(record, typed, reasons)
    for i, problem in frame["_problems"].items() if "_problems" in frame.columns else ():
        if problem:
            reasons[i].insert(0, problem)
    bad = pd.Series(False, index=frame.index)
    bad[list(reasons)] = True
    quarantine = _quarantine_rows(source, record, wire[bad], reasons)
    # only what the night reads on: the wire's other columns (version, problems, extras) are
    # let go with the batch
    kept = [c for c in ("_key", *record.field_names) if c in typed.columns]
    return Validated(source, record_type, typed.loc[~bad, kept], quarantine, len(frame))


def _typed(record: RecordType, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    typed = frame.copy(deep=False)  # copy-on-write: the columns replaced below are new
    reasons: dict[int, list[str]] = defaultdict(list)
    parsers, key = record.parsers, record.key
    for field in record.field_names:
        if field not in frame.columns:
            typed[field] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        kind = "key" if field == key and "_key" in frame.columns else parsers.get(field, "text")
        parse, words = _PARSE[kind]
        typed[field], bad = parse(frame["_key"] if kind == "key" else typed[field])
        if bad is not None:
            for i, raw in bad.dropna().items():
                reasons[i].append(f"{field} {raw!r} {words}")
    return typed, reasons


def _add_schema_failures(record: RecordType, typed: pd.DataFrame, reasons: dict) -> None:
    record_type = record.name
    try:
        record.model.validate(typed, lazy=True)
        return
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    structural = cases[cases["index"].isna()]
    if len(structural):  # a column of the wrong type: our typing is wrong, not the record
        raise TypeError(f"typed {record_type} frame does not fit its model:\n{structural}")
    cases = cases[cases["index"].notna()]
    # each record's reasons in the model's field order: pandera lists failures in an order
    # that depends on the rest of the batch, and a record's reasons must not
    order = {c: i for i, c in enumerate(record.field_names)}
    cases = cases.assign(
        _at=cases["column"].map(order).fillna(len(order)), _check=cases["check"].astype(str)
    ).sort_values(["_at", "_check"], kind="stable")
    already = {(i, r.split(" ", 1)[0]) for i, rs in reasons.items() for r in rs}
    for column, check, value, index in cases[
        ["column", "check", "failure_case", "index"]
    ].itertuples(index=False):
        i = int(index)
        name = str(check).split("(", 1)[0]
        if name in record.check_words:  # a whole-row check, reported once per row
            said = record.check_words[name]
            if said not in reasons[i]:
                reasons[i].append(said)
            continue
        if (i, column) in already:
            continue  # the conversion already said what is wrong with this field
        if name == "not_nullable":
            reasons[i].append(f"{column} {WORDS[name]}")
        else:
            reasons[i].append(f"{column} {_show(value)} {_words(record, column, name)}")


@cache
def _checks(record: RecordType) -> dict[tuple[str, str], object]:
    columns = record.model.to_schema().columns
    return {(col, c.name): c for col, column in columns.items() for c in column.checks}


def _words(record: RecordType, column: str, name: str) -> str:
    check = _checks(record).get((column, name))
    return words(check) if check is not None else WORDS.get(name, f"fails {name}")


def _show(value) -> str:
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
        value = value.item()  # numpy scalar -> Python, so the reason reads -1, not np.int64(-1)
    if isinstance(value, pd.Timestamp):
        return f"'{value.isoformat()}'"
    if isinstance(value, Decimal):
        return f"'{value}'"
    return repr(value)


# ---- quarantine rows ---------------------------------------------------------------------------
def _quarantine_frame(rows: list[dict]) -> pd.DataFrame:
    # object from the start: inferred as text first, a null key would become NaN or stay
    # None by what else the batch holds
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS, dtype=object)


def _quarantine_rows(
    source: str, record: RecordType, wire: pd.DataFrame, reasons: dict
) -> pd.DataFrame:
    # a record's payload is its own: every field of its type (null when it lacks one) and each
    # other field it carries, whatever the rest of its batch holds (kept parts depend on it)
    fields = record.field_names
    extra = [c for c in wire.columns if not c.startswith("_") and c not in fields]
    masked = wire.reindex(columns=[*wire.columns, *(f for f in fields if f not in wire.columns)])
    for field in record.sensitive:
        if field in masked.columns:
            masked[field] = n.mask_account(masked[field])
    keys = masked["_key"] if "_key" in masked.columns else pd.Series(None, index=masked.index)
    rows = []
    for i, key, row in zip(
        masked.index, keys.tolist(), masked[fields + extra].to_dict("records"), strict=True
    ):
        for name in extra:
            if _absent(row[name]):
                del row[name]
        rows.append(
            {
                "source_system": source,
                "record_type": record.name,
                "record_key": key,
                "reasons": _storable("; ".join(dict.fromkeys(reasons[i]))),
                "payload": _storable(_payload(row, record.payload)),
            }
        )
    return _quarantine_frame(rows)


def _storable(text: str) -> str:
    """No database text column holds a NUL; the reasons name it, the payload shows U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _payload(record: dict, form: str) -> str:
    if form == "csv":  # as the CSV line it came in
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(
            ["" if _absent(v) else v for v in record.values()]
        )
        return out.getvalue()
    parts = [f"{json.dumps(k, ensure_ascii=False)}:{_json_value(v)}" for k, v in record.items()]
    return "{" + ",".join(parts) + "}"


def _absent(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NaT


def _json_value(v) -> str:
    if _absent(v):
        return "null"
    if isinstance(v, pd.Timestamp):  # epoch fields were typed by the connector: back to ms
        return str(v.value // 1_000_000)  # ns since the epoch (UTC), floored to ms
    if isinstance(v, Decimal):
        return str(v)  # JSON number, exactly as received
    return json.dumps(v, ensure_ascii=False, default=str)


def reconcile(received: pd.DataFrame, validated: Validated) -> dict[str, int]:
    """received = accepted + quarantined, by distinct key (rows without a key counted apart)."""
    keys = received["_key"]
    accepted = set(validated.accepted["_key"].dropna())
    quarantined = set(validated.quarantine["record_key"].dropna())
    counts = {
        "received": int(keys.nunique()),
        "accepted": len(accepted),
        "quarantined": len(quarantined),
        "received_keyless": int(keys.isna().sum()),
        "quarantined_keyless": int(validated.quarantine["record_key"].isna().sum()),
    }
    if accepted & quarantined or accepted | quarantined != set(keys.dropna()):
        raise AssertionError(
            f"{validated.source}/{validated.record_type} does not reconcile: {counts}"
        )
    if counts["received_keyless"] != counts["quarantined_keyless"]:
        raise AssertionError(
            f"{validated.source}/{validated.record_type}: keyless rows lost: {counts}"
        )
    return counts
