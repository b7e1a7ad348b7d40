"""What a department declares of each record type it serves: the pandera model of the typed
record, how each field is read from the wire, its key, its sensitive fields.

Field names are the contracts' own; money is in 元 as `Decimal` (万元 converted exactly), dates
are dates, times are Asia/Shanghai timestamps, codes are trimmed and folded to half-width.
`schemas.validate` applies the parsers, then the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated

import pandas as pd
import pandera.pandas as pa

import schemas.checks  # noqa: F401 - registers the shared checks used in the Fields

Timestamp = Annotated[pd.DatetimeTZDtype, "us", "Asia/Shanghai"]
Date = pa.DateTime  # a calendar date at midnight, datetime64
Money = object  # Decimal in 元, 2 places

# how a field is read from the wire (`schemas.validate` holds the functions); unnamed: text
PARSERS = (
    "code", "text", "masked", "money_wan", "money_yuan", "number", "integer", "date_compact",
    "date_dashed", "time_local", "time_iso", "epoch", "decimal",
)  # fmt: skip


class Record(pa.DataFrameModel):
    class Config:
        strict = False  # framework columns (_key, _version, ...) ride along
        coerce = False


def required(**checks) -> pa.Field:
    return pa.Field(nullable=False, **checks)


def optional(**checks) -> pa.Field:
    return pa.Field(nullable=True, **checks)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per type
class RecordType:
    name: str  # the unified dataset's `record_type`, e.g. "permit"
    model: type[Record]
    key: str  # the field identifying a record; the connector's stream names the same
    parsers: Mapping[str, str] = field(default_factory=dict)  # field -> one of PARSERS
    sensitive: tuple[str, ...] = ()  # masked wherever the record is shown
    # a dataframe-level check of the model (`@pa.dataframe_check(name=...)`) -> what a failure
    # means, in words a data engineer can act on
    check_words: Mapping[str, str] = field(default_factory=dict)
    payload: str = "json"  # how a quarantined record is shown: "json", or "csv" (its line)
    # whole-batch normalisation before the parsers, for fields read together (a geometry and
    # its `srid`): returns the batch with those fields replaced and what it could not read
    # added to `_problems`; a quarantined record still shows its fields as received
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        fields = set(self.field_names)
        unknown = [f for f, p in self.parsers.items() if f not in fields or p not in PARSERS]
        if unknown or self.key not in fields:
            raise ValueError(
                f"record type {self.name}: parsers name unknown fields or parsers {unknown}, "
                f"or its key {self.key!r} is not a field of {self.model.__name__}"
            )

    @property
    def field_names(self) -> list[str]:
        return list(self.model.to_schema().columns)

    @property
    def required_fields(self) -> list[str]:
        return [n for n, c in self.model.to_schema().columns.items() if not c.nullable]
