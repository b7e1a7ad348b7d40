"""What a forecast knows of a project as of a day: its plan, its permits, its progress reports,
its payments and its stop-work orders, as facts dated by when they became known.

The hub's published snapshot (`transforms.forecast.figures`) and the simulated world's truth
(`transforms.forecast.backtest`) both reduce to this one shape, so the forecasts published and
the forecasts scored are computed by the same code. Days are integers (days since 1970-01-01);
money is float 元 here, because a forecast is an estimate: it is published rounded up to whole 元.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

# Settlement (结算) falls within 90 days of a permit's end, and acceptance after it: a
# project's final cost is what it has paid 120 days after its completion (retention money,
# 质保金, a year or two later, is not part of it).
SETTLED_AFTER = 120
WHOLE_AFTER = 90  # days: compensation is paid up to 90 days before the works begin
EPOCH = pd.Timestamp("1970-01-01")  # day 0
# what a payment is for, from its memo (摘要): the contract's advance, its progress payments,
# or anything else (settlement, fees, compensation)
KINDS = {"预付款": "advance", "进度款": "progress"}


def payment_kind(memo: pd.Series) -> np.ndarray:
    return memo.map(KINDS).fillna("other").to_numpy(dtype=object)


@dataclass(frozen=True)
class Histories:
    """Per project (`projects`, indexed by project id, sorted) and its dated facts."""

    # planned_start, planned_end (days or NaN), completed (day of completion or NaN)
    projects: pd.DataFrame
    budgets: pd.DataFrame  # project, day (known from), budget (approved investment, 元)
    permits: pd.DataFrame  # project, permit, issued (day), amount (contract, 元)
    # project, permit, period, known (day reported), rate (0..100); sorted by period, known
    reports: pd.DataFrame
    # project, day, amount (元, reversals negative), kind (KINDS), payee (credit code or name)
    payments: pd.DataFrame
    stops: pd.DataFrame  # project, day (stop-work order), lifted (day or NaN)
    # states already worked out, by day (a backtest asks for the same days at every origin)
    known: dict[int, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def settled_paid(self) -> pd.Series:
        """What each completed project had paid, of the payments held, 120 days after its
        completion (NaN while not complete)."""
        done = self.projects["completed"]
        pay = self.payments
        until = done.reindex(pay["project"]).to_numpy() + SETTLED_AFTER
        paid = pay[pay["day"].to_numpy() <= until].groupby("project")["amount"].sum()
        return paid.reindex(self.projects.index).fillna(0.0).where(done.notna())

    def final_costs(self) -> pd.Series:
        """What each completed project paid up to 120 days after its completion (NaN while
        not complete, and for a project whose payments are not all held: see `whole`). Once
        that window has closed it is the final cost; callers judge when it has."""
        return self.settled_paid().where(self.whole)

    @cached_property
    def numbered(self) -> tuple[Histories, np.ndarray | None]:
        return _numbering(self)

    @cached_property
    def whole(self) -> pd.Series:
        """Whether all of a project's payments can be held: its works began WHOLE_AFTER days
        after the first payment held or later (compensation and fees are paid before the
        works; the treasury's records begin on a day of their own)."""
        begun = self.permits.groupby("project")["issued"].min().reindex(self.projects.index)
        first = self.payments["day"].min() if len(self.payments) else np.inf
        return (begun >= first + WHOLE_AFTER).fillna(False)

    def budget_on(self, day: int) -> pd.Series:
        """Each project's approved investment as known on `day` (its latest version by then)."""
        known = self.budgets[self.budgets["day"].to_numpy() <= day]
        return known.drop_duplicates("project", keep="last").set_index("project")["budget"]


def _at(frame: pd.DataFrame, column: str, day: int) -> pd.DataFrame:
    return frame[frame[column].to_numpy() <= day]


def progress_at(h: Histories, day: int) -> tuple[pd.Series, pd.Series]:
    """Each project's progress (0..1) known on `day`: its permits' latest reported rates,
    weighted by contract amount, a permit issued without a report yet counting as 0; and the
    contract amount of the permits issued by then."""
    permits = _at(h.permits, "issued", day)
    reports = _at(h.reports, "known", day)
    latest = reports.drop_duplicates("permit", keep="last").set_index("permit")["rate"]
    rate = latest.reindex(permits["permit"]).fillna(0).to_numpy() / 100
    weight = permits["amount"].to_numpy()
    grouped = pd.DataFrame(
        {"project": permits["project"].to_numpy(), "w": weight, "wr": weight * rate}
    ).groupby("project")
    contract = grouped["w"].sum()
    return (grouped["wr"].sum() / contract.where(contract > 0)).fillna(0), contract


def state(h: Histories, day: int) -> pd.DataFrame:
    """The active projects on `day` (works begun, not yet complete) and what is known of each:
    the inputs of every forecast method."""
    if day not in h.known:
        numbered, ids = h.numbered
        s = _state(numbered, day)
        h.known[day] = s if ids is None else s.set_axis(pd.Index(ids[s.index], name="project"))
    return h.known[day]


def _numbering(h: Histories) -> tuple[Histories, np.ndarray | None]:
    """`h` with its projects, permits and payees as numbers in their sorted order, and the
    project ids by number; (`h`, None) when a fact names a project `h.projects` does not hold.
    Grouping by numbers costs a fraction of grouping by text (it was most of a state's time)
    and sorts alike, so every state comes out the same."""
    ids = h.projects.index
    frames = {n: getattr(h, n) for n in ("budgets", "permits", "reports", "payments", "stops")}
    at = {n: ids.get_indexer(f["project"]) for n, f in frames.items()}
    if not (ids.is_unique and ids.is_monotonic_increasing) or any(
        (a < 0).any() for a in at.values()
    ):
        return h, None
    numbered = {n: f.assign(project=at[n]) for n, f in frames.items()}
    permit, reported = _in_sorted_order(frames["permits"]["permit"], frames["reports"]["permit"])
    (payee,) = _in_sorted_order(frames["payments"]["payee"])
    numbered["permits"]["permit"], numbered["reports"]["permit"] = permit, reported
    numbered["payments"]["payee"] = payee
    return Histories(h.projects.set_axis(pd.RangeIndex(len(ids))), **numbered), ids.to_numpy()


def _in_sorted_order(*columns: pd.Series) -> list[np.ndarray]:
    """Each column's values as numbers in the sorted order of all of them together (a missing
    value NaN)."""
    codes, _ = pd.factorize(pd.concat(columns, ignore_index=True), sort=True)
    numbers = np.where(codes < 0, np.nan, codes)
    return np.split(numbers, np.cumsum([len(c) for c in columns[:-1]]))


def _state(h: Histories, day: int) -> pd.DataFrame:
    p = h.projects
    started = _at(h.permits, "issued", day).groupby("project")["issued"].min()
    active = started.index[~(p["completed"].reindex(started.index) <= day).to_numpy()]
    progress, contract = progress_at(h, day)
    before, _ = progress_at(h, day - 91)
    paid_rows = _at(h.payments, "day", day)
    paid = paid_rows.groupby("project")["amount"].sum()
    by_kind = paid_rows.groupby(["project", "kind"])["amount"].sum().unstack("kind")
    stops = _at(h.stops, "day", day)
    open_stops = stops[~(stops["lifted"] <= day)]
    s = pd.DataFrame(index=pd.Index(active, name="project"))
    s["origin"] = day
    s["start"] = started.reindex(active)
    s["planned_start"] = p["planned_start"].reindex(active)
    s["planned_end"] = p["planned_end"].reindex(active)
    s["contract"] = contract.reindex(active).fillna(0)
    s["progress"] = progress.reindex(active).fillna(0)
    s["gain_91"] = s["progress"] - before.reindex(active).fillna(0)
    s["paid"] = paid.reindex(active).fillna(0)
    # progress payments grow as variations are approved: the first and the latest to each
    # payee (a contractor: one permit's works) tell how much
    installments = paid_rows[(paid_rows["kind"] == "progress") & (paid_rows["amount"] > 0)]
    installments = installments.sort_values(["project", "payee", "day"], kind="stable")
    per_payee = installments.groupby(["project", "payee"])["amount"].agg(["first", "last", "size"])
    by_project = per_payee.groupby(level="project")
    s["first_progress"] = by_project["first"].sum().reindex(active).fillna(0)
    s["last_progress"] = by_project["last"].sum().reindex(active).fillna(0)
    s["progress_payments"] = by_project["size"].max().reindex(active).fillna(0)
    for kind in ("advance", "progress"):
        paid_kind = by_kind[kind] if kind in by_kind else pd.Series(dtype="float64")
        s[f"paid_{kind}"] = paid_kind.reindex(active).fillna(0)
    s["stops"] = stops.groupby("project").size().reindex(active).fillna(0)
    s["open_stops"] = open_stops.groupby("project").size().reindex(active).fillna(0)
    s["permits"] = _at(h.permits, "issued", day).groupby("project").size().reindex(active)
    s["whole"] = h.whole.reindex(active).fillna(False).astype(bool)
    return s[s["contract"] > 0]


def states(h: Histories, days: np.ndarray) -> pd.DataFrame:
    """`state` on each day, one frame, with each project's outcome beside it (for training
    and scoring: `completed`, `final_cost`, `rest`), as far as the histories reach: callers
    mask what was not yet known on their day."""
    frames = [state(h, int(d)).reset_index() for d in days]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if out.empty:
        return out
    out["completed"] = h.projects["completed"].reindex(out["project"]).to_numpy()
    out["final_cost"] = h.final_costs().reindex(out["project"]).to_numpy()
    # what was paid after the state's day until settlement
    out["rest"] = h.settled_paid().reindex(out["project"]).to_numpy() - out["paid"].to_numpy()
    return out
