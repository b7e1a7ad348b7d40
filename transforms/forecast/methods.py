"""Every forecast method side by side, and the one published: fitted on the states of the
projects completed before the forecast's day, chosen by its error on completed projects held
out of the fit, its P80 calibrated on them (a conformal shift).

The same function serves the night (one day, the snapshot's `as_of_date`) and the backtest
(one day per origin), so what is scored is what is published.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.forecast import baselines as base
from transforms.forecast import model
from transforms.forecast.history import EPOCH, SETTLED_AFTER, Histories, state, states

GRID_STATES = 48  # the training states: the month ends before the forecast's day, four years
COHORT = 0.9  # the share of a cohort with an outcome before it teaches (see training_states)
HELD_OUT = 4  # one completed project in four is held out of the fit, to choose and calibrate
BANDS = [-np.inf, 0.375, 0.625, np.inf]  # progress bands apart: about 25, 50, 75 %

COMPLETION = ("earned schedule", "reference class", "quantile model")
COST = ("earned value", "reference class", "quantile model")


@dataclass(frozen=True)
class Forecast:
    """Per active project (`frame`, by project id): every method's P50 and P80 of the
    completion day and the final cost ("<target> <quantile> <method>"), and the method
    published for each target ("<target> method")."""

    frame: pd.DataFrame

    def pick(self, target: str, quantile: str) -> pd.Series:
        """The published method's forecast, project by project."""
        f, method = self.frame, self.frame[f"{target} method"]
        names = COMPLETION if target == "completion" else COST
        columns = [f"{target} {quantile} {n}" for n in names]
        values = [f[c] if c in f else pd.Series(np.nan, index=f.index) for c in columns]
        return pd.Series(np.select([method == n for n in names], values, np.nan), index=f.index)

    def published(self) -> pd.DataFrame:
        out = pd.DataFrame(index=self.frame.index)
        for target in ("completion", "cost"):
            for q in ("p50", "p80"):
                out[f"{target}_{q}"] = self.pick(target, q)
            out[f"{target}_method"] = self.frame[f"{target} method"]
        return out


def training_states(h: Histories, day: int) -> pd.DataFrame:
    """The states of the past (each month's end before `day`) with what was known on `day` of
    their outcomes: a completion on or before it, a final cost settled by it."""
    month_ends = pd.date_range(
        end=EPOCH + pd.Timedelta(days=day - 1), periods=GRID_STATES, freq="ME"
    )
    grid = ((month_ends - EPOCH).days).to_numpy()
    first = h.permits["issued"].min() if len(h.permits) else day
    s = states(h, grid[grid >= first])
    if s.empty:
        return s
    done = (s["completed"] <= day).to_numpy()
    settled = done & (s["completed"] + SETTLED_AFTER <= day).to_numpy()
    # a cohort (a day's states in one progress band) teaches only once nearly all of it has
    # an outcome: the part still open is the slow part, and leaving it out would bias
    cohort = [s["origin"].to_numpy(), pd.cut(s["progress"], BANDS, labels=False).to_numpy()]

    def complete(known: np.ndarray) -> np.ndarray:
        share = pd.Series(known).groupby(cohort).transform("mean")
        return (share >= COHORT).to_numpy(dtype=bool)

    settled &= complete(settled)
    s["completed"] = s["completed"].where(done & complete(done))
    s["final_cost"] = s["final_cost"].where(settled)
    s["rest"] = s["rest"].where(settled)
    return s[s["completed"].notna() | s["rest"].notna()].reset_index(drop=True)


def _fold(projects: pd.Series) -> np.ndarray:
    """A number per project from its id alone (the same on every run and every night)."""
    return np.array([hashlib.sha256(str(p).encode()).digest()[0] for p in projects])


def _held_out(projects: pd.Series) -> np.ndarray:
    return _fold(projects) % HELD_OUT == 0


