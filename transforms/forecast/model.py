"""The learned forecast: LightGBM quantile regression (P50 and P80) on earned-value features
and stop-work history, fitted on the states of the hub's own completed projects.

It predicts what the baselines cannot see: how far a project's reported progress runs ahead
of its true pace (progress curves are S-shaped, acceptance follows the works), and what
variations a slow project accrues. Fitting is deterministic: one thread, fixed seeds, rows in
a fixed order.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from transforms.forecast.baselines import earned_schedule, earned_value, planned_duration

if TYPE_CHECKING:
    import lightgbm as lgb

PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "lambda_l2": 1.0,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 31,
    "verbosity": -1,
}
ROUNDS = 250
MIN_ROWS = 200  # training rows below which no model is fitted


def features(s: pd.DataFrame) -> pd.DataFrame:
    """Numbers a model can weigh, all relative to the project's own plan and size."""
    pd_days = planned_duration(s)
    start = s["planned_start"].fillna(s["start"])
    contract = s["contract"]
    return pd.DataFrame(
        {
            "progress": s["progress"],
            "gain_91": s["gain_91"],
            "elapsed": (s["origin"] - start) / pd_days,
            "since_works": (s["origin"] - s["start"]) / pd_days,
            "late_start": (s["start"] - start) / pd_days,
            "planned_days": pd_days,
            "es_left": (earned_schedule(s) - s["origin"]) / pd_days,
            "plan_left": (start + pd_days - s["origin"]) / pd_days,
            "paid_share": s["paid"] / contract,
            "advance_share": s["paid_advance"] / contract,
            "progress_share": s["paid_progress"] / contract,
            "first_progress": s["first_progress"] / contract,
            "last_progress": s["last_progress"] / contract,
            "progress_growth": s["last_progress"]
            / s["first_progress"].where(s["first_progress"] > 0),
            "progress_payments": s["progress_payments"],
            "ev_ratio": earned_value(s) / contract,
            "budget_ratio": s["budget"] / contract,
            "log_contract": np.log10(contract.clip(lower=1)),
            "stops": s["stops"],
            "open_stops": s["open_stops"],
            "permits": s["permits"],
            "unregistered": s["planned_start"].isna().astype(float),
            "whole": s["whole"].astype(float),
        },
        index=s.index,
    ).astype("float64")


def days_left(s: pd.DataFrame) -> pd.Series:
    """The completion target, in planned durations from the origin."""
    return (s["completed"] - s["origin"]) / planned_duration(s)


def rest_ratio(s: pd.DataFrame) -> pd.Series:
    """The final-cost target: what is still to be paid until settlement, over the contract
    amounts."""
    return s["rest"] / s["contract"]


@dataclass(frozen=True)
class Quantiles:
    p50: lgb.Booster
    p80: lgb.Booster

    def predict(self, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.p50.predict(x.to_numpy()), self.p80.predict(x.to_numpy())
        return lo, np.maximum(hi, lo)


def _booster(x: np.ndarray, y: np.ndarray, alpha: float) -> lgb.Booster:
    import lightgbm as lgb  # only where a model is fitted: every command imports the registry

    params = PARAMS | {"objective": "quantile", "alpha": alpha}
    return lgb.train(params, lgb.Dataset(x, y), ROUNDS)


def _rows(x: pd.DataFrame, y: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows `y` is known for, or None with too few to learn from."""
    keep = y.notna().to_numpy()
    if keep.sum() < MIN_ROWS:
        return None
    return x.to_numpy()[keep], y.to_numpy()[keep]


@dataclass(frozen=True)
class Fitted:
    """The completion model and the cost model (the cost one None until enough projects
    with all their payments held have settled)."""

    completion: Quantiles | None
    cost: Quantiles | None


def fit_all(rows: pd.DataFrame) -> Fitted:
    """Both models from the training states `rows`. Cost is learnt from projects all of whose
    payments are held: the others' paid amounts, and so their features, are not those of the
    projects forecast.

    The boosters are trained side by side, one thread each: LightGBM lets go of the interpreter
    while it trains, and one thread per booster keeps each one's result what it is alone."""
    x = features(rows)
    data = [_rows(x, y) for y in (days_left(rows), rest_ratio(rows).where(rows["whole"]))]
    jobs = [(d, alpha) for d in data if d is not None for alpha in (0.5, 0.8)]
    with ThreadPoolExecutor(max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        boosters = iter(list(pool.map(lambda job: _booster(*job[0], job[1]), jobs)))
    return Fitted(*(None if d is None else Quantiles(next(boosters), next(boosters)) for d in data))
