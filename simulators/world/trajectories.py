"""What the world's projects did, as dated facts on their true projects: the ground truth a
forecast backtest replays (`transforms.forecast.backtest`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.world import calendar as cal
from simulators.world.model import World


def histories(world: World) -> dict[str, pd.DataFrame]:
    """The world's projects and their dated facts, every record on its true project: the
    frames of `transforms.forecast.history.Histories` (payments with their memo, `摘要`, as
    written), and `end`, the world's last day."""
    t = world.tables
    last = cal.day(cal.WORLD_END)
    versions = t["drc"]
    drc = versions.drop_duplicates("_key", keep="first")  # the plan does not change
    day = pd.to_datetime(drc["jhkgsj"], format="%Y%m%d", errors="coerce")
    end = pd.to_datetime(drc["jhjgsj"], format="%Y%m%d", errors="coerce")
    epoch = pd.Timestamp(cal.EPOCH)
    reg = pd.DataFrame(
        {
            "planned_start": ((day - epoch).dt.days).to_numpy(dtype="float64"),
            "planned_end": ((end - epoch).dt.days).to_numpy(dtype="float64"),
        },
        index=drc["_project"].to_numpy(),
    )
    # every approved investment (万元, as written) from the day its version came to exist
    ztz = versions["ztz"].astype(str).str.replace(",", "").str.strip()
    budgets = pd.DataFrame(
        {
            "project": versions["_project"].to_numpy(),
            "day": cal.day_of_ms(versions["_ts"].to_numpy(dtype="int64")),
            "budget": pd.to_numeric(ztz, errors="coerce").to_numpy(dtype="float64") * 10_000,
        }
    )
    budgets = budgets.dropna(subset=["budget"]).sort_values("day", kind="stable")
    permits = world.as_of("permits", last)
    deleted = world.deleted_keys("permits", last)
    permits = permits[~permits["_key"].isin(deleted) & permits["_project"].notna()]
    pm = pd.DataFrame(
        {
            "project": permits["_project"].to_numpy(),
            "permit": permits["_key"].to_numpy(),
            "issued": cal.day_of_ms(permits["issueDate"].to_numpy(dtype="int64")),
            "amount": permits["_fen"].to_numpy(dtype="float64") / 100,
        }
    )
    reports = world.as_of("reports", last)
    reports = reports[reports["permitNo"].isin(set(pm["permit"]))]
    rp = pd.DataFrame(
        {
            "project": reports["_project"].to_numpy(),
            "permit": reports["permitNo"].to_numpy(),
            "period": reports["period"].to_numpy(),
            "known": cal.day_of_ms(reports["reportedAt"].to_numpy(dtype="int64")),
            "rate": pd.to_numeric(reports["completionRate"], "coerce").to_numpy(),
        }
    ).sort_values(["period", "known"], kind="stable")
    vouchers = world.as_of("vouchers", last)
    vouchers = vouchers[vouchers["_project"].notna()]
    pay = pd.DataFrame(
        {
            "project": vouchers["_project"].to_numpy(),
            "day": vouchers["_pay_day"].to_numpy(dtype="int64"),
            "amount": vouchers["_fen"].to_numpy(dtype="float64") / 100,
            "memo": vouchers["摘要"].to_numpy(),
            "payee": vouchers["收款人统一社会信用代码"].fillna(vouchers["收款人全称"]).to_numpy(),
        }
    )
    insp = world.as_of("inspections", last)
    insp = insp[(insp["result"] == "停工整改") & insp["permitNo"].isin(set(pm["permit"]))]
    lifted = pd.to_numeric(insp["rectifiedAt"], "coerce")
    stops = pd.DataFrame(
        {
            "project": insp["_project"].to_numpy(),
            "day": cal.day_of_ms(insp["inspectDate"].to_numpy(dtype="int64")),
            "lifted": np.where(
                lifted.notna(), cal.day_of_ms(lifted.fillna(0).to_numpy("int64")), np.nan
            ),
        }
    )
    acc = world.as_of("acceptances", last)
    passed = acc[acc["result"] == "合格"].groupby("permitNo")["_accept_day"].max()
    done = pm.assign(ok=pm["permit"].map(passed)).groupby("project")["ok"]
    completed = done.max().where(done.count() == done.size())
    ids = pd.Index(sorted(set(pm["project"])), name="project")
    projects = reg.reindex(ids)
    projects["completed"] = completed.reindex(ids).to_numpy(dtype="float64")
    return {
        "projects": projects,
        "budgets": budgets.reset_index(drop=True),
        "permits": pm,
        "reports": rp,
        "payments": pay,
        "stops": stops,
        "end": pd.DataFrame({"day": [last]}),
    }
