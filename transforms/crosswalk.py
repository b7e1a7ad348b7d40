"""The crosswalk from night to night: which records changed project, and on what evidence.

Resolution is deterministic, so a record keeps its project while its evidence stays; this
reports every change (new link, lost link, other project) for a data engineer to read.
"""

from __future__ import annotations

import pandas as pd

KEY = ["source_system", "record_type", "record_key"]


def changes(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Records whose project differs between two nights' links (records gone are not listed)."""
    merged = current[[*KEY, "project_id", "link_method"]].merge(
        previous[[*KEY, "project_id", "link_method"]], on=KEY, how="left", suffixes=("", "_before")
    )
    before, now = merged["project_id_before"], merged["project_id"]
    differ = ~((before == now) | (before.isna() & now.isna()))
    was_known = merged["link_method_before"].notna()
    out = merged[differ & was_known].copy()
    out["change"] = [
        "linked" if pd.isna(b) else "unlinked" if pd.isna(n) else "moved"
        for b, n in zip(out["project_id_before"], out["project_id"], strict=True)
    ]
    return out[
        [*KEY, "project_id_before", "project_id", "link_method_before", "link_method", "change"]
    ].reset_index(drop=True)
