"""The published detail tables' rows: every accepted live record, typed as validation left it,
keyed as in `source_record` and joined to the project it is linked to.

Pure: the record types come in as an argument (the assembly knows them, a framework does not),
and the values stay as validated — `Decimal` 元, dates at midnight, Asia/Shanghai times,
sensitive fields masked — which is what the store's canonical renderer takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from schemas.records import RecordType
from transforms import normalise as n

LEAD = ("source_system", "record_key", "project_id")  # before the record's own fields
KEY = ("source_system", "record_key")  # a record's key, as `source_record` has it


def table_name(record_type: str) -> str:
    return f"record_{record_type}"


def columns(record: RecordType) -> list[str]:
    """A detail table's columns, in order: the lead, then the record's fields in model order."""
    return [*LEAD, *record.field_names]


def detail_frames(
    accepted: Mapping[str, pd.DataFrame], links: pd.DataFrame, records: Iterable[RecordType]
) -> dict[str, pd.DataFrame]:
    """Per record type of `records`, its accepted rows as `record_<type>`'s columns.

    `links` is `source_record`: every accepted record has exactly one row there, which gives
    its system and project; a record without one would be published unlinked to nothing, so it
    is an error, not a null.
    """
    return {table_name(r.name): _frame(r, accepted.get(r.name), links) for r in records}


def _frame(record: RecordType, rows: pd.DataFrame | None, links: pd.DataFrame) -> pd.DataFrame:
    if rows is None or rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns(record)})
    rows = rows.reset_index(drop=True)
    mine = links[links["record_type"] == record.name]
    at = pd.Index(mine["record_key"].to_numpy(dtype=object)).get_indexer(
        rows[record.key].to_numpy(dtype=object)
    )
    if (at < 0).any():
        missing = rows.loc[at < 0, record.key].head(5).tolist()
        raise ValueError(
            f"{record.name}: {int((at < 0).sum())} accepted record(s) have no source_record "
            f"row (e.g. {missing}); detail rows are keyed and linked as source_record is"
        )
    project = mine["project_id"].to_numpy(dtype=object)[at]
    lead = pd.DataFrame(
        {
            "source_system": mine["source_system"].to_numpy(dtype=object)[at],
            "record_key": rows[record.key],
            "project_id": np.where(pd.notna(project), project, None),
        }
    )
    fields = rows[record.field_names]  # framework columns (_key, _version...) left out
    for field in record.sensitive:
        # validation's `masked` parser masks; a sensitive field declared without it is masked
        # here, so a declaration slip cannot publish an account in full
        if record.parsers.get(field) != "masked":
            fields[field] = n.mask_account(fields[field])
    return pd.concat([lead, fields], axis=1)
