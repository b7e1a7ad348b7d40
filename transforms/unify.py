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
    """`frame`'s records that are linked, with their `project_id`.

    `resolve` gives a record type's links in the order of its accepted records, so they are
    taken by position once the keys are seen to agree (millions of string lookups saved);
    links in any other order are looked up by key.
    """
    mine = links["record_type"].to_numpy() == record_type
    ids = links["project_id"].to_numpy(dtype=object)[mine]
    keys = links["record_key"].to_numpy(dtype=object)[mine]
    own = frame[key].to_numpy(dtype=object)
    if len(keys) != len(own) or not (keys == own).all():
        at = pd.Index(keys).get_indexer(own)
        ids = np.where(at >= 0, ids[at], None)
    linked = pd.notna(ids)
    return frame[linked].assign(project_id=ids[linked])


def _positions(links: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """The linked projects' ids in code-point order, and each link's place among them (-1:
    unlinked): one hashing pass over the links, and every per-project figure after it a sum
    over small integers rather than a group-by of millions of strings."""
    codes, uniques = pd.factorize(links["project_id"].to_numpy(dtype=object))
    order = np.array(sorted(range(len(uniques)), key=uniques.__getitem__), dtype=np.intp)
    place = np.zeros(len(uniques) + 1, dtype=np.intp)
    place[order] = np.arange(len(uniques))
    place[-1] = -1  # code -1 (unlinked) picks it
    return pd.Index(uniques[order], dtype=object, name="project_id"), place[codes]


def _day(values: pd.Series) -> pd.Series:
    """Calendar dates (midnight, naive) from dates or Asia/Shanghai timestamps."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


def _count(at: np.ndarray, n: int) -> np.ndarray:
    """Rows per project, from each row's project place."""
    return np.bincount(at, minlength=n).astype("int64")


def _money(at: np.ndarray, amounts: pd.Series, n: int) -> np.ndarray:
    """Exact sums in 元 per project: whole fen added as int64, one `Decimal` per project."""
    fen = np.fromiter(
        (int(v.scaleb(2)) if isinstance(v, Decimal) else 0 for v in amounts), "int64", len(at)
    )
    totals = np.zeros(n, dtype="int64")
    np.add.at(totals, at, fen)
    return np.array([Decimal(int(f)).scaleb(-2) for f in totals], dtype=object)


def _extreme(at: np.ndarray, days: pd.Series, n: int, how: str) -> np.ndarray:
    """The earliest (`min`) or latest (`max`) day per project, NaT where it has none."""
    per = getattr(pd.Series(days.to_numpy()).groupby(at), how)()
    return per.reindex(range(n)).to_numpy(dtype="datetime64[ns]")


def _joined(flags: pd.DataFrame) -> pd.Series:
    """The names of the true columns, in column order, comma-separated ("" when none)."""
    text = pd.Series("", index=flags.index, dtype=object)
    for name in flags.columns:
        text = text + np.where(flags[name].to_numpy(dtype=bool), name + ",", "")
    return text.str.rstrip(",").astype(object)


def _latest_reports(reports: pd.DataFrame) -> pd.DataFrame:
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


def project_table(
    accepted: dict[str, pd.DataFrame], links: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    today = pd.Timestamp(as_of)
    reg = accepted["project"]
    ids, place = _positions(links)
    n = len(ids)
    permits = _linked(links, "permit", accepted["permit"], "permitNo")
    vouchers = _linked(links, "voucher", accepted["voucher"], "凭证号")
    findings = _linked(links, "finding", accepted["finding"], "findingId")
    permit_at = ids.get_indexer(permits["project_id"])
    voucher_at = ids.get_indexer(vouchers["project_id"])
    finding_at = ids.get_indexer(findings["project_id"])
    # a housing record's permit (among the linked ones) and through it its project
    by_permit = pd.Index(permits["permitNo"].to_numpy(dtype=object))

    def through_permit(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        at = by_permit.get_indexer(frame["permitNo"].to_numpy(dtype=object))
        return frame[at >= 0], at[at >= 0], permit_at[at[at >= 0]]

    # each permit's latest report first: then only one a permit is looked up
    latest, report_permit, report_at = through_permit(_latest_reports(accepted["progress_report"]))
    inspections, _, inspection_at = through_permit(accepted["inspection"])
    acceptances, acceptance_permit, acceptance_at = through_permit(accepted["acceptance"])

    p = pd.DataFrame({"project_id": ids}, index=ids)
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

    p["permit_count"] = _count(permit_at, n)
    p["contract_amount"] = _money(permit_at, permits["contractAmount"], n)
    p["paid_amount"] = _money(voucher_at, vouchers["金额"], n)
    p["payment_count"] = _count(voucher_at, n)
    pay_day = _day(vouchers["支付日期"])
    p["first_payment_date"] = _extreme(voucher_at, pay_day, n, "min")
    p["last_payment_date"] = _extreme(voucher_at, pay_day, n, "max")

    # progress: each live permit's latest report, weighted by the permit's contract amount
    weight = permits["contractAmount"].to_numpy(dtype=object)[report_permit]
    weight = pd.Series([float(w) for w in weight], index=latest.index, dtype="float64")
    latest = latest.assign(_p=report_at, w=weight, wr=weight * latest["completionRate"])
    grouped = latest.groupby("_p")
    rate = (grouped["wr"].sum() / grouped["w"].sum()).round(2)
    p["progress_rate"] = rate.reindex(range(n)).to_numpy(dtype="float64")
    last_period = latest.sort_values("_period").drop_duplicates("_p", keep="last")
    p["progress_period"] = (
        last_period.set_index("_p")["period"].reindex(range(n)).to_numpy(dtype=object)
    )

    p["inspection_count"] = _count(inspection_at, n)
    stopped = ((inspections["result"] == "停工整改") & inspections["rectifiedAt"].isna()).to_numpy()
    p["open_stop_work_count"] = _count(inspection_at[stopped], n)

    passed = (acceptances["result"] == "合格").to_numpy()
    passed_permits = np.unique(acceptance_permit[passed])
    permits_passed = _count(permit_at[passed_permits], n)
    all_passed = (p["permit_count"] > 0) & (permits_passed == p["permit_count"])
    accept_day = _day(acceptances["acceptDate"][passed])
    p["completion_date"] = pd.Series(
        _extreme(acceptance_at[passed], accept_day, n, "max"), index=p.index
    ).where(all_passed)

    p["finding_count"] = _count(finding_at, n)
    open_findings = (findings["status"] != "已整改").to_numpy()
    p["open_finding_count"] = _count(finding_at[open_findings], n)
    p["finding_amount"] = _money(finding_at, findings["amount"], n)

    p["risk_flags"] = _risk_flags(
        p, (permits, permit_at), (vouchers, voucher_at),
        (findings[open_findings], finding_at[open_findings]), today,
    )  # fmt: skip
    systems = links["source_system"].to_numpy(dtype=object)
    present = {}
    for system in sorted(set(systems)):
        where = place[(systems == system) & (place >= 0)]
        present[system] = np.bincount(where, minlength=n) > 0
    p["source_systems"] = _joined(pd.DataFrame(present, index=p.index))
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


def _risk_flags(p: pd.DataFrame, permits, vouchers, open_findings, today) -> pd.Series:
    """Each project's flags; `permits`, `vouchers` and `open_findings` are (rows, each row's
    project place)."""
    n = len(p)
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
    (permit_rows, permit_at), (voucher_rows, voucher_at) = permits, vouchers
    first_permit = _extreme(permit_at, _day(permit_rows["issueDate"]), n, "min")
    progress = (voucher_rows["摘要"] == "进度款").to_numpy()
    first_progress = _extreme(
        voucher_at[progress], _day(voucher_rows["支付日期"][progress]), n, "min"
    )
    flags["PAID_BEFORE_PERMIT"] = pd.Series(
        ~np.isnat(first_progress) & (np.isnat(first_permit) | (first_progress < first_permit)),
        index=p.index,
    )
    start, end = pd.to_datetime(p["planned_start_date"]), pd.to_datetime(p["planned_end_date"])
    span = (end - start).dt.days
    planned = (100 * (today - start).dt.days / span.where(span > 0)).clip(0, 100)
    late = (today > end) & pd.to_datetime(p["completion_date"]).isna()
    behind = p["progress_rate"].notna() & planned.notna() & (p["progress_rate"] < planned - 20)
    flags["SCHEDULE_SLIP"] = late.fillna(False) | behind
    flags["STOP_WORK_OPEN"] = p["open_stop_work_count"] > 0
    finding_rows, finding_at = open_findings
    overdue = (_day(finding_rows["deadline"]) < today).to_numpy()
    flags["AUDIT_OVERDUE"] = pd.Series(_count(finding_at[overdue], n) > 0, index=p.index)
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
        """Rows of `frame` over each unit's projects: its rows counted a project, then summed
        over the unit's projects, rather than every row joined to every unit."""
        rows = unit_projects["project_id"].map(frame["project_id"].value_counts()).fillna(0)
        per = rows.groupby(unit_projects["unit_code"]).sum()
        return per.reindex(card.index).fillna(0).astype("int64")

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
