"""The hotline's figures (what the public says of a project), its table of construction work
orders and the flag a backlog of complaints raises."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from transforms.unify import Projects, count, day

COMPLAINTS = ("投诉", "举报")
OPEN = ("已受理", "办理中")
SATISFIED = ("满意", "基本满意")
DUPLICATE = "【重复工单】"
CONSTRUCTION = "城乡建设/建筑施工/"
BACKLOG_DAYS = 15
HUNDREDTH = Decimal("0.01")


def _complaints(ps: Projects) -> tuple[pd.DataFrame, np.ndarray]:
    rows, at = ps.linked("work_order", "orderNo")
    keep = rows["category"].isin(COMPLAINTS) & ~rows["title"].fillna("").str.startswith(DUPLICATE)
    keep = keep.to_numpy(dtype=bool)
    return rows[keep], at[keep]


def complaints(ps: Projects) -> dict[str, Any]:
    rows, at = _complaints(ps)
    still_open = rows["status"].isin(OPEN).to_numpy(dtype=bool)
    linked, at_all = ps.linked("work_order", "orderNo")
    rated = linked["satisfaction"].notna().to_numpy(dtype=bool)
    good = linked["satisfaction"].isin(SATISFIED).to_numpy(dtype=bool)
    asked, pleased = count(at_all[rated], ps.n), count(at_all[good], ps.n)
    rate = np.array(
        [
            (Decimal(100 * int(p)) / Decimal(int(a))).quantize(HUNDREDTH) if a else None
            for p, a in zip(pleased, asked, strict=True)
        ],
        dtype=object,
    )
    return {
        "complaint_count": count(at, ps.n),
        "open_complaint_count": count(at[still_open], ps.n),
        "satisfaction_rate": rate,
    }


def backlog(ps: Projects) -> np.ndarray:
    rows, at = _complaints(ps)
    late = rows["status"].isin(OPEN) & (
        day(rows["acceptedAt"]) < ps.today - pd.Timedelta(days=BACKLOG_DAYS)
    )
    return count(at[late.to_numpy(dtype=bool)], ps.n) > 0


def orders_table(ps: Projects) -> pd.DataFrame:
    """Every valid live order under `城乡建设/建筑施工/`, linked or not; no personal data."""
    rows = ps.accepted["work_order"]
    rows = rows[rows["topic"].fillna("").str.startswith(CONSTRUCTION)]
    mine = ps.links[ps.links["record_type"] == "work_order"]
    at = pd.Index(mine["record_key"].to_numpy(dtype=object)).get_indexer(
        rows["orderNo"].to_numpy(dtype=object)
    )
    ids = mine["project_id"].to_numpy(dtype=object)
    linked = np.where(at >= 0, ids[at], None)
    return pd.DataFrame(
        {
            "order_no": rows["orderNo"].to_numpy(dtype=object),
            "project_id": pd.Series(np.where(pd.notna(linked), linked, None), dtype=object),
            "category": rows["category"].to_numpy(dtype=object),
            "topic": rows["topic"].to_numpy(dtype=object),
            "accepted_at": _utc(rows["acceptedAt"]),
            "status": rows["status"].to_numpy(dtype=object),
            "closed_at": _utc(rows["closedAt"]),
            "satisfaction": rows["satisfaction"].to_numpy(dtype=object),
            "region_code": rows["regionCode"].to_numpy(dtype=object),
            "title": rows["title"].to_numpy(dtype=object),
        }
    )


def _utc(times: pd.Series) -> pd.Series:
    values = pd.to_datetime(times)
    if values.dt.tz is None:
        values = values.dt.tz_localize("Asia/Shanghai")
    return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]").reset_index(drop=True)
