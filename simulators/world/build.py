"""Generate the world: projects and everything the four systems record about them.

Whole arrays at a time (numpy), never a Python call per record, so even the `large` world
(~100k projects, ~4M records) is quick to build on one core. Every random draw comes from one
`numpy.random.Generator` seeded by the caller, in a fixed order: same seed and scale,
byte-identical world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulators.world import calendar as cal
from simulators.world import messy, vocab
from simulators.world.bad import inject_bad_records
from simulators.world.codes import full_width, project_codes, typo
from simulators.world.model import World
from simulators.world.units import Units, make_units
from simulators.world.variants import (
    audit_refs,
    money_wan,
    registry_name_edit,
    section_names,
    spaced,
    thousands,
    treasury_names,
    yuan_text,
)

SCALES = {"tiny": 40, "small": 200, "medium": 10_000, "5k": 5_000, "large": 100_000}


@dataclass(frozen=True)
class QuirkRates:
    """How often each data quirk of the contracts happens (protocol faults live in servers)."""

    bad: float = 0.02  # records breaking a field rule, per record type
    unregistered: float = 0.03  # projects built without registry approval (未批先建)
    permit_no_code: float = 0.25  # permits without a project code
    code_typo: float = 0.03  # copied project codes with one wrong digit
    full_width: float = 0.03  # codes typed in full-width characters
    voucher_no_code: float = 0.45  # vouchers whose agency left the code empty
    legacy_code: float = 0.05  # vouchers carrying a legacy internal code
    late_voucher: float = 0.04  # vouchers entered 1-3 days after their pay date
    reversal: float = 0.02  # vouchers later reversed (冲销)
    thousands: float = 0.10  # drc/audit money with thousands separators
    padded: float = 0.03  # values with surrounding spaces
    permit_entered_late: float = 0.03  # permits entered after their first reports
    permit_deleted: float = 0.01
    # the messier city (`simulators.world.messy`); none of it in the contract profile
    name_forms: float = 0.0  # names typed another way (phase, section, punctuation, 繁体)
    scope_note: float = 0.0  # registry names carrying `（含室外附属配套等工程）`
    two_projects: float = 0.0  # vouchers naming two projects (`A、B`)
    reorganised: float = 0.0  # owner units renamed or merged (机构改革)
    twin_works: float = 0.0  # a city-level unit's same-named works in another district
    bare_reversal: float = 0.0  # reversals typed with neither code nor name
    ref_in_description: float = 0.0  # findings naming the project only in the description
    refiled: float = 0.0  # revoked projects registered again under a new code

    @property
    def messy(self) -> bool:
        return any(
            getattr(self, f) > 0
            for f in ("name_forms", "scope_note", "two_projects", "reorganised", "twin_works",
                      "bare_reversal", "ref_in_description", "refiled")
        )  # fmt: skip


# named profiles of the world (`--profile`): what the contracts list, and what real offices do
PROFILES = {
    "contract": QuirkRates(),
    "messy": QuirkRates(
        name_forms=0.25,
        scope_note=0.3,
        two_projects=0.02,
        reorganised=0.15,
        twin_works=0.3,
        bare_reversal=0.5,
        ref_in_description=0.15,
        refiled=0.6,
    ),
}


def generate_world(scale: str = "small", seed: int = 7, quirks: QuirkRates | None = None) -> World:
    q = quirks or QuirkRates()
    n = SCALES[scale]
    rng = np.random.default_rng(seed)
    p = _projects(n, q, rng)
    units = make_units(n, rng)
    _assign_units(p, units, rng)
    # the messier city draws from a generator of its own: without it, the same world as before
    mess = np.random.default_rng([seed, 25]) if q.messy else None
    if mess is not None:
        p = messy.projects(p, q, mess)
        messy.entrusted_again(p, (units.entrusted_names, units.entrusted_codes), mess)
    # how the works go, drawn apart so the records of the world before it keep their draws
    p["overrun"] = _overruns(p["slip"].to_numpy(), np.random.default_rng([seed, 31]))
    permits = _permits(p, units, q, rng)
    reports = _reports(permits, rng)
    inspections = _inspections(permits, p["slip"].to_numpy()[permits["pidx"]], rng)
    acceptances = _acceptances(permits, rng)
    p["done_day"] = _completion_days(p, permits, acceptances)
    drc = _drc(p, permits, q, rng)
    vouchers = _vouchers(p, permits, units, q, rng)
    findings = _findings(p, q, rng)
    deleted = _deleted(permits, reports)

    tables = {
        "drc": drc,
        "vouchers": vouchers,
        "permits": _permit_versions(permits, p, q, rng),
        "reports": reports,
        "inspections": inspections,
        "acceptances": acceptances,
        "findings": findings,
    }
    if mess is not None:
        tables = messy.records(tables, p, q, mess)
    tables = {name: inject_bad_records(name, df, q.bad, rng) for name, df in tables.items()}
    tables["deleted"] = deleted
    for name, df in tables.items():
        tables[name] = df.sort_values(["_key", "_ts"], kind="stable").reset_index(drop=True)
    return World(scale=scale, seed=seed, tables=tables)


def ramp(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each count c, concatenated (vectorised `arange` per group)."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(counts.sum()) - starts


# ---- projects ------------------------------------------------------------------------------


def _projects(n: int, q: QuirkRates, rng: np.random.Generator) -> pd.DataFrame:
    first, last = cal.day(cal.WORLD_START), cal.day(cal.REGISTRATION_END)
    div = rng.integers(len(vocab.DIVISIONS), size=n)
    reg = np.sort(rng.integers(first, last + 1, size=n))
    ind = rng.integers(len(vocab.INDUSTRIES), size=n)
    typ = rng.choice(["01", "02", "03"], size=n, p=[0.7, 0.1, 0.2])
    years = cal.fmt_days(reg, "%Y")
    codes = project_codes(
        years,
        np.array([vocab.DIVISIONS[d][0] for d in div]),
        np.array([vocab.INDUSTRIES[i][0] for i in ind]),
        typ,
        rng,
    )
    place = rng.integers(len(vocab.PLACES), size=n)
    work = rng.integers(len(vocab.WORKS), size=n)
    kind = rng.integers(0, 5, size=n)
    phase = rng.integers(len(vocab.PHASES), size=n)
    names = []
    for d, pl, w, k, ph in zip(div, place, work, kind, phase, strict=True):
        obj, kinds = vocab.WORKS[w]
        names.append(
            f"{vocab.DIVISIONS[d][1]}{vocab.PLACES[pl]}{obj}{kinds[k % len(kinds)]}"
            f"{vocab.PHASES[ph]}"
        )
    start = reg + rng.integers(30, 181, size=n)
    end = start + rng.integers(120, 600, size=n)
    unreg = rng.random(n) < q.unregistered
    revoked = ~unreg & (rng.random(n) < 0.02)
    ztz_c = np.round(np.exp(rng.normal(8.0, 1.1, size=n)) * 100).astype(np.int64) + 5_000
    df = pd.DataFrame(
        {
            "code": codes,
            "name": names,
            "div": div,
            "reg": reg,
            "ind": ind,
            "type": typ,
            "start": start,
            "plan_end": end,
            "ztz_c": ztz_c,  # ztz in 0.01 万元
            "funding": rng.choice(
                ["财政资金", "专项债券", "自筹资金", "PPP"], size=n, p=[0.6, 0.25, 0.1, 0.05]
            ),
            "unreg": unreg,
            "revoked": revoked,
            "revoke_day": reg + rng.integers(20, 200, size=n),
            "approval_no": rng.integers(1, 900, size=n),
            "slip": rng.normal(1.08, 0.15, size=n).clip(0.8, 1.6),
        }
    )
    df["project"] = np.where(unreg, "U" + pd.Series(np.arange(n)).astype(str), df["code"])
    return df


def _overruns(slip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each project's overrun factor: variations (变更签证) raise what its contracts' progress
    payments and settlement pay by it; works that drag on run over more (longer site costs),
    with noise of their own."""
    extra = 0.45 * (slip - 1.08) + rng.normal(0.03, 0.04, size=len(slip))
    return 1 + np.clip(extra, -0.03, 0.4)


