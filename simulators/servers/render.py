"""Serialising source records exactly as each contract puts them on the wire."""

from __future__ import annotations

import json
import math

import pandas as pd

# field kinds: "str" a JSON string, "num" a JSON number written verbatim from its decimal text
# (never through a binary float), "int" a JSON integer; missing values are null everywhere.


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def json_items(frame: pd.DataFrame, spec: list[tuple[str, str]]) -> list[str]:
    """Each row of `frame` as a JSON object text, fields in contract order."""
    columns = [frame[name].to_numpy(dtype=object) for name, _ in spec]
    dumps = json.dumps
    out = []
    for row in zip(*columns, strict=True):
        parts = []
        for (name, kind), v in zip(spec, row, strict=True):
            if _missing(v):
                text = "null"
            elif kind == "str":
                text = dumps(v, ensure_ascii=False)
            elif kind == "int":
                text = str(int(v))
            else:
                text = str(v)
            parts.append(f'"{name}":{text}')
        out.append("{" + ",".join(parts) + "}")
    return out
