"""The quarantine across nights: who is still in, since when, and who was re-admitted.

Validation runs every night over the latest version of every staged record, so tonight's
quarantine is complete on its own; only `first_seen_run` needs the previous night's table.
A key that was quarantined and is not tonight has left: its latest version passed
(re-admitted into `source_record`) or the source deleted it.
"""

from __future__ import annotations

import pandas as pd

from schemas.validate import QUARANTINE_COLUMNS

IDENTITY = ["source_system", "record_type", "record_key", "_identity"]
COLUMNS = [*QUARANTINE_COLUMNS, "first_seen_run", "last_seen_run"]


def _with_identity(frame: pd.DataFrame) -> pd.DataFrame:
    # rows without a key are known by their payload
    return frame.assign(
        _identity=frame["record_key"].where(frame["record_key"].notna(), frame["payload"])
    )


def carry_forward(
    previous: pd.DataFrame | None, tonight: pd.DataFrame, run_id: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tonight's quarantine table and the previous rows that left it (re-admitted or deleted)."""
    now = _with_identity(tonight[QUARANTINE_COLUMNS])
    if previous is None or previous.empty:
        table = now.assign(first_seen_run=run_id, last_seen_run=run_id)
        return table[COLUMNS].reset_index(drop=True), pd.DataFrame(columns=COLUMNS)
    before = _with_identity(previous[COLUMNS])
    first = before.set_index(IDENTITY)["first_seen_run"]
    key = pd.MultiIndex.from_frame(now[IDENTITY])
    seen = pd.Series(first.reindex(key).to_numpy(), index=now.index)
    table = now.assign(first_seen_run=seen.fillna(run_id), last_seen_run=run_id)
    left_mask = ~pd.MultiIndex.from_frame(before[IDENTITY]).isin(key)
    return table[COLUMNS].reset_index(drop=True), before.loc[left_mask, COLUMNS].reset_index(
        drop=True
    )