def _assign_units(p: pd.DataFrame, units: Units, rng: np.random.Generator) -> None:
    n = len(p)
    per_div = units.owners_by_division
    owner = np.array([per_div[d][int(rng.integers(len(per_div[d])))] for d in p["div"]])
    p["owner_name"] = units.owner_names[owner]
    p["owner_code"] = units.owner_codes[owner]
    p["owner_budget"] = units.owner_budgets[owner]
    entrusted = np.where(rng.random(n) < 0.85, rng.integers(len(units.entrusted_names), size=n), -1)
    p["entrusted"] = entrusted
    p["entrusted_name"] = np.where(entrusted >= 0, units.entrusted_names[entrusted], None)
    p["entrusted_code"] = np.where(entrusted >= 0, units.entrusted_codes[entrusted], None)


# ---- housing -------------------------------------------------------------------------------


def _permits(
    p: pd.DataFrame, units: Units, q: QuirkRates, rng: np.random.Generator
) -> pd.DataFrame:
    eligible = p[~p["revoked"]]
    k = rng.choice([1, 2, 3, 4], size=len(eligible), p=[0.55, 0.3, 0.1, 0.05])
    idx = np.repeat(eligible.index.to_numpy(), k)
    section = ramp(k)
    pp = p.loc[idx]
    issue = (
        pp["start"].to_numpy()
        + section * rng.integers(0, 90, size=len(idx))
        + rng.integers(-20, 40, size=len(idx))
    )
    duration = (
        (pp["plan_end"] - pp["start"]).to_numpy()
        * pp["slip"].to_numpy()
        * rng.uniform(0.7, 1.0, size=len(idx))
    ).astype(np.int64) + 60
    df = pd.DataFrame(
        {
            "pidx": idx,
            "project": pp["project"].to_numpy(),
            "section": section,
            "sections": np.repeat(k, k),
            "issue": issue,
            "end": issue + duration,
            "div": pp["div"].to_numpy(),
            "category": rng.choice(["01", "02"], size=len(idx)),
            "share": rng.uniform(0.55, 0.9, size=len(idx)) / np.repeat(k, k),
        }
    )
    df = df[df["issue"] <= cal.day(cal.WORLD_END)].reset_index(drop=True)
    seq = df.groupby(["div", "issue"]).cumcount() + 1
    region = np.array([d[0] for d in vocab.DIVISIONS])[df["div"]]
    df["permit_no"] = (
        pd.Series(region)
        + cal.fmt_days(df["issue"], "%Y%m%d")
        + seq.map("{:02d}".format)
        + df["category"]
    ).to_numpy()
    df["contract_fen"] = (p.loc[df["pidx"], "ztz_c"].to_numpy() * 10_000 * df["share"]).astype(
        np.int64
    ) // 100 * 100 + rng.integers(0, 100, size=len(df))
    contractor = rng.integers(len(units.contractor_names), size=len(df))
    df["contractor_name"] = units.contractor_names[contractor]
    df["contractor_code"] = units.contractor_codes[contractor]
    df["entered"] = df["issue"] + np.where(
        rng.random(len(df)) < q.permit_entered_late, rng.integers(40, 120, size=len(df)), 0
    )
    df["deleted_day"] = np.where(
        rng.random(len(df)) < q.permit_deleted,
        df["entered"] + rng.integers(5, 200, size=len(df)),
        -1,
    )
    df["permit_serial"] = np.arange(len(df))
    return df


