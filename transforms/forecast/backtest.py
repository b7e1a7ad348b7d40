"""A rolling-origin backtest of the forecasts over a simulated world's history
(`yiwang evaluate-forecast`).

At each origin (every quarter's end) every method is fitted on what the hub would have known
then (the projects completed before it) and forecasts the active projects; each project is
scored once per milestone (25, 50, 75 %), at the first origin where its progress lies in
[m, m + 25) %, against what the world did after. The world's records are taken with their true
projects (the resolver's own errors are `yiwang evaluate`'s). A completion is scored where the
project completes inside the world (the last origin is the last quarter at which more than nine
in ten of the projects under way do), a final cost where its settlement falls inside the world
and all the project's payments are held (`Histories.whole`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from transforms.forecast.history import EPOCH, SETTLED_AFTER, Histories, payment_kind, states
from transforms.forecast.methods import COMPLETION, COST, Forecast, forecast

MILESTONES = (25, 50, 75)
FIRST_ORIGIN, LAST_ORIGIN = dt.date(2025, 3, 31), dt.date(2026, 9, 30)


def world_histories(frames: dict[str, pd.DataFrame]) -> Histories:
    """`Histories` from a world's frames (`simulators.world.trajectories.histories`)."""
    payments = frames["payments"].copy()
    payments["kind"] = payment_kind(payments.pop("memo"))
    return Histories(
        frames["projects"],
        frames["budgets"],
        frames["permits"],
        frames["reports"],
        payments,
        frames["stops"],
    )


def _origins() -> np.ndarray:
    days = pd.date_range(FIRST_ORIGIN, LAST_ORIGIN, freq="QE")
    return ((days - EPOCH).days).to_numpy()


def run(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (project, milestone) scored: its state's origin, the truth (`completed`;
    `final_cost`, NaN where it is not scored) and every method's P50 and P80."""
    h = world_histories(frames)
    world_end = int(frames["end"]["day"].iloc[0])
    # a final cost is known once its settlement window closed inside the world
    final = h.final_costs().where(h.projects["completed"] + SETTLED_AFTER <= world_end)
    scored = []
    seen: set[tuple] = set()
    for origin in _origins():
        now = states(h, np.array([origin]))
        now = now[now["completed"].notna()]
        now = now.assign(final_cost=final.reindex(now["project"]).to_numpy())
        rows = []
        for m in MILESTONES:
            at = now[(now["progress"] * 100 >= m) & (now["progress"] * 100 < m + 25)]
            for i, p in zip(at.index, at["project"], strict=True):
                if (p, m) not in seen:
                    seen.add((p, m))
                    rows.append((i, m))
        if not rows:
            continue
        test = now.loc[[i for i, _ in rows]].assign(milestone=[m for _, m in rows])
        f = forecast(h, int(origin), test.drop(columns=["completed", "final_cost", "rest"]))
        if f is None:
            continue
        scored.append(
            pd.concat([test.reset_index(drop=True), f.frame.reset_index(drop=True)], axis=1)
        )
    if not scored:
        raise ValueError("no project of this world could be scored: try a larger scale")
    return pd.concat(scored, ignore_index=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """MAE (days; 元 and % of the final cost) and P80 coverage per method, per milestone and
    overall, over the rows every method forecast (a reference class needs completed projects
    first): the published method's beside the baselines'."""
    rows = []
    for target, names, truth_col in (
        ("completion", COMPLETION, "completed"),
        ("cost", COST, "final_cost"),
    ):
        names = [n for n in names if f"{target} p50 {n}" in table]  # a model never fitted
        common = table[truth_col].notna()
        for name in names:
            common &= table[f"{target} p50 {name}"].notna()
        published = Forecast(table)
        for name in (*names, "published"):
            if name == "published":
                p50, p80 = published.pick(target, "p50"), published.pick(target, "p80")
            else:
                p50, p80 = table[f"{target} p50 {name}"], table[f"{target} p80 {name}"]
            for m in (*MILESTONES, "all"):
                ok = common & ((table["milestone"] == m) if m != "all" else True)
                truth = table[truth_col][ok]
                err = (p50[ok] - truth).abs()
                rows.append(
                    {
                        "target": target,
                        "method": name,
                        "milestone": m,
                        "n": int(ok.sum()),
                        "mae": float(err.mean()),
                        "mape": float((err / truth.abs()).mean() * 100)
                        if target == "cost"
                        else np.nan,
                        "p80_coverage": float((truth <= p80[ok]).mean() * 100),
                    }
                )
    return pd.DataFrame(rows)


def lines(summary: pd.DataFrame) -> list[tuple[str, ...]]:
    """The summary as table rows: per target and method, MAE at each milestone and overall
    (days; 万元), how far the overall MAE is below the best baseline's, the P80 coverage
    overall and the rows scored."""
    out = []
    for target, names in (("completion", COMPLETION), ("cost", COST)):
        rows = summary[summary["target"] == target]
        overall = rows[rows["milestone"] == "all"].set_index("method")
        baselines = [n for n in names if n != "quantile model"]
        best = overall.loc[[n for n in baselines if n in overall.index], "mae"].min()
        scale = 1 if target == "completion" else 10_000  # days; 万元
        for name in (*names, "published"):
            mine = rows[rows["method"] == name].set_index("milestone")
            if mine.empty:
                continue
            mae = [f"{mine.at[m, 'mae'] / scale:,.1f}" for m in (*MILESTONES, "all")]
            below = 1 - mine.at["all", "mae"] / best
            out.append(
                (
                    target,
                    name,
                    *mae,
                    "" if name in baselines else f"{below:.1%}",
                    f"{mine.at['all', 'p80_coverage']:.1f}%",
                    f"{int(mine.at['all', 'n']):,}",
                )
            )
    return out