def _by_method(s: pd.DataFrame, ratios: pd.DataFrame, fitted: model.Fitted) -> dict[str, pd.Series]:
    """Every method's P50 and P80 (before calibration) for the states `s`."""
    out: dict[str, pd.Series] = {}
    es, ev = base.earned_schedule(s), base.earned_value(s)
    out["completion p50 earned schedule"] = out["completion p80 earned schedule"] = es
    out["cost p50 earned value"] = out["cost p80 earned value"] = ev
    if len(ratios):
        for q, name in ((0.5, "p50"), (0.8, "p80")):
            day, cost = base.reference_class(s, ratios, q)
            out[f"completion {name} reference class"] = day
            out[f"cost {name} reference class"] = cost
    pd_days, origin = base.planned_duration(s), s["origin"]
    x = model.features(s) if fitted.completion or fitted.cost else None
    if fitted.completion is not None:
        lo, hi = fitted.completion.predict(x)
        out["completion p50 quantile model"] = np.maximum(origin + lo * pd_days, origin + 1)
        out["completion p80 quantile model"] = np.maximum(origin + hi * pd_days, origin + 1)
    if fitted.cost is not None:
        lo, hi = fitted.cost.predict(x)
        out["cost p50 quantile model"] = s["paid"] + np.maximum(lo, 0) * s["contract"]
        out["cost p80 quantile model"] = s["paid"] + np.maximum(hi, 0) * s["contract"]
    return {k: pd.Series(np.asarray(v, dtype="float64"), index=s.index) for k, v in out.items()}


def _scale(s: pd.DataFrame, target: str) -> pd.Series:
    """What a target's errors grow with: the planned duration, the contract amounts."""
    return base.planned_duration(s) if target == "completion" else s["contract"]


def _shifts(check: pd.DataFrame, miss: pd.Series, target: str):
    """The conformal shift that moves a P80 (up, or down where it was too wide) to cover four
    in five held-out outcomes, per progress band and in proportion to the project's scale
    (errors early in the works, and on long or large projects, are larger): a function of the
    states to move."""
    ok = miss.notna()
    band = pd.cut(check["progress"][ok], BANDS, labels=False)
    relative = (miss[ok] / _scale(check[ok], target)).groupby(band).quantile(0.8)
    overall = float((miss[ok] / _scale(check[ok], target)).quantile(0.8)) if ok.any() else 0.0

    def lift(s: pd.DataFrame) -> pd.Series:
        per = pd.cut(s["progress"], BANDS, labels=False).map(relative).fillna(overall)
        return per.astype("float64") * _scale(s, target)

    return lift


def forecast(h: Histories, day: int, active: pd.DataFrame | None = None) -> Forecast | None:
    """Forecasts for the projects active on `day` (or the states `active`), or None when no
    project has yet completed to learn from."""
    train = training_states(h, day)
    if train.empty:
        return None
    now = state(h, day) if active is None else active
    now = now.reset_index() if "project" not in now.columns else now
    # the approved investment as known on the day, for the past states too (as a night has it)
    budget = h.budget_on(day)
    train, now = (f.assign(budget=budget.reindex(f["project"]).to_numpy()) for f in (train, now))
    held = _held_out(train["project"])
    fit_rows, check = train[~held], train[held]
    # judged as forecasts are used: a project once per progress band, when it enters it
    band = pd.cut(check["progress"], BANDS, labels=False)
    check = check.assign(_band=band).sort_values("origin", kind="stable")
    check = check.drop_duplicates(["project", "_band"]).drop(columns="_band")
    # the reference class, like the model, learns only from the projects not held out
    last = fit_rows.sort_values("origin").drop_duplicates("project", keep="last")
    ratios = base.reference_ratios(last.set_index("project"))
    fitted = model.fit_all(fit_rows)
    predicted = _by_method(now, ratios, fitted)
    checked = _by_method(check, ratios, fitted)
    frame = pd.DataFrame(predicted).set_axis(now["project"].to_numpy())
    for target, names, truth in (
        ("completion", COMPLETION, check["completed"]),
        ("cost", COST, check["paid"] + check["rest"]),
    ):
        # costs are judged on projects all of whose payments are held
        scored = truth.notna() & (True if target == "completion" else check["whole"])
        truth = truth.where(scored)
        names = [n for n in names if f"{target} p50 {n}" in checked]
        for name in names:
            shift = _shifts(check, truth - checked[f"{target} p80 {name}"], target)
            lifted = predicted[f"{target} p80 {name}"] + shift(now)
            lifted = np.maximum(lifted, predicted[f"{target} p50 {name}"])
            frame[f"{target} p80 {name}"] = lifted.to_numpy()
        errors = pd.DataFrame({n: (checked[f"{target} p50 {n}"] - truth).abs() for n in names})
        frame[f"{target} method"] = _chosen(errors[scored])
    frame.index.name = "project"
    return Forecast(frame)


def _chosen(errors: pd.DataFrame) -> str | None:
    """The method with the least mean error over the held-out projects; of equals, the first
    in the field's order (the baselines before the model); None when none could be judged
    (nothing published then)."""
    means = errors.mean().fillna(np.inf).to_numpy()  # a method with nothing scored: never
    return None if np.isinf(means).all() else str(errors.columns[int(np.argmin(means))])
