"""The published forecasts: `project` columns and two risk flags, from the snapshot's own
linked records (the registry's plan, housing's permits, reports, inspections and acceptances,
the treasury's payments). They need the registry and housing taking part; without them the
columns stay null.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from transforms.figures import Figure, Flag
from transforms.forecast.history import EPOCH, Histories, payment_kind
from transforms.forecast.methods import forecast
from transforms.unify import Projects, day

NEEDS = ("project", "permit", "progress_report", "inspection", "acceptance")
COLUMNS = (
    "forecast_completion_p50",
    "forecast_completion_p80",
    "forecast_completion_method",
    "forecast_cost_p50",
    "forecast_cost_p80",
    "forecast_cost_method",
)
PLAN_MARGIN = 0.1  # a forecast beyond its plan by a tenth of it raises a flag
ALWAYS = -(10**6)  # a day before any other


def _days(values: pd.Series) -> np.ndarray:
    return ((day(values) - EPOCH).dt.days).to_numpy(dtype="float64")


def _float(values) -> np.ndarray:
    return np.array([float(v) if isinstance(v, Decimal) else np.nan for v in values])


def night_histories(ps: Projects) -> Histories:
    """The snapshot's linked records as dated facts per project (the registry's current
    approved investment known all along: the hub keeps no earlier version)."""
    p = ps.table
    projects = pd.DataFrame(
        {
            "planned_start": _days(pd.to_datetime(p["planned_start_date"])),
            "planned_end": _days(pd.to_datetime(p["planned_end_date"])),
            "completed": _days(pd.to_datetime(p["completion_date"])),
        },
        index=ps.ids,
    )
    budgets = pd.DataFrame(
        {"project": ps.ids, "day": ALWAYS, "budget": _float(p["approved_investment"])}
    )
    rows, at = ps.linked("permit", "permitNo")
    permits = pd.DataFrame(
        {
            "project": ps.ids[at],
            "permit": rows["permitNo"].to_numpy(dtype=object),
            "issued": _days(rows["issueDate"]),
            "amount": _float(rows["contractAmount"]),
        }
    )
    rows, _, at = ps.through(ps.accepted["progress_report"], "permitNo", "permit", "permitNo")
    reports = pd.DataFrame(
        {
            "project": ps.ids[at],
            "permit": rows["permitNo"].to_numpy(dtype=object),
            "period": rows["period"].to_numpy(dtype=object),
            "known": _days(rows["reportedAt"]),
            "rate": rows["completionRate"].to_numpy(dtype="float64"),
        }
    ).sort_values(["period", "known"], kind="stable")
    if "voucher" in ps.accepted:
        rows, at = ps.linked("voucher", "凭证号")
        payments = pd.DataFrame(
            {
                "project": ps.ids[at],
                "day": _days(rows["支付日期"]),
                "amount": _float(rows["金额"]),
                "kind": payment_kind(rows["摘要"]),
                "payee": rows["收款人统一社会信用代码"].fillna(rows["收款人全称"]).to_numpy(),
            }
        )
    else:
        payments = pd.DataFrame(
            {"project": [], "day": [], "amount": [], "kind": [], "payee": []}
        ).astype({"day": "float64", "amount": "float64"})
    rows, _, at = ps.through(ps.accepted["inspection"], "permitNo", "permit", "permitNo")
    stop = (rows["result"] == "停工整改").to_numpy()
    stops = pd.DataFrame(
        {
            "project": ps.ids[at][stop],
            "day": _days(rows["inspectDate"])[stop],
            "lifted": _days(rows["rectifiedAt"])[stop],
        }
    )
    return Histories(projects, budgets, permits, reports, payments, stops)


def forecasts(ps: Projects) -> dict[str, Any]:
    """P50 and P80 of each active project's completion date and final cost, and the method
    each comes from: the one with the least error on completed projects held out of the fit."""
    empty = {c: np.full(ps.n, None, dtype=object) for c in COLUMNS}
    if any(r not in ps.accepted for r in NEEDS):
        return empty
    today = int((ps.today - EPOCH).days)
    f = forecast(night_histories(ps), today)
    if f is None:
        return empty
    out = f.published().reindex(ps.ids)
    if "voucher" not in ps.accepted:  # no payments: no cost forecast
        out[["cost_p50", "cost_p80", "cost_method"]] = None
    dates = {
        c: (EPOCH + pd.to_timedelta(np.ceil(out[f"completion_{q}"]), unit="D")).to_numpy()
        for c, q in (("forecast_completion_p50", "p50"), ("forecast_completion_p80", "p80"))
    }
    yuan = {
        c: np.array(
            [
                None if np.isnan(v) else Decimal(math.ceil(v)).quantize(Decimal("0.01"))
                for v in out[f"cost_{q}"]
            ],
            dtype=object,
        )
        for c, q in (("forecast_cost_p50", "p50"), ("forecast_cost_p80", "p80"))
    }
    methods = {
        "forecast_completion_method": out["completion_method"].to_numpy(dtype=object),
        "forecast_cost_method": out["cost_method"].to_numpy(dtype=object),
    }
    return dates | yuan | methods


FIGURE = Figure(
    COLUMNS,
    ("project", "permit", "progress_report", "inspection", "acceptance", "voucher"),
    "for each project whose works have begun and are not complete (no `completion_date`): "
    "P50 and P80 of its completion date and final cost (what it will have paid 120 days after "
    "completion), each by the method with the least error on the hub's own completed projects "
    "held out of the fit: `earned schedule` / `earned value`, `reference class` or "
    "`quantile model` (LightGBM on earned-value features and stop-work history)",
    forecasts,
)


def slip(ps: Projects) -> np.ndarray:
    p = ps.table
    start, end = pd.to_datetime(p["planned_start_date"]), pd.to_datetime(p["planned_end_date"])
    late = end + (end - start) * PLAN_MARGIN
    return (pd.to_datetime(p["forecast_completion_p50"]) > late).to_numpy(dtype=bool)


def overrun(ps: Projects) -> np.ndarray:
    p = ps.table
    return np.array(
        [
            isinstance(f, Decimal) and isinstance(b, Decimal) and f > b
            for f, b in zip(p["forecast_cost_p50"], p["approved_investment"], strict=True)
        ],
        dtype=bool,
    )


FLAGS = (
    Flag(
        "FORECAST_OVERRUN",
        ("project", "permit", "progress_report", "voucher"),
        "`forecast_cost_p50` is above `approved_investment` (the forecast of `OVER_BUDGET`)",
        overrun,
    ),
    Flag(
        "FORECAST_SLIP",
        ("project", "permit", "progress_report", "acceptance"),
        "`forecast_completion_p50` is later than `planned_end_date` by more than a tenth of "
        "the planned duration (`planned_start_date` to `planned_end_date`)",
        slip,
    ),
)
