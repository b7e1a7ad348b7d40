"""The field's baselines, from a `history.state` frame: earned schedule and earned value
(point forecasts), and a reference class of the hub's own completed projects (P50 and P80).

Earned schedule (Lipke): the planned value runs linearly from the planned start to the
planned end, so the earned schedule of a project at progress P is ES = P × PD (PD the planned
duration); SPI(t) = ES / AT (AT the time since the planned start) and IEAC(t) = PD / SPI(t),
the completion forecast planned_start + IEAC(t). Earned value: EV = P × BAC (BAC the contract
amounts), CPI = EV / AC (AC what was paid), EAC = BAC / CPI. Without progress both fall back to
the plan: the planned duration from the planned start (or the works' start), the contract
amounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_CLASS = 20  # completed projects a reference class needs before it is used alone
MAX_DURATION = 4  # planned durations: the longest an earned-schedule forecast runs


def planned_duration(s: pd.DataFrame) -> pd.Series:
    return (s["planned_end"] - s["planned_start"]).clip(lower=30).fillna(365)


def earned_schedule(s: pd.DataFrame) -> pd.Series:
    """Completion day by IEAC(t), at most MAX_DURATION planned durations from the start (a
    sliver of progress would put it centuries away); never before the day after the origin."""
    pd_days = planned_duration(s)
    start = s["planned_start"].fillna(s["start"])
    at = (s["origin"] - start).clip(lower=1)
    es = s["progress"] * pd_days
    ieac = (pd_days * at / es.where(es > 0)).clip(upper=MAX_DURATION * pd_days)
    day = (start + ieac).fillna(start + pd_days)
    return np.maximum(day, s["origin"] + 1)


def earned_value(s: pd.DataFrame) -> pd.Series:
    """Final cost by EAC = BAC / CPI; never below what was paid. AC is what the treasury
    paid: the advance and the fees paid before the works count in it, and the settlement
    comes after them, so early on it runs high (the field's method on the data the hub has)."""
    ev = s["progress"] * s["contract"]
    cpi = ev / s["paid"].where(s["paid"] > 0)
    eac = (s["contract"] / cpi.where(cpi > 0)).fillna(s["contract"])
    return np.maximum(eac, s["paid"])


def size_band(contract: pd.Series) -> pd.Series:
    return pd.cut(contract, [-np.inf, 5e6, 5e7, np.inf], labels=["S", "M", "L"]).astype(str)


def reference_ratios(done: pd.DataFrame) -> pd.DataFrame:
    """Completed projects' outcomes against their plans: the duration ratio (actual over
    planned, from the planned start) and the cost ratio (final cost over contract amounts),
    one row per project, with its class (size band)."""
    pd_days = planned_duration(done)
    start = done["planned_start"].fillna(done["start"])
    return pd.DataFrame(
        {
            "band": size_band(done["contract"]),
            "duration": (done["completed"] - start) / pd_days,
            "cost": done["final_cost"] / done["contract"],
        },
        index=done.index,
    )


def reference_class(
    s: pd.DataFrame, ratios: pd.DataFrame, quantile: float
) -> tuple[pd.Series, pd.Series]:
    """(completion day, final cost) at `quantile` of the reference class of each project (its
    size band when it holds MIN_CLASS projects, all of them otherwise), never before the
    origin's next day nor below what was paid."""
    band = size_band(s["contract"])
    overall = ratios[["duration", "cost"]].quantile(quantile)
    grouped = ratios.groupby("band")[["duration", "cost"]]
    # a band's own quantile where it holds MIN_CLASS projects with that outcome
    per = grouped.quantile(quantile).where(grouped.count() >= MIN_CLASS)
    dur = band.map(per["duration"]).astype(float).fillna(overall["duration"])
    cost = band.map(per["cost"]).astype(float).fillna(overall["cost"])
    start = s["planned_start"].fillna(s["start"])
    day = np.maximum(start + dur * planned_duration(s), s["origin"] + 1)
    return day, np.maximum(cost * s["contract"], s["paid"])
