"""Risk flags, scorecard lists and spot-check draws at their boundaries, on hand-made records."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from departments.registry import linking, plan, record
from schemas.unified import Project, SpotCheck, UnitScorecard
from schemas.validate import validate
from tests.schemas.wire import GOOD, fixed_credit_code, wire
from transforms.resolve import resolve
from transforms.unify import draw, draw_seed, project_table, spot_check_table, unit_scorecard

CODE = GOOD["project"]["xmdm"]
UNIT = fixed_credit_code()


def ms(day: dt.date) -> int:
    return int(pd.Timestamp(day, tz="Asia/Shanghai").timestamp() * 1000)


def night(**changes) -> dict[str, pd.DataFrame]:
    """One project with one permit, voucher, inspection, acceptance and finding, all linked."""
    base = {
        "project": {"jhkgsj": "20240101", "jhjgsj": "20251231", "ztz": "100.00"},  # 1,000,000 元
        "permit": {"projectCode": CODE, "issueDate": ms(dt.date(2024, 3, 1))},
        "voucher": {
            "项目代码": CODE,
            "支付日期": "2024-03-01",
            "_pay_date": "2024-03-01",
            "金额": "1,000.00",
            "摘要": "进度款",
        },
        "inspection": {"result": "合格", "inspectDate": ms(dt.date(2024, 5, 1))},
        "acceptance": {"result": "不合格", "acceptDate": ms(dt.date(2025, 1, 1))},
        "finding": {"projectRef": CODE, "status": "已整改", "deadline": "2026-06-30"},
        "progress_report": {"period": "2024-05", "completionRate": 50},
    }
    out = {}
    for record_type, change in base.items():
        frame = wire(record_type, {**change, **changes.get(record_type, {})})
        result = validate("t", record(record_type), frame)
        assert result.quarantine.empty, result.quarantine["reasons"].tolist()
        out[record_type] = result.accepted
    return out


def flags(records, as_of: dt.date) -> set[str]:
    table = project_table(records, resolve(records, linking()), plan=plan(), as_of=as_of)
    Project.validate(table)
    row = table.set_index("project_id").loc[CODE]
    return set(filter(None, row["risk_flags"].split(",")))


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [(dt.date(2026, 6, 29), False), (dt.date(2026, 6, 30), False), (dt.date(2026, 7, 1), True)],
)
def test_audit_overdue_starts_the_day_after_the_deadline(as_of, expected):
    records = night(finding={"status": "整改中"})
    assert ("AUDIT_OVERDUE" in flags(records, as_of)) is expected


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [(dt.date(2025, 12, 30), False), (dt.date(2025, 12, 31), False), (dt.date(2026, 1, 1), True)],
)
def test_schedule_slip_starts_the_day_after_the_planned_end_without_completion(as_of, expected):
    records = night(progress_report={"completionRate": 100})  # never behind: only lateness counts
    assert ("SCHEDULE_SLIP" in flags(records, as_of)) is expected


def test_schedule_slip_when_progress_is_more_than_20_points_behind_plan():
    # planned on 2025-01-01: 100 * 366 / 730 = 50.1; reported 50 -> not behind; 30 -> behind
    assert "SCHEDULE_SLIP" not in flags(night(), dt.date(2025, 1, 1))
    assert "SCHEDULE_SLIP" in flags(
        night(progress_report={"completionRate": 30}), dt.date(2025, 1, 1)
    )


@pytest.mark.parametrize(
    ("paid_on", "expected"), [("2024-02-29", True), ("2024-03-01", False), ("2024-03-02", False)]
)
def test_paid_before_permit_is_a_progress_payment_dated_before_the_first_permit(paid_on, expected):
    records = night(voucher={"支付日期": paid_on, "_pay_date": paid_on})
    assert ("PAID_BEFORE_PERMIT" in flags(records, dt.date(2026, 1, 1))) is expected


def test_an_advance_before_the_permit_is_not_paid_before_permit():
    records = night(voucher={"支付日期": "2024-02-01", "_pay_date": "2024-02-01", "摘要": "预付款"})
    assert "PAID_BEFORE_PERMIT" not in flags(records, dt.date(2026, 1, 1))


@pytest.mark.parametrize(("amount", "expected"), [("1,000,000.00", False), ("1,000,000.01", True)])
def test_over_budget_is_paid_strictly_above_the_approved_investment(amount, expected):
    records = night(voucher={"金额": amount})
    assert ("OVER_BUDGET" in flags(records, dt.date(2026, 1, 1))) is expected


def test_stop_work_open_until_rectified():
    open_ = night(inspection={"result": "停工整改", "rectifiedAt": None})
    fixed = night(inspection={"result": "停工整改", "rectifiedAt": ms(dt.date(2024, 6, 1))})
    assert "STOP_WORK_OPEN" in flags(open_, dt.date(2026, 1, 1))
    assert "STOP_WORK_OPEN" not in flags(fixed, dt.date(2026, 1, 1))


def test_no_approval_for_permits_the_registry_does_not_know():
    records = night(permit={"projectCode": None, "projectName": "苏州市无名新建工程"})
    table = project_table(
        records, resolve(records, linking()), plan=plan(), as_of=dt.date(2026, 1, 1)
    )
    x = table[table["project_id"].str.startswith("X-")]
    assert len(x) == 1 and x["risk_flags"].iloc[0] == "NO_APPROVAL"
    assert x["project_name"].iloc[0] == "苏州市无名新建工程"


def test_completion_date_needs_every_live_permit_accepted():
    assert flags(night(), dt.date(2026, 1, 1)) >= {"SCHEDULE_SLIP"}  # 不合格: not complete
    records = night(acceptance={"result": "合格"})
    table = project_table(
        records, resolve(records, linking()), plan=plan(), as_of=dt.date(2026, 1, 1)
    )
    assert table["completion_date"].iloc[0] == pd.Timestamp("2025-01-01")


@pytest.mark.parametrize(("days_open", "black"), [(29, False), (30, False), (31, True)])
def test_black_list_for_a_stop_work_order_open_more_than_30_days(days_open, black):
    as_of = dt.date(2026, 1, 1)
    records = night(
        inspection={
            "result": "停工整改",
            "rectifiedAt": None,
            "inspectDate": ms(as_of - dt.timedelta(days=days_open)),
        }
    )
    links = resolve(records, linking())
    card = unit_scorecard(records, links, project_table(records, links, as_of, plan()), as_of)
    UnitScorecard.validate(card)
    contractor = card.set_index("unit_code").loc[UNIT]
    assert (contractor["list"] is not pd.NA and contractor["list"] == "black") is black


def test_a_spot_check_draw_is_re_derivable_from_its_published_seed_and_never_changes():
    eligible = [f"P{i:03d}" for i in range(41)]
    drawn = draw("2026-11", list(reversed(eligible)))
    SpotCheck.validate(drawn)
    seed = drawn["draw_seed"].iloc[0]
    assert seed == draw_seed("2026-11", eligible)
    redrawn = random.Random(int(seed, 16)).sample(sorted(eligible), 3)  # ceil(5% of 41) = 3
    assert redrawn == list(drawn.sort_values("draw_rank")["project_id"])
    projects = pd.DataFrame({"project_id": eligible[:5], "status": "在建"})
    kept = spot_check_table(projects, dt.date(2026, 11, 30), published=drawn)
    assert kept.equals(drawn)  # same month, other eligible list: the published draw stands


def _scorecard(records, as_of: dt.date) -> pd.DataFrame:
    links = resolve(records, linking())
    card = unit_scorecard(records, links, project_table(records, links, as_of, plan()), as_of)
    UnitScorecard.validate(card)
    return card.set_index("unit_code")


@pytest.mark.parametrize(
    ("issue_type", "black"), [("违规支付", True), ("招投标违规", True), ("超概算", False)]
)
def test_black_list_for_an_overdue_finding_of_irregular_payment_or_tendering(issue_type, black):
    records = night(finding={"status": "未整改", "deadline": "2025-12-31", "issueType": issue_type})
    owner = _scorecard(records, dt.date(2026, 1, 1)).loc[UNIT]
    assert (owner["list"] is not pd.NA and owner["list"] == "black") is black
    assert owner["overdue_finding_count"] == 1


def _two_clean_projects(count: int) -> dict[str, pd.DataFrame]:
    """`count` projects of the same units, all clean: no flag, only 合格, no findings."""
    codes = [CODE[:-1] + str(i) for i in range(count)]
    changes = {
        "project": [
            {"xmdm": c, "jhkgsj": "20240101", "jhjgsj": "20271231", "ztz": "100.00"} for c in codes
        ],
        "permit": [
            {
                "projectCode": c,
                "permitNo": f"32050620230512010{i}",
                "issueDate": ms(dt.date(2024, 3, 1)),
            }
            for i, c in enumerate(codes)
        ],
        "inspection": [
            {
                "permitNo": f"32050620230512010{i}",
                "result": "合格",
                "inspectDate": ms(dt.date(2025, 6, 1)),
            }
            for i in range(count)
        ],
        "progress_report": [
            {"permitNo": f"32050620230512010{i}", "period": "2025-12", "completionRate": 90}
            for i in range(count)
        ],
    }
    records = night()
    for record_type, rows in changes.items():
        records[record_type] = validate("t", record(record_type), wire(record_type, *rows)).accepted
    for record_type in ("voucher", "finding", "acceptance"):
        records[record_type] = records[record_type].iloc[0:0]
    return records


@pytest.mark.parametrize(("projects", "red"), [(1, False), (2, True)])
def test_red_list_needs_two_clean_projects(projects, red):
    card = _scorecard(_two_clean_projects(projects), dt.date(2026, 1, 1))
    contractor = card.loc[UNIT]
    assert (contractor["list"] is not pd.NA and contractor["list"] == "red") is red
