"""A staged record as JSON: the text the store keeps, and the identity of a keyless record.

Both sinks compare records without a readable key by this text, so "the same record" means
the same thing wherever it is staged: values JSON cannot tell apart (NaN, infinity and null
all become null) are one record, values it can (1 and "1", null and "None") are two.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

DECIMAL_TAG = "$decimal"  # JSON has no exact decimal: money travels as {"$decimal": "12.30"}


def _tagged(value: Any) -> Any:
    return {DECIMAL_TAG: str(value)} if isinstance(value, Decimal) else value


def encode(frame: pd.DataFrame) -> list[str]:
    """Each row as JSON (framework columns `_key` and `_version` travel apart).

    pandas renders the JSON in C; only cells holding a `Decimal` are touched in Python, to
    carry them as exact text. Epoch fields go back to the milliseconds received.
    """
    body = frame.drop(columns=["_key", "_version"])
    for name in body.columns:
        column = body[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            ms = column.dt.tz_convert("UTC") if column.dt.tz else column
            whole = ms.to_numpy("datetime64[ms]").astype("int64")
            body[name] = pd.Series(whole, index=column.index, dtype="Int64").mask(column.isna())
        elif column.dtype == object and column.map(type).eq(Decimal).any():
            body[name] = column.map(_tagged)
    if body.empty:
        return ["{}"] * len(body)
    text = body.to_json(orient="records", lines=True, force_ascii=False)
    return text.rstrip("\n").split("\n")
