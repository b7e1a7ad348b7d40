"""Forecasts (issue 31): the baselines' formulas on hand-made states, what a state knows as of
its day, which past states teach, the published columns and flags of a night, and the backtest
on the medium world."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from simulators.world import calendar as cal
from simulators.world import trajectories
from transforms.forecast import backtest
from transforms.forecast.baselines import earned_schedule, earned_value, reference_class
from transforms.forecast.history import Histories, progress_at, state
from transforms.forecast.methods import forecast, training_states

D = cal.day(dt.date(2025, 7, 1))


def a_state(**values) -> pd.DataFrame:
    """One active project on day D: planned over 400 days from D-300, half done, 1,000 元."""
    row = {
        "origin": D,
        "start": D - 300,
        "planned_start": D - 300,
        "planned_end": D + 100,
        "budget": 2000.0,
        "contract": 1000.0,
        "progress": 0.5,
        "paid": 500.0,
    }
    return pd.DataFrame([row | values])


def test_given_half_done_after_three_quarters_of_the_plan_then_earned_schedule_extends_it():
    # ES = 0.5 x 400 = 200 days earned in 300: SPI(t) = 2/3, IEAC(t) = 400 / (2/3) = 600
    assert earned_schedule(a_state()).iloc[0] == D - 300 + 600


def test_given_no_progress_then_earned_schedule_keeps_the_planned_end():
    assert earned_schedule(a_state(progress=0.0)).iloc[0] == D + 100


def test_given_a_plan_already_overrun_then_earned_schedule_is_never_before_tomorrow():
    late = a_state(planned_start=D - 500, planned_end=D - 100, progress=1.0)
    assert earned_schedule(late).iloc[0] == D + 1


def test_given_more_paid_than_earned_then_earned_value_scales_the_contract_by_the_cpi():
    # EV = 0.4 x 1000 = 400 for 500 paid: CPI = 0.8, EAC = 1000 / 0.8
    assert earned_value(a_state(progress=0.4)).iloc[0] == pytest.approx(1250)


def test_given_no_progress_then_earned_value_is_the_contract_but_never_below_what_was_paid():
    assert earned_value(a_state(progress=0.0, paid=0.0)).iloc[0] == 1000
    assert earned_value(a_state(progress=0.0, paid=1200.0)).iloc[0] == 1200


def test_given_a_size_band_with_too_few_completed_projects_then_the_class_is_all_of_them():
    # 20 small projects that took twice their plan and cost 1.1x; 5 large ones: 1.0 and 1.0
    ratios = pd.DataFrame(
        {
            "band": ["S"] * 20 + ["L"] * 5,
            "duration": [2.0] * 20 + [1.0] * 5,
            "cost": [1.1] * 20 + [1.0] * 5,
        }
    )
    small = a_state(progress=0.0)
    large = a_state(progress=0.0, contract=1e8, paid=0.0)
    day, cost = reference_class(small, ratios, 0.5)
    assert (day.iloc[0], cost.iloc[0]) == (D - 300 + 800, pytest.approx(1100))
    day, cost = reference_class(large, ratios, 0.5)  # its band has 5 (< 20): all 25 teach
    assert (day.iloc[0], cost.iloc[0]) == (D - 300 + 800, pytest.approx(1.1e8))


def histories(reports: list[tuple], completed: float = np.nan) -> Histories:
    """Project P with two permits (issued D-100 and D-10, 300 and 100 元) and `reports`
    (permit, known day, rate); payments of 50 元 on D-200 and D+5."""
    return Histories(
        projects=pd.DataFrame(
            {"planned_start": [D - 120.0], "planned_end": [D + 200.0], "completed": [completed]},
            index=pd.Index(["P"], name="project"),
        ),
        budgets=pd.DataFrame({"project": ["P"], "day": [D - 300], "budget": [500.0]}),
        permits=pd.DataFrame(
            {
                "project": "P",
                "permit": ["A", "B"],
                "issued": [D - 100, D - 10],
                "amount": [300.0, 100.0],
            }
        ),
        reports=pd.DataFrame(
            [("P", permit, "2025-06", known, rate) for permit, known, rate in reports],
            columns=["project", "permit", "period", "known", "rate"],
        ),
        payments=pd.DataFrame(
            {
                "project": "P",
                "day": [D - 200, D + 5],
                "amount": [50.0, 50.0],
                "kind": "progress",
                "payee": "C",
            }
        ),
        stops=pd.DataFrame({"project": [], "day": [], "lifted": []}),
    )


def test_given_a_report_made_after_the_day_then_the_state_of_the_day_does_not_know_it():
    h = histories([("A", D - 5, 40.0), ("A", D + 3, 60.0)])
    progress, contract = progress_at(h, D)
    # A's 40 % weighs 300 of 400: B, issued without a report yet, counts as 0 %
    assert progress["P"] == pytest.approx(0.3)
    assert contract["P"] == 400
    assert state(h, D).loc["P", "paid"] == 50


def test_given_a_project_completed_on_the_day_then_it_is_not_active():
    assert state(histories([], completed=D), D).empty
    assert list(state(histories([], completed=D + 1), D).index) == ["P"]


def test_given_outcomes_after_the_forecasts_day_then_no_past_state_learns_from_them():
    h = histories([("A", D - 60, 50.0)], completed=D + 30)
    # the month ends before D see P active; its completion, 30 days after D, is not yet known
    assert training_states(h, D).empty
    learnt = training_states(h, D + 200)
    assert (learnt["completed"] == D + 30).all()
    # a final cost settles 120 days after completion: not by D + 100
    assert training_states(h, D + 100)["final_cost"].isna().all()


def test_given_the_same_histories_then_the_forecasts_are_the_same(world):
    day = cal.day(dt.date(2026, 6, 30))
    first = forecast(backtest.world_histories(trajectories.histories(world)), day)
    again = forecast(backtest.world_histories(trajectories.histories(world)), day)
    pd.testing.assert_frame_equal(first.frame, again.frame)


# ---- the published columns and flags, on the small world's night ---------------------------
def published_projects(published_small) -> pd.DataFrame:
    url, _ = published_small["sqlite"]
    with sa.create_engine(url).connect() as conn:
        return pd.read_sql("SELECT * FROM project", conn)


def test_given_a_night_then_exactly_the_projects_under_way_have_forecasts(published_small):
    p = published_projects(published_small)
    under_way = (p["permit_count"] > 0) & p["completion_date"].isna()
    forecast = p["forecast_completion_p50"].notna()
    assert forecast.sum() > 20
    assert (forecast == under_way).all(), p.loc[forecast != under_way, "project_id"].tolist()
    for column in ("forecast_completion_p80", "forecast_cost_p50", "forecast_cost_p80"):
        assert (p[column].notna() == forecast).all(), column
    assert (p["forecast_completion_p80"][forecast] >= p["forecast_completion_p50"][forecast]).all()
    p50 = p["forecast_cost_p50"][forecast].map(Decimal)
    p80 = p["forecast_cost_p80"][forecast].map(Decimal)
    assert (p80 >= p50).all()
    # a forecast day is after the snapshot's and a cost is never below what was paid
    assert (
        pd.to_datetime(p["forecast_completion_p50"][forecast]) > pd.Timestamp(2026, 11, 23)
    ).all()
    assert (p50 >= p["paid_amount"][forecast].map(Decimal)).all()
    assert set(p["forecast_completion_method"][forecast]) <= {
        "earned schedule", "reference class", "quantile model"
    }  # fmt: skip


def test_given_the_forecasts_then_the_flags_are_raised_by_their_rules(published_small):
    p = published_projects(published_small)
    flags = p["risk_flags"].str.split(",")
    start, end = pd.to_datetime(p["planned_start_date"]), pd.to_datetime(p["planned_end_date"])
    late = pd.to_datetime(p["forecast_completion_p50"]) > end + (end - start) * 0.1
    assert (flags.map(lambda f: "FORECAST_SLIP" in f) == late).all()
    over = [
        pd.notna(f) and pd.notna(b) and Decimal(f) > Decimal(b)
        for f, b in zip(p["forecast_cost_p50"], p["approved_investment"], strict=True)
    ]
    assert (flags.map(lambda f: "FORECAST_OVERRUN" in f) == pd.Series(over)).all()
    assert late.sum() > 0


# ---- the backtest ----------------------------------------------------------------------------
def test_given_the_medium_world_then_the_published_forecasts_beat_the_best_baseline_by_a_fifth(
    medium_world,
):
    summary = backtest.summary(backtest.run(trajectories.histories(medium_world)))
    overall = summary[summary["milestone"] == "all"].set_index(["target", "method"])
    for target, baselines in (
        ("completion", ("earned schedule", "reference class")),
        ("cost", ("earned value", "reference class")),
    ):
        best = min(overall.at[(target, b), "mae"] for b in baselines)
        published = overall.loc[(target, "published")]
        print(
            target,
            f"{1 - published['mae'] / best:.1%} below",
            f"P80 {published['p80_coverage']:.1f}%",
        )
        assert published["p80_coverage"] == pytest.approx(80, abs=5)
        assert published["mae"] <= 0.8 * best


def two_projects(payments: bool = True) -> Histories:
    """P, done on D-100 (its works D-400..), and Q, under way since D-200; contracts of 1,000
    元 each, reported monthly; with `payments`, an advance of 200 and progress payments of 100
    to contractor C (P: a settlement of 300 after completion; Q: growing to 150)."""
    reports, pays = [], []
    for project, begun, months, done in (("P", D - 400, 10, D - 100), ("Q", D - 200, 6, None)):
        for k in range(1, months + 1):
            reports.append((project, f"{project}1", f"m{k:02d}", begun + 30 * k, 10.0 * k))
            pays.append((project, begun + 30 * k, 100.0 + (50.0 if project == "Q" and k > 3 else 0), "进度款"))  # fmt: skip
        pays.append((project, begun + 5, 200.0, "预付款"))
        if done:
            pays.append((project, done + 60, 300.0, "结算款"))
    return backtest.world_histories(
        {
            "projects": pd.DataFrame(
                {
                    "planned_start": [D - 400.0, D - 200.0],
                    "planned_end": [D - 100.0, D + 100.0],
                    "completed": [D - 100.0, np.nan],
                },
                index=pd.Index(["P", "Q"], name="project"),
            ),
            "budgets": pd.DataFrame(
                {"project": ["P", "Q"], "day": [D - 500] * 2, "budget": 2000.0}
            ),
            "permits": pd.DataFrame(
                {
                    "project": ["P", "Q"],
                    "permit": ["P1", "Q1"],
                    "issued": [D - 400, D - 200],
                    "amount": 1000.0,
                }
            ),
            "reports": pd.DataFrame(
                reports, columns=["project", "permit", "period", "known", "rate"]
            ).sort_values(["period", "known"], kind="stable"),
            "payments": pd.DataFrame(
                pays if payments else [], columns=["project", "day", "amount", "memo"]
            )
            .astype({"day": "int64", "amount": "float64"})
            .assign(payee="C"),
            "stops": pd.DataFrame({"project": ["Q"], "day": [D - 50], "lifted": [np.nan]}),
        }
    )


def test_given_payments_then_a_state_knows_them_by_kind_and_the_final_cost_by_settlement():
    h = two_projects()
    # the first payment (P's advance, D-395) is 5 days before P's works: P is not "whole",
    # Q (its works 205 days after it) is
    assert h.whole.to_dict() == {"P": False, "Q": True}
    assert h.settled_paid()["P"] == 200 + 10 * 100 + 300 and np.isnan(h.settled_paid()["Q"])
    q = state(h, D).loc["Q"]
    assert (q["paid"], q["paid_advance"], q["paid_progress"]) == (200 + 3 * 100 + 3 * 150, 200, 750)
    assert (q["first_progress"], q["last_progress"], q["progress_payments"]) == (100, 150, 6)
    assert (q["stops"], q["open_stops"], q["progress"]) == (1, 1, pytest.approx(0.6))
    assert q["gain_91"] == pytest.approx(0.3)  # 30 % on D-91, 60 % now


def test_given_no_payments_then_no_cost_forecast_is_published():
    f = forecast(two_projects(payments=False), D)
    published = f.published()
    assert list(published.index) == ["Q"]
    assert published.loc["Q", "completion_method"] is not None
    assert published.loc["Q", "cost_method"] is None and np.isnan(published.loc["Q", "cost_p50"])


def test_given_held_out_projects_then_neither_the_class_nor_the_model_learns_from_them(
    world, monkeypatch
):
    import transforms.forecast.methods as methods

    seen = {}
    real_ratios, real_fit = methods.base.reference_ratios, methods.model.fit_all
    monkeypatch.setattr(methods.base, "reference_ratios", lambda d: seen.setdefault("class", set(d.index)) and real_ratios(d))  # fmt: skip
    monkeypatch.setattr(methods.model, "fit_all", lambda rows: seen.setdefault("model", set(rows["project"])) and real_fit(rows))  # fmt: skip
    h = backtest.world_histories(trajectories.histories(world))
    day = cal.day(dt.date(2026, 6, 30))
    held = set(methods.training_states(h, day).pipe(lambda t: t["project"][methods._held_out(t["project"])]))  # fmt: skip
    assert forecast(h, day) is not None and held
    assert not (seen["class"] | seen["model"]) & held
