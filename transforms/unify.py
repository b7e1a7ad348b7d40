"""The unified tables, from accepted records and their links: pure DataFrame functions.

Every definition is the contract's (docs/contracts/unified-dataset.md); "today" is `as_of`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from decimal import Decimal

import numpy as np
import pandas as pd

from schemas.unified import TABLES

FLAG_ORDER = (
    "AUDIT_OVERDUE",
    "NO_APPROVAL",
    "OVER_BUDGET",
    "PAID_BEFORE_PERMIT",
    "SCHEDULE_SLIP",
    "STOP_WORK_OPEN",
)


def _linked(links: pd.DataFrame, record_type: str, frame: pd.DataFrame, key: str) -> pd.DataFrame:
    ids = links[links["record_type"] == record_type].set_index("record_key")["project_id"]
    return frame.assign(project_id=frame[key].map(ids)).dropna(subset=["project_id"])


def _day(values: pd.Series) -> pd.Series:
    """Calendar dates (midnight, naive) from dates or Asia/Shanghai timestamps."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


def _money_by_project(frame: pd.DataFrame, column: str, index: pd.Index) -> pd.Series:
    """Exact sums in 元 per project: whole fen added as int64, one `Decimal` per project."""
    fen = frame[column].map(lambda v: int(v.scaleb(2)) if isinstance(v, Decimal) else 0)
    totals = fen.astype("int64").groupby(frame["project_id"]).sum().reindex(index).fillna(0)
    return totals.astype("int64").map(lambda f: Decimal(f).scaleb(-2)).astype(object)


def _joined(flags: pd.DataFrame) -> pd.Series:
    """The names of the true columns, in column order, comma-separated ("" when none)."""
    text = pd.Series("", index=flags.index, dtype=object)
    for name in flags.columns:
        text = text + np.where(flags[name].to_numpy(dtype=bool), name + ",", "")
    return text.str.rstrip(",").astype(object)


