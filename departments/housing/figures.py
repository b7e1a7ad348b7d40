"""Permits, progress, inspections and acceptances per project, and the flags they raise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from transforms.unify import Projects, count, day, extreme, money


def latest_reports(reports: pd.DataFrame) -> pd.DataFrame:
    """Each permit's latest report (latest period, then latest reportedAt; of equals the
    last given) in permit order, its period's rank in `_period`: sorted as small integers,
    not as millions of strings."""
    permit, _ = pd.factorize(reports["permitNo"].to_numpy(dtype=object), sort=True)
    period, _ = pd.factorize(reports["period"].to_numpy(dtype=object), sort=True)
    at = reports["reportedAt"].to_numpy(dtype="datetime64[ns]").view("int64")
    order = np.lexsort((at, period, permit))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = permit[order][1:] != permit[order][:-1]
    return reports.iloc[order[last]].assign(_period=period[order[last]])


def permits(ps: Projects) -> dict[str, Any]:
    rows, at = ps.linked("permit", "permitNo")
    return {
        "permit_count": count(at, ps.n),
        "contract_amount": money(at, rows["contractAmount"], ps.n),
    }


def progress(ps: Projects) -> dict[str, Any]:
    """Each live permit's latest report, weighted by the permit's contract amount."""
    permit_rows, _ = ps.linked("permit", "permitNo")
    latest, permit, at = ps.through(
        latest_reports(ps.accepted["progress_report"]), "permitNo", "permit", "permitNo"
    )
    weight = permit_rows["contractAmount"].to_numpy(dtype=object)[permit]
    weight = pd.Series([float(w) for w in weight], index=latest.index, dtype="float64")
    latest = latest.assign(_p=at, w=weight, wr=weight * latest["completionRate"])
    grouped = latest.groupby("_p")
    rate = (grouped["wr"].sum() / grouped["w"].sum()).round(2)
    last_period = latest.sort_values("_period").drop_duplicates("_p", keep="last")
    return {
        "progress_rate": rate.reindex(range(ps.n)).to_numpy(dtype="float64"),
        "progress_period": last_period.set_index("_p")["period"]
        .reindex(range(ps.n))
        .to_numpy(dtype=object),
    }


def inspections(ps: Projects) -> dict[str, Any]:
    rows, _, at = ps.through(ps.accepted["inspection"], "permitNo", "permit", "permitNo")
    stopped = ((rows["result"] == "停工整改") & rows["rectifiedAt"].isna()).to_numpy()
    return {"inspection_count": count(at, ps.n), "open_stop_work_count": count(at[stopped], ps.n)}


def completion(ps: Projects) -> dict[str, Any]:
    """The latest 合格 acceptance, once every live permit of the project has one."""
    _, permit_at = ps.linked("permit", "permitNo")
    rows, permit, at = ps.through(ps.accepted["acceptance"], "permitNo", "permit", "permitNo")
    passed = (rows["result"] == "合格").to_numpy()
    permits_passed = count(permit_at[np.unique(permit[passed])], ps.n)
    permit_count = count(permit_at, ps.n)
    all_passed = (permit_count > 0) & (permits_passed == permit_count)
    latest = extreme(at[passed], day(rows["acceptDate"][passed]), ps.n, "max")
    return {"completion_date": pd.Series(latest, index=ps.table.index).where(all_passed)}


def unapproved(ps: Projects) -> np.ndarray:
    return np.asarray(ps.table.index.str.startswith("X-"), dtype=bool)


def schedule_slip(ps: Projects) -> np.ndarray:
    p, today = ps.table, ps.today
    start, end = pd.to_datetime(p["planned_start_date"]), pd.to_datetime(p["planned_end_date"])
    span = (end - start).dt.days
    planned = (100 * (today - start).dt.days / span.where(span > 0)).clip(0, 100)
    late = (today > end) & pd.to_datetime(p["completion_date"]).isna()
    behind = p["progress_rate"].notna() & planned.notna() & (p["progress_rate"] < planned - 20)
    return (late.fillna(False) | behind).to_numpy(dtype=bool)


def stop_work_open(ps: Projects) -> np.ndarray:
    return (ps.table["open_stop_work_count"] > 0).to_numpy(dtype=bool)