def _permit_versions(
    permits: pd.DataFrame, p: pd.DataFrame, q: QuirkRates, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(permits)
    pp = p.loc[permits["pidx"]]
    code = pp["code"].to_numpy().copy()
    roll = rng.random(n)
    code = np.where(pp["unreg"].to_numpy() | (roll < q.permit_no_code), None, code)
    typo_rows = (roll > 1 - q.code_typo) & (code != None)  # noqa: E711
    code[typo_rows] = [typo(c, rng) for c in code[typo_rows]]
    fw_rows = (roll > 1 - q.code_typo - q.full_width) & ~typo_rows & (code != None)  # noqa: E711
    code[fw_rows] = [full_width(c) for c in code[fw_rows]]
    ms = cal.epoch_ms(permits["entered"], rng.integers(8 * 3600, 18 * 3600, size=n))
    area = np.round(rng.uniform(500, 80_000, size=n), 2)
    df = pd.DataFrame(
        {
            "permitNo": permits["permit_no"],
            "projectCode": code,
            "projectName": section_names(
                pp["name"].to_numpy(),
                permits["section"].to_numpy(),
                permits["sections"].to_numpy(),
                rng,
            ),
            "buildUnit": pp["owner_name"].to_numpy(),
            "buildUnitCreditCode": pp["owner_code"].to_numpy(),
            "contractor": permits["contractor_name"],
            "contractorCreditCode": permits["contractor_code"],
            "contractAmount": money_wan(permits["contract_fen"].to_numpy()),
            "area": np.where(rng.random(n) < 0.2, None, [f"{a:.2f}" for a in area]),
            "issueDate": cal.epoch_ms(permits["issue"], np.zeros(n)),
            "regionCode": np.array([d[0] for d in vocab.DIVISIONS])[permits["div"]],
            "modifiedAt": ms,
            "_ts": ms,
            "_key": permits["permit_no"],
            "_project": permits["project"],
            "_fen": permits["contract_fen"],
        }
    )
    # a tenth of permits are touched again later (area filled in, name tidied)
    again = df[rng.random(n) < 0.1].copy()
    again["_ts"] = again["_ts"] + rng.integers(5, 300, size=len(again)) * cal.DAY_MS
    again["modifiedAt"] = again["_ts"]
    return pd.concat([df, again], ignore_index=True)


def _reports(permits: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    last_day = np.minimum(permits["end"], cal.day(cal.WORLD_END) - 40)
    last_day = np.where(
        permits["deleted_day"] >= 0, np.minimum(last_day, permits["deleted_day"]), last_day
    )
    m0 = cal.month_index(permits["issue"].to_numpy())
    m1 = cal.month_index(last_day)
    months = np.maximum(m1 - m0 + 1, 0)
    i = np.repeat(np.arange(len(permits)), months)
    offset = ramp(months)
    total = np.repeat(months, months)
    shape = np.repeat(rng.uniform(0.8, 1.3, size=len(permits)), months)
    finished = np.repeat(permits["end"].to_numpy() <= last_day, months)
    frac = (offset + 1) / total
    rate = np.where(finished & (offset + 1 == total), 100.0, np.round(100 * frac**shape * 0.98, 1))
    month = m0[i] + offset
    reported = cal.month_start_day(month + 1) + rng.integers(0, 10, size=len(i))
    df = pd.DataFrame({"i": i, "month": month, "rate": rate, "reported": reported})
    # a few periods are reported twice: the later report replaces the earlier one's meaning
    again = df[rng.random(len(df)) < 0.03].copy()
    again["reported"] += rng.integers(1, 6, size=len(again))
    again["rate"] = np.clip(again["rate"] + rng.choice([-2.0, 1.5, 2.5], size=len(again)), 0, 100)
    df = pd.concat([df, again], ignore_index=True).sort_values(["reported", "i"], kind="stable")
    n = len(df)
    ms = cal.epoch_ms(df["reported"], rng.integers(8 * 3600, 20 * 3600, size=n))
    keys = np.array([f"RPT{k:09d}" for k in range(1, n + 1)], dtype=object)
    return pd.DataFrame(
        {
            "reportId": keys,
            "permitNo": permits["permit_no"].to_numpy()[df["i"]],
            "period": cal.fmt_months(df["month"].to_numpy()),
            "completionRate": [f"{r:.1f}" for r in df["rate"]],
            "reportedAt": ms,
            "modifiedAt": ms,
            "_ts": ms,
            "_key": keys,
            "_project": permits["project"].to_numpy()[df["i"]],
        }
    )


def _inspections(permits: pd.DataFrame, slip: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Inspections over each permit's works; works that drag on (`slip`) are stopped more
    often (停工整改), so a stop-work order is a sign of a late finish."""
    horizon = cal.day(cal.WORLD_END)
    span = (np.minimum(permits["end"], horizon) - permits["issue"]).clip(lower=1).to_numpy()
    count = rng.poisson(span / 150)
    i = np.repeat(np.arange(len(permits)), count)
    n = len(i)
    when = permits["issue"].to_numpy()[i] + (rng.random(n) * span[i]).astype(np.int64)
    # one uniform per inspection, as `rng.choice` with p=[0.8, 0.15, 0.05] draws
    stop = np.clip(0.05 + 0.3 * (slip[i] - 1.08), 0.01, 0.2)
    u = rng.random(n)
    result = np.where(u < 1 - 0.2, "合格", np.where(u < 1 - stop, "限期整改", "停工整改")).astype(
        object
    )
    fixed = (result != "合格") & (rng.random(n) < 0.85)
    # a stop pauses the works: longer where they drag on (the pause is part of the slip)
    pause = 1 + 3 * np.clip(slip[i] - 1, 0, None) * (result == "停工整改")
    fix_day = when + (rng.integers(5, 60, size=n) * pause).astype(np.int64)
    fixed &= fix_day <= horizon
    order = np.lexsort((i, when))
    keys = np.empty(n, dtype=object)
    keys[order] = [f"JC{k:09d}" for k in range(1, n + 1)]
    ms = cal.epoch_ms(when, rng.integers(8 * 3600, 17 * 3600, size=n))
    fix_ms = cal.epoch_ms(fix_day, rng.integers(8 * 3600, 17 * 3600, size=n))
    base = pd.DataFrame(
        {
            "inspectionId": keys,
            "permitNo": permits["permit_no"].to_numpy()[i],
            "inspectDate": cal.epoch_ms(when, np.zeros(n)),
            "category": rng.choice(vocab.INSPECTION_CATEGORIES, size=n),
            "result": result,
            "hazardCount": np.where(result == "合格", 0, rng.integers(1, 6, size=n)),
            "rectifiedAt": None,
            "modifiedAt": ms,
            "_ts": ms,
            "_key": keys,
            "_project": permits["project"].to_numpy()[i],
        }
    )
    later = base[fixed].copy()
    later["rectifiedAt"] = fix_ms[fixed]
    later["modifiedAt"] = later["_ts"] = fix_ms[fixed]
    return pd.concat([base, later], ignore_index=True)


def _acceptances(permits: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n0 = len(permits)
    accept = permits["end"].to_numpy() + rng.integers(10, 60, size=n0)
    due = (accept <= cal.day(cal.WORLD_END)) & (permits["deleted_day"].to_numpy() < 0)
    i = np.flatnonzero(due)
    failed = rng.random(len(i)) < 0.05
    retry = i[failed]
    i_all = np.concatenate([i, retry])
    days = np.concatenate([accept[i], accept[retry] + rng.integers(30, 90, size=len(retry))])
    result = np.concatenate([np.where(failed, "不合格", "合格"), np.full(len(retry), "合格")])
    keep = days <= cal.day(cal.WORLD_END)
    i_all, days, result = i_all[keep], days[keep], result[keep]
    region = np.array([d[0] for d in vocab.DIVISIONS])[permits["div"].to_numpy()[i_all]]
    date_s = cal.fmt_days(days, "%Y%m%d")
    frame = pd.DataFrame({"r": region, "d": date_s})
    seq = frame.groupby(["r", "d"]).cumcount() + 1
    keys = ("BA" + frame["r"] + frame["d"] + seq.map("{:03d}".format)).to_numpy()
    ms = cal.epoch_ms(days, rng.integers(9 * 3600, 17 * 3600, size=len(days)))
    return pd.DataFrame(
        {
            "filingNo": keys,
            "permitNo": permits["permit_no"].to_numpy()[i_all],
            "acceptDate": cal.epoch_ms(days, np.zeros(len(days))),
            "result": result,
            "modifiedAt": ms,
            "_ts": ms,
            "_key": keys,
            "_project": permits["project"].to_numpy()[i_all],
            "_accept_day": days,
        }
    )


def _completion_days(p: pd.DataFrame, permits: pd.DataFrame, acc: pd.DataFrame) -> np.ndarray:
    """Day the project's last live permit passed acceptance, or -1 when it never does."""
    live = permits[permits["deleted_day"] < 0]
    passed = acc[acc["result"] == "合格"].groupby("permitNo")["_accept_day"].max()
    last = live.assign(ok=live["permit_no"].map(passed)).groupby("pidx")["ok"]
    done = last.max().where(last.count() == last.size(), np.nan)
    return done.reindex(p.index).fillna(-1).astype(np.int64).to_numpy()


def _deleted(permits: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    gone = permits[
        (permits["deleted_day"] >= 0) & (permits["deleted_day"] <= cal.day(cal.WORLD_END))
    ]
    ms = cal.epoch_ms(gone["deleted_day"], np.full(len(gone), 15 * 3600))
    return pd.DataFrame(
        {
            "resource": "permits",
            "key": gone["permit_no"].to_numpy(),
            "deletedAt": ms,
            "modifiedAt": ms,
            "_ts": ms,
            "_key": gone["permit_no"].to_numpy(),
        }
    )


# ---- development and reform --------------------------------------------------------------


def _drc(
    p: pd.DataFrame, permits: pd.DataFrame, q: QuirkRates, rng: np.random.Generator
) -> pd.DataFrame:
    reg = p[~p["unreg"]]
    first_issue = permits.groupby("pidx")["issue"].min().reindex(reg.index).fillna(-1)
    events = [
        pd.DataFrame(
            {
                "pidx": reg.index,
                "day": reg["reg"],
                "status": "已批复",
                "ztz": reg["ztz_c"],
                "name": reg["name"],
            }
        )
    ]
    started = first_issue >= 0
    events.append(
        pd.DataFrame({"pidx": reg.index[started], "day": first_issue[started], "status": "在建"})
    )
    done = reg["done_day"] >= 0
    events.append(
        pd.DataFrame({"pidx": reg.index[done], "day": reg["done_day"][done], "status": "已竣工"})
    )
    rv = reg["revoked"]
    events.append(
        pd.DataFrame({"pidx": reg.index[rv], "day": reg["revoke_day"][rv], "status": "已撤销"})
    )
    adjust = rng.random(len(reg)) < 0.2  # 概算调整
    adj_day = reg["reg"] + rng.integers(60, 700, size=len(reg))
    events.append(
        pd.DataFrame(
            {
                "pidx": reg.index[adjust],
                "day": adj_day[adjust],
                "ztz": (reg["ztz_c"][adjust] * rng.uniform(1.05, 1.3, size=adjust.sum())).astype(
                    np.int64
                ),
            }
        )
    )
    edit = rng.random(len(reg)) < 0.1
    events.append(
        pd.DataFrame(
            {
                "pidx": reg.index[edit],
                "day": reg["reg"][edit] + rng.integers(10, 400, size=edit.sum()),
                "name": registry_name_edit(reg["name"][edit].to_numpy(), rng),
            }
        )
    )
    ev = pd.concat(events, ignore_index=True)
    ev = ev[ev["day"] <= cal.day(cal.WORLD_END)].sort_values(["pidx", "day"], kind="stable")
    ev[["status", "ztz", "name"]] = ev.groupby("pidx")[["status", "ztz", "name"]].ffill()
    ev = ev.drop_duplicates(["pidx", "day"], keep="last")
    pp = p.loc[ev["pidx"]]
    n = len(ev)
    sec = rng.integers(8 * 3600, 20 * 3600, size=n)
    ts = cal.epoch_ms(ev["day"], sec)
    code = pp["code"].to_numpy()
    short = np.array([d[2] for d in vocab.DIVISIONS])[pp["div"].to_numpy()]
    years = cal.fmt_days(pp["reg"].to_numpy(), "%Y")
    typ = pp["type"].to_numpy()
    ent = pp["entrusted_name"].to_numpy()
    ztz = ev["ztz"].astype(np.int64).to_numpy()
    ztz_text = np.array([f"{z // 100}.{z % 100:02d}" for z in ztz], dtype=object)
    return pd.DataFrame(
        {
            "xmdm": spaced(code, q.padded / 3, rng),  # keys must be trimmed before use
            "xmmc": spaced(ev["name"].to_numpy(), q.padded, rng),
            "xmlx": pd.Series(typ).map({"01": "审批", "02": "核准", "03": "备案"}).to_numpy(),
            "xmdw": pp["owner_name"].to_numpy(),
            "xmdwdm": pp["owner_code"].to_numpy(),
            "tgdw": ent,
            "tgdwdm": pp["entrusted_code"].to_numpy(),
            "szqh": np.array([d[0] for d in vocab.DIVISIONS])[pp["div"].to_numpy()],
            "ztz": spaced(thousands(ztz_text, q.thousands, rng), q.padded, rng),
            "zjly": pp["funding"].to_numpy(),
            "pfwh": np.where(
                typ == "03",
                None,
                [
                    f"{s}发改投〔{y}〕{a}号"
                    for s, y, a in zip(short, years, pp["approval_no"], strict=True)
                ],
            ),
            "pfrq": np.where(typ == "03", None, cal.fmt_days(pp["reg"].to_numpy(), "%Y%m%d")),
            "jhkgsj": cal.fmt_days(pp["start"].to_numpy(), "%Y%m%d"),
            "jhjgsj": cal.fmt_days(pp["plan_end"].to_numpy(), "%Y%m%d"),
            "xmzt": ev["status"].to_numpy(),
            "gxsj": cal.fmt_days(ev["day"].to_numpy(), "%Y-%m-%d ") + cal.fmt_clock(sec),
            "_ts": ts,
            "_key": code,
            "_project": code,
        }
    )


# ---- treasury ------------------------------------------------------------------------------


def _payments(permit_rows, day, fen, memo, payee: str = "contractor") -> pd.DataFrame:
    """Vouchers to be: which permit's works they pay for, when, how much (fen), why, to whom."""
    return pd.DataFrame(
        {
            "i": permit_rows,
            "day": day,
            "fen": np.asarray(fen).astype(np.int64),
            "memo": memo,
            "payee": payee,
        }
    )


def _vouchers(
    p: pd.DataFrame, permits: pd.DataFrame, units: Units, q: QuirkRates, rng: np.random.Generator
) -> pd.DataFrame:
    live = permits
    n = len(live)
    issue, end = live["issue"].to_numpy(), live["end"].to_numpy()
    fen = live["contract_fen"].to_numpy()
    every = np.arange(n)
    # advance shortly after the permit
    adv_share = rng.uniform(0.1, 0.3, size=n)
    parts = [_payments(every, issue + rng.integers(5, 30, n), fen * adv_share, "预付款")]
    # progress payments every ~3 months during the works; variations (the project's
    # `overrun`) grow into them as the works go on, and the settlement pays what is left
    over = p.loc[live["pidx"], "overrun"].to_numpy() - 1
    k = np.maximum((end - issue) // 90, 1)
    i = np.repeat(every, k)
    share = (0.97 - adv_share[i] - 0.25) / k[i]
    grown = 1 + over[i] * (ramp(k) + 1) / k[i]
    day = issue[i] + 30 + ramp(k) * 90 + rng.integers(0, 20, len(i))
    parts.append(_payments(i, day, fen[i] * share * grown, "进度款"))
    progress_paid = (0.72 - adv_share) * (1 + over * (k + 1) / (2 * k))
    settled = (1 + over) * (0.94 - adv_share) - progress_paid
    # settlement after the works, retention money a year or two later
    parts.append(_payments(every, end + rng.integers(30, 90, n), fen * settled, "结算款"))
    parts.append(_payments(every, end + rng.integers(365, 730, n), fen * 0.03, "质保金"))
    # design, supervision and testing firms; compensation to individuals
    o = np.flatnonzero(rng.random(n) < 0.5)
    parts.append(
        _payments(
            o,
            issue[o] + rng.integers(-60, 200, len(o)),
            fen[o] * 0.02,
            rng.choice(["设计费", "监理费", "检测费"], len(o)),
            "other",
        )
    )
    ind = np.flatnonzero(rng.random(n) < 0.05)
    parts.append(
        _payments(
            ind,
            issue[ind] - rng.integers(10, 90, len(ind)),
            rng.integers(2_000_000, 50_000_000, len(ind)),
            "征地拆迁补偿",
            "person",
        )
    )
    # progress payments made before the permit was issued (PAID_BEFORE_PERMIT)
    early = np.flatnonzero((rng.random(n) < 0.02) & (live["section"].to_numpy() == 0))
    parts.append(
        _payments(
            early, issue[early] - rng.integers(10, 60, len(early)), fen[early] * 0.05, "进度款"
        )
    )
    v = pd.concat(parts, ignore_index=True)
    v["fen"] = v["fen"] + rng.integers(0, 100, len(v))
    # management fees of the entrusted unit
    ent = p[(p["entrusted"] >= 0) & ~p["revoked"]]
    first = live.groupby("pidx")["permit_serial"].min()
    ent = ent[ent.index.isin(first.index)]
    fees = _payments(
        first.loc[ent.index].to_numpy(),
        ent["start"].to_numpy() + rng.integers(30, 400, len(ent)),
        ent["ztz_c"].to_numpy() * 10_000 // 100 + rng.integers(0, 100, len(ent)),
        "代建管理费",
        "entrusted",
    )
    v = pd.concat([v, fees], ignore_index=True)
    pidx = live["pidx"].to_numpy()[v["i"]]
    pp = p.loc[pidx]
    v["project"] = pp["project"].to_numpy()
    v["pname"] = pp["name"].to_numpy()
    v["pcode"] = np.where(pp["unreg"].to_numpy(), None, pp["code"].to_numpy())
    v["budget_unit"] = pp["owner_name"].to_numpy()
    v["budget_code"] = pp["owner_budget"].to_numpy()
    v["subject"] = np.array([s for _, s in vocab.INDUSTRIES])[pp["ind"].to_numpy()]
    contractor = (
        live["contractor_name"].to_numpy()[v["i"]],
        live["contractor_code"].to_numpy()[v["i"]],
    )
    other = rng.integers(len(units.other_names), size=len(v))
    person = (
        np.array(vocab.SURNAMES, dtype=object)[rng.integers(len(vocab.SURNAMES), size=len(v))]
        + np.array(vocab.GIVEN, dtype=object)[rng.integers(len(vocab.GIVEN), size=len(v))]
    )
    payee_kind = v["payee"].to_numpy()
    v["payee_name"] = np.select(
        [payee_kind == "contractor", payee_kind == "entrusted", payee_kind == "other"],
        [contractor[0], pp["entrusted_name"].to_numpy(), units.other_names[other]],
        person,
    )
    v["payee_code"] = np.select(
        [payee_kind == "contractor", payee_kind == "entrusted", payee_kind == "other"],
        [contractor[1], pp["entrusted_code"].to_numpy(), units.other_codes[other]],
        "",
    )
    # spending that is no project's at all
    m = max(1, len(v) // 20)
    owners = rng.integers(len(units.owner_names), size=m)
    other = rng.integers(len(units.other_names), size=m)
    v = pd.concat(
        [
            v,
            pd.DataFrame(
                {
                    "day": rng.integers(cal.day(cal.TREASURY_FIRST_DAY), cal.day(cal.WORLD_END), m),
                    "fen": rng.integers(100_000, 20_000_000, m),
                    "memo": rng.choice(vocab.NON_PROJECT_MEMOS, m),
                    "project": None,
                    "pname": rng.choice(vocab.NON_PROJECT_MEMOS, m),
                    "pcode": None,
                    "budget_unit": units.owner_names[owners],
                    "budget_code": units.owner_budgets[owners],
                    "subject": "2010301 行政运行",
                    "payee_name": units.other_names[other],
                    "payee_code": units.other_codes[other],
                }
            ),
        ],
        ignore_index=True,
    )
    # reversals (冲销): full or partial, the same day or weeks later
    rev = v[(rng.random(len(v)) < q.reversal)].copy()
    rev["day"] = rev["day"] + np.where(rng.random(len(rev)) < 0.3, 0, rng.integers(1, 45, len(rev)))
    rev["fen"] = -np.where(
        rng.random(len(rev)) < 0.6,
        rev["fen"],
        (rev["fen"] * rng.uniform(0.1, 0.9, len(rev))).astype(np.int64),
    )
    rev["reverses"] = rev.index
    v["reverses"] = -1
    v = pd.concat([v, rev], ignore_index=True)
    v = v[(v["day"] >= cal.day(cal.TREASURY_FIRST_DAY)) & (v["day"] <= cal.day(cal.WORLD_END))]
    v = v.reset_index().rename(columns={"index": "row"})
    late = rng.random(len(v)) < q.late_voucher
    v["entered"] = v["day"] + np.where(late, rng.integers(1, 4, len(v)), 0)
    v = v.sort_values(["day", "entered", "row"], kind="stable").reset_index(drop=True)
    seq = v.groupby("day").cumcount() + 1
    v["no"] = (
        "ZF" + pd.Series(cal.fmt_days(v["day"], "%Y%m%d")) + seq.map("{:06d}".format)
    ).to_numpy()
    no_of_row = dict(zip(v["row"], v["no"], strict=True))
    original = v["reverses"].map(no_of_row)  # a reversal whose original predates 2024 names none
    v = v[(v["reverses"] < 0) | original.notna()]
    original = original[v.index]
    n = len(v)
    roll = rng.random(n)
    code = np.where(v["pcode"].isna() | (roll < q.voucher_no_code), None, v["pcode"].to_numpy())
    legacy = (roll >= q.voucher_no_code) & (roll < q.voucher_no_code + q.legacy_code)
    code[legacy] = [
        f"SZJS-{y}-{k:04d}"
        for y, k in zip(
            rng.integers(2015, 2024, legacy.sum()), rng.integers(1, 9999, legacy.sum()), strict=True
        )
    ]
    typo_rows = (roll > 1 - q.code_typo) & (code != None)  # noqa: E711
    code[typo_rows] = [typo(c, rng) for c in code[typo_rows]]
    fw = (roll > 1 - q.code_typo - q.full_width) & ~typo_rows & (code != None) & ~legacy  # noqa: E711
    code[fw] = [full_width(c) for c in code[fw]]
    keys = v["no"].to_numpy()
    return pd.DataFrame(
        {
            "凭证号": keys,
            "支付日期": cal.fmt_days(v["day"], "%Y-%m-%d"),
            "预算单位": v["budget_unit"].to_numpy(),
            "预算单位编码": v["budget_code"].to_numpy(),
            "功能分类科目": v["subject"].to_numpy(),
            "项目代码": np.where(code == None, "", code),  # noqa: E711
            "项目名称": treasury_names(v["pname"].to_numpy(), v["project"].notna().to_numpy(), rng),
            "收款人全称": v["payee_name"].to_numpy(),
            "收款人统一社会信用代码": v["payee_code"].to_numpy(),
            "收款人账号": [f"6222{a:015d}" for a in rng.integers(0, 10**15, n)],
            "金额": yuan_text(v["fen"].to_numpy()),
            "支付方式": rng.choice(["直接支付", "授权支付"], n, p=[0.8, 0.2]),
            "原凭证号": original.fillna("").to_numpy(),
            "摘要": v["memo"].to_numpy(),
            "_ts": cal.epoch_ms(v["entered"], rng.integers(9 * 3600, 18 * 3600, n)),
            "_key": keys,
            "_project": v["project"].to_numpy(),
            "_fen": v["fen"].to_numpy(),
            "_pay_day": v["day"].to_numpy(),
        }
    )


# ---- audit ---------------------------------------------------------------------------------


def _findings(p: pd.DataFrame, q: QuirkRates, rng: np.random.Generator) -> pd.DataFrame:
    horizon = cal.day(cal.WORLD_END)
    audited = (rng.random(len(p)) < 0.25) | (p["unreg"] & (rng.random(len(p)) < 0.7))
    a = p[audited & ~p["revoked"]]
    k = rng.choice([1, 2, 3], size=len(a), p=[0.5, 0.35, 0.15])
    idx = np.repeat(a.index.to_numpy(), k)
    num = ramp(k) + 1
    pp = p.loc[idx]
    lo = np.maximum(a["start"].to_numpy(), cal.day(cal.TREASURY_FIRST_DAY))
    found = np.repeat(lo + (rng.random(len(a)) * 500).astype(np.int64), k)
    keep = found <= horizon
    idx, num, found, pp = idx[keep], num[keep], found[keep], pp[keep]
    n = len(idx)
    year = cal.fmt_days(found, "%Y")
    # audit numbers run by found date within a year; entries are typed up to 3 weeks late,
    # so a later entry can carry a lower findingId (the contract's back-dated entries)
    audit_key = pd.DataFrame({"y": year, "d": found, "p": idx})
    first = audit_key.drop_duplicates(["y", "p"]).sort_values(["y", "d", "p"], kind="stable")
    first["no"] = first.groupby("y").cumcount() + 1
    no = audit_key.merge(first[["y", "p", "no"]], on=["y", "p"], how="left")["no"].to_numpy()
    keys = np.array(
        [f"SJ-{y}-{a:04d}-{b:02d}" for y, a, b in zip(year, no, num, strict=True)], dtype=object
    )
    entered = found + rng.integers(0, 21, n)
    issue = np.where(pp["unreg"].to_numpy(), "未批先建", rng.choice(vocab.AUDIT_ISSUES, n))
    to_entrusted = (pp["entrusted"].to_numpy() >= 0) & (rng.random(n) < 0.2)
    amount_c = np.where(rng.random(n) < 0.75, rng.integers(100, 5_000_000, n), -1)
    amount = np.array(
        [None if c < 0 else f"{c // 100}.{c % 100:02d}" for c in amount_c], dtype=object
    )
    amount = thousands(amount, q.thousands, rng)
    amount = np.where((amount_c < 0) & (rng.random(n) < 0.3), "", amount)
    deadline = np.where(rng.random(n) < 0.9, found + rng.integers(60, 180, n), -1)
    base = pd.DataFrame(
        {
            "findingId": keys,
            "auditReportNo": [f"苏审投报〔{y}〕{a}号" for y, a in zip(year, no, strict=True)],
            "auditedEntity": np.where(to_entrusted, pp["entrusted_name"], pp["owner_name"]),
            "auditedEntityCode": np.where(to_entrusted, pp["entrusted_code"], pp["owner_code"]),
            "projectRef": audit_refs(
                pp["name"].to_numpy(), np.where(pp["unreg"], None, pp["code"]), q, rng
            ),
            "issueType": issue,
            "amount": amount,
            "description": [
                f"{t}：{'相关款项' if c >= 0 else '相关事项'}需按规定整改。"
                for t, c in zip(issue, amount_c, strict=True)
            ],
            "foundOn": cal.fmt_days(found, "%Y-%m-%d"),
            "status": "未整改",
            "deadline": np.where(
                deadline < 0,
                None,
                cal.fmt_days(np.where(deadline < 0, found, deadline), "%Y-%m-%d"),
            ),
            "_day": entered,
            "_key": keys,
            "_project": pp["project"].to_numpy(),
            "_fen": np.where(amount_c < 0, 0, amount_c * 100),
        }
    )
    working = base[rng.random(n) < 0.6].copy()
    working["_day"] += rng.integers(10, 60, len(working))
    working["status"] = "整改中"
    fixed = working[rng.random(len(working)) < 0.7].copy()
    fixed["_day"] += rng.integers(30, 200, len(fixed))
    fixed["status"] = "已整改"
    df = pd.concat([base, working, fixed], ignore_index=True)
    df = df[df["_day"] <= horizon].reset_index(drop=True)
    sec = rng.integers(8 * 3600, 19 * 3600, len(df))
    df["_ts"] = cal.epoch_ms(df["_day"], sec)
    df["lastModified"] = cal.fmt_days(df["_day"], "%Y-%m-%dT") + cal.fmt_clock(sec) + "+08:00"
    return df.drop(columns="_day")


__all__ = ["PROFILES", "SCALES", "QuirkRates", "generate_world"]