def project_table(
    accepted: dict[str, pd.DataFrame], links: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    today = pd.Timestamp(as_of)
    reg = accepted["project"]
    permits = _linked(links, "permit", accepted["permit"], "permitNo")
    vouchers = _linked(links, "voucher", accepted["voucher"], "凭证号")
    findings = _linked(links, "finding", accepted["finding"], "findingId")
    reports = accepted["progress_report"][
        accepted["progress_report"]["permitNo"].isin(permits["permitNo"])
    ]
    inspections = accepted["inspection"].merge(permits[["permitNo", "project_id"]], on="permitNo")
    acceptances = accepted["acceptance"].merge(permits[["permitNo", "project_id"]], on="permitNo")

    ids = sorted(links["project_id"].dropna().unique())  # unique in C, then 100k sorted
    p = pd.DataFrame({"project_id": ids}).set_index("project_id", drop=False)
    registry = reg.set_index("xmdm")
    registered = p.index.isin(registry.index)
    is_x = p.index.str.startswith("X-")
    p["project_code"] = p["project_id"].where(~is_x, None)
    columns = {
        "project_name": "xmmc", "region_code": "szqh", "owner_unit_name": "xmdw", "owner_unit_code": "xmdwdm",
        "entrusted_unit_name": "tgdw", "entrusted_unit_code": "tgdwdm", "approval_type": "xmlx", "status": "xmzt",
        "funding_source": "zjly", "approved_investment": "ztz", "approval_date": "pfrq",
        "planned_start_date": "jhkgsj", "planned_end_date": "jhjgsj",
    }  # fmt: skip
    for out, src in columns.items():
        p[out] = registry[src].reindex(p.index).where(registered, None) if src in registry else None
    # X- projects: what the anchoring permit says
    anchors = accepted["permit"].set_index("permitNo")
    anchor = p.index[is_x].str[2:]
    for out, src in (
        ("project_name", "projectName"),
        ("region_code", "regionCode"),
        ("owner_unit_name", "buildUnit"),
        ("owner_unit_code", "buildUnitCreditCode"),
    ):
        p.loc[is_x, out] = anchors[src].reindex(anchor).to_numpy()

    p["permit_count"] = (
        permits.groupby("project_id").size().reindex(p.index).fillna(0).astype("int64")
    )
    p["contract_amount"] = _money_by_project(permits, "contractAmount", p.index)
    p["paid_amount"] = _money_by_project(vouchers, "金额", p.index)
    p["payment_count"] = (
        vouchers.groupby("project_id").size().reindex(p.index).fillna(0).astype("int64")
    )
    pay_day = vouchers.assign(d=_day(vouchers["支付日期"])).groupby("project_id")["d"]
    p["first_payment_date"] = pay_day.min().reindex(p.index)
    p["last_payment_date"] = pay_day.max().reindex(p.index)

    # progress: each live permit's latest report (latest period, then latest reportedAt)
    latest = reports.sort_values(["permitNo", "period", "reportedAt"]).drop_duplicates(
        "permitNo", keep="last"
    )
    latest = latest.merge(permits[["permitNo", "project_id", "contractAmount"]], on="permitNo")
    weight = latest["contractAmount"].map(float)
    latest = latest.assign(w=weight, wr=weight * latest["completionRate"])
    grouped = latest.groupby("project_id")
    rate = (grouped["wr"].sum() / grouped["w"].sum()).round(2)
    p["progress_rate"] = rate.reindex(p.index).astype("float64")
    last_period = latest.sort_values("period").drop_duplicates("project_id", keep="last")
    p["progress_period"] = (
        last_period.set_index("project_id")["period"].reindex(p.index).astype(object)
    )

    p["inspection_count"] = (
        inspections.groupby("project_id").size().reindex(p.index).fillna(0).astype("int64")
    )
    open_stop = inspections[
        (inspections["result"] == "停工整改") & inspections["rectifiedAt"].isna()
    ]
    p["open_stop_work_count"] = (
        open_stop.groupby("project_id").size().reindex(p.index).fillna(0).astype("int64")
    )

    passed = acceptances[acceptances["result"] == "合格"].assign(d=lambda a: _day(a["acceptDate"]))
    permits_passed = passed.groupby("project_id")["permitNo"].nunique().reindex(p.index).fillna(0)
    all_passed = (p["permit_count"] > 0) & (permits_passed == p["permit_count"])
    p["completion_date"] = (
        passed.groupby("project_id")["d"].max().reindex(p.index).where(all_passed)
    )

    p["finding_count"] = (
        findings.groupby("project_id").size().reindex(p.index).fillna(0).astype("int64")
    )
    open_findings = findings[findings["status"] != "已整改"]
    p["open_finding_count"] = (
        open_findings.groupby("project_id").size().reindex(p.index).fillna(0).astype("int64")
    )
    p["finding_amount"] = _money_by_project(findings, "amount", p.index)

    flags = _risk_flags(p, permits, vouchers, open_findings, today)
    p["risk_flags"] = flags
    linked = links.dropna(subset=["project_id"])
    counts = linked.groupby(["project_id", "source_system"]).size().unstack(fill_value=0)
    present = counts.reindex(p.index).fillna(0) > 0
    p["source_systems"] = _joined(present[sorted(present.columns)])
    p["as_of_date"] = today
    for col in (
        "approval_date",
        "planned_start_date",
        "planned_end_date",
        "first_payment_date",
        "last_payment_date",
        "completion_date",
        "as_of_date",
    ):
        p[col] = pd.to_datetime(p[col]).astype("datetime64[ns]")
    text = [
        c
        for c, t in TABLES["project"].to_schema().columns.items()
        if str(t.dtype) == "string[python]"
    ]
    for col in text:
        p[col] = p[col].astype("string[python]")
    return p.reset_index(drop=True)[list(TABLES["project"].to_schema().columns)]


def _risk_flags(
    p: pd.DataFrame, permits, vouchers, open_findings, today: pd.Timestamp
) -> pd.Series:
    flags: dict[str, pd.Series] = {}
    flags["NO_APPROVAL"] = pd.Series(p.index.str.startswith("X-"), index=p.index)
    approved = p["approved_investment"]
    flags["OVER_BUDGET"] = pd.Series(
        [
            isinstance(a, Decimal) and paid > a
            for paid, a in zip(p["paid_amount"], approved, strict=True)
        ],
        index=p.index,
    )
    first_permit = _day(permits["issueDate"]).groupby(permits["project_id"]).min().reindex(p.index)
    progress_pay = vouchers[vouchers["摘要"] == "进度款"]
    first_progress = (
        _day(progress_pay["支付日期"]).groupby(progress_pay["project_id"]).min().reindex(p.index)
    )
    flags["PAID_BEFORE_PERMIT"] = first_progress.notna() & (
        first_permit.isna() | (first_progress < first_permit)
    )
    start, end = pd.to_datetime(p["planned_start_date"]), pd.to_datetime(p["planned_end_date"])
    span = (end - start).dt.days
    planned = (100 * (today - start).dt.days / span.where(span > 0)).clip(0, 100)
    late = (today > end) & pd.to_datetime(p["completion_date"]).isna()
    behind = p["progress_rate"].notna() & planned.notna() & (p["progress_rate"] < planned - 20)
    flags["SCHEDULE_SLIP"] = late.fillna(False) | behind
    flags["STOP_WORK_OPEN"] = p["open_stop_work_count"] > 0
    overdue = open_findings[_day(open_findings["deadline"]) < today]
    flags["AUDIT_OVERDUE"] = pd.Series(p.index.isin(overdue["project_id"]), index=p.index)
    table = pd.DataFrame({k: flags[k].astype(bool) for k in FLAG_ORDER})
    return _joined(table)


def spot_check_table(
    projects: pd.DataFrame, as_of: dt.date, published: pd.DataFrame | None = None
) -> pd.DataFrame:
    """This month's 双随机 draw (kept as published if it exists) and every earlier one."""
    period = f"{as_of:%Y-%m}"
    done = (
        published
        if published is not None
        else pd.DataFrame(columns=["period", "project_id", "draw_rank", "draw_seed"])
    )
    if (done["period"] == period).any():
        return done.reset_index(drop=True)
    eligible = sorted(projects.loc[projects["status"] == "在建", "project_id"])
    drawn = draw(period, eligible)
    return pd.concat([done, drawn], ignore_index=True).astype({"draw_rank": "int64"})


def draw_seed(period: str, eligible: list[str]) -> str:
    """SHA-256 of the period and the sorted eligible ids, one per line after the period."""
    return hashlib.sha256("\n".join([period, *sorted(eligible)]).encode()).hexdigest()


def draw(period: str, eligible: list[str]) -> pd.DataFrame:
    """5% of `eligible` (rounded up, at least one), drawn with the published seed.

    Re-draw: `random.Random(int(seed, 16)).sample(sorted(eligible), n)`; rank = draw order.
    """
    if not eligible:
        return pd.DataFrame(columns=["period", "project_id", "draw_rank", "draw_seed"])
    seed = draw_seed(period, eligible)
    n = max(1, math.ceil(0.05 * len(eligible)))
    chosen = random.Random(int(seed, 16)).sample(sorted(eligible), n)
    return pd.DataFrame(
        {
            "period": period,
            "project_id": chosen,
            "draw_rank": np.arange(1, n + 1),
            "draw_seed": seed,
        }
    )


def unit_scorecard(
    accepted: dict[str, pd.DataFrame], links: pd.DataFrame, projects: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """红黑榜: every unit that is owner, entrusted unit or contractor on a live record."""
    today = pd.Timestamp(as_of)
    reg = accepted["project"]
    permits = _linked(links, "permit", accepted["permit"], "permitNo")
    roles = pd.concat(
        [
            pd.DataFrame(
                {
                    "unit_code": reg["xmdwdm"],
                    "unit_name": reg["xmdw"],
                    "role": "owner",
                    "project_id": reg["xmdm"],
                }
            ),
            pd.DataFrame(
                {
                    "unit_code": reg["tgdwdm"],
                    "unit_name": reg["tgdw"],
                    "role": "entrusted",
                    "project_id": reg["xmdm"],
                }
            ),
            pd.DataFrame(
                {
                    "unit_code": accepted["permit"]["buildUnitCreditCode"],
                    "unit_name": accepted["permit"]["buildUnit"],
                    "role": "owner",
                    "project_id": accepted["permit"]["permitNo"].map(
                        permits.set_index("permitNo")["project_id"]
                    ),
                }
            ),
            pd.DataFrame(
                {
                    "unit_code": accepted["permit"]["contractorCreditCode"],
                    "unit_name": accepted["permit"]["contractor"],
                    "role": "contractor",
                    "project_id": accepted["permit"]["permitNo"].map(
                        permits.set_index("permitNo")["project_id"]
                    ),
                }
            ),
        ],
        ignore_index=True,
    ).dropna(subset=["unit_code"])
    roles = roles.astype({"unit_code": object, "unit_name": object, "project_id": object})
    # one name per unit: the most frequent, ties to the smallest (deterministic)
    names = (
        roles.groupby(["unit_code", "unit_name"])
        .size()
        .reset_index(name="n")
        .sort_values(["unit_code", "n", "unit_name"], ascending=[True, False, True])
    )
    card = names.drop_duplicates("unit_code").set_index("unit_code")[["unit_name"]]
    card["roles"] = roles.groupby("unit_code")["role"].agg(lambda s: ",".join(sorted(set(s))))
    unit_projects = roles.dropna(subset=["project_id"])[
        ["unit_code", "project_id"]
    ].drop_duplicates()
    card["project_count"] = (
        unit_projects.groupby("unit_code").size().reindex(card.index).fillna(0).astype("int64")
    )

    inspections = accepted["inspection"].merge(permits[["permitNo", "project_id"]], on="permitNo")
    inspections = inspections.assign(day=_day(inspections["inspectDate"]))
    open_stop = inspections[
        (inspections["result"] == "停工整改") & inspections["rectifiedAt"].isna()
    ]
    findings = _linked(links, "finding", accepted["finding"], "findingId")
    overdue = findings[(findings["status"] != "已整改") & (_day(findings["deadline"]) < today)]
    flagged = projects.set_index("project_id")["risk_flags"]

    def per_unit(frame: pd.DataFrame) -> pd.Series:
        joined = unit_projects.merge(frame[["project_id"]], on="project_id")
        return joined.groupby("unit_code").size().reindex(card.index).fillna(0).astype("int64")

    card["open_stop_work_count"] = per_unit(open_stop)
    card["overdue_finding_count"] = per_unit(overdue)
    slipped = flagged[flagged.str.contains("SCHEDULE_SLIP")].index.to_frame(
        index=False, name="project_id"
    )
    card["slipped_project_count"] = per_unit(slipped)

    black_stop = per_unit(open_stop[open_stop["day"] < today - pd.Timedelta(days=30)]) > 0
    black_finding = per_unit(overdue[overdue["issueType"].isin(["违规支付", "招投标违规"])]) > 0
    any_flag = per_unit(flagged[flagged != ""].index.to_frame(index=False, name="project_id")) > 0
    recent = inspections[
        (inspections["day"] >= today - pd.Timedelta(days=365)) & (inspections["day"] < today)
    ]
    not_passed = per_unit(recent[recent["result"] != "合格"]) > 0
    any_finding = per_unit(findings) > 0
    red = (card["project_count"] >= 2) & ~any_flag & ~not_passed & ~any_finding
    black = black_stop | black_finding
    card["list"] = np.where(black, "black", np.where(red, "red", None))
    reasons = []
    for b_stop, b_find, is_red in zip(black_stop, black_finding, red & ~black, strict=True):
        said = [
            w
            for w, on in (
                ("open 停工整改 older than 30 days", b_stop),
                ("overdue 违规支付/招投标违规 finding", b_find),
            )
            if on
        ]
        if is_red:
            said = ["≥2 projects, no risk flag, only 合格 inspections in 365 days, no findings"]
        reasons.append("; ".join(said) or None)
    card["list_reasons"] = reasons
    card = card.reset_index()
    for col in ("unit_code", "unit_name", "roles", "list", "list_reasons"):
        card[col] = card[col].astype("string[python]")
    return card[list(TABLES["unit_scorecard"].to_schema().columns)]
