"""The messier city (issue 25): what real offices do within the contracts, at set rates.

Turned on by `QuirkRates` (the `messy` profile); every draw here comes from a generator of its
own, so with these rates at zero the world is byte for byte the one before them. Two steps:
`projects` adds works before any record is generated (the same road in two districts, the
re-filed projects), `records` rewrites what the offices type (names, reorganised units, bare
reversals, findings naming the project only in their description). The ground truth
(`_project`) is never rewritten: it stays the project each record truly belongs to.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from simulators.world import calendar as cal
from simulators.world import vocab
from simulators.world.codes import credit_codes, project_codes
from simulators.world.variants import yuan_text

SCOPE_NOTE = "（含室外附属配套等工程）"
_PHASE = re.compile(r"工程（([一二三])期）$")
_SECTION = re.compile(r"([一二三四])标段$")
_ROMAN = {"一": "Ⅰ", "二": "Ⅱ", "三": "Ⅲ", "四": "Ⅳ"}
_DIGIT = {"一": "1", "二": "2", "三": "3"}


@cache
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


# ---- names ---------------------------------------------------------------------------------
def _phase_form(name: str, pick: int) -> str:
    found = _PHASE.search(name)
    if not found:
        return name
    n, head = found.group(1), name[: found.start()]
    return (
        head
        + (
            f"{n}期工程",
            f"工程{n}期",
            f"工程（第{n}期）",
            f"工程【{n}期】",
            f"工程（{_DIGIT[n]}期）",
        )[pick % 5]
    )


def _section_form(name: str, pick: int) -> str:
    found = _SECTION.search(name)
    if not found:
        return name
    n, head = found.group(1), name[: found.start()]
    return head + (f"第{n}标段", f"{_ROMAN[n]}标段", f"施工{n}标")[pick % 3]


def _punctuated(name: str, pick: int) -> str:
    kind = pick % 5
    if kind == 0:
        return " ".join([name[:3], name[3:]])
    if kind == 1:
        return f"{name[:6]}·{name[6:]}"
    if kind == 2:
        return "苏州市-" + name.removeprefix("苏州市")
    if kind == 3:
        return f'"{name}"'
    return f"{name[:3]},{name[3:]}"


def typed_names(names: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Names as another office types them: traditional characters, the phase or the section
    written another way, stray punctuation, at `rate` each (a name can get several)."""
    out = names.copy()
    roll = rng.random((len(names), 4))
    pick = rng.integers(0, 60, size=len(names))
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            continue
        if roll[i, 0] < rate:
            name = _phase_form(name, pick[i])
        if roll[i, 1] < rate:
            name = _section_form(name, pick[i])
        if roll[i, 2] < rate / 2:
            name = _punctuated(name, pick[i])
        if roll[i, 3] < rate / 2:
            name = _s2t().convert(name)
        out[i] = name
    return out


# ---- works the plain world does not have ----------------------------------------------------
def projects(p: pd.DataFrame, q, rng: np.random.Generator) -> pd.DataFrame:
    """`p` with twin works (a city-level unit's same-named works in another district) and
    re-filed projects (revoked, then registered again under a new code)."""
    added = []
    city = p.index[(p["div"] == 0) & ~p["revoked"]]
    twins = city[rng.random(len(city)) < q.twin_works]
    if len(twins):
        # the original moves to a district; its twin gets another one
        here = rng.integers(1, len(vocab.DIVISIONS), size=len(twins))
        k = len(vocab.DIVISIONS) - 1  # the districts are 1..k
        there = (here - 1 + rng.integers(1, k, size=len(twins))) % k + 1
        p.loc[twins, "div"] = here
        twin = p.loc[twins].copy()
        twin["div"] = there
        twin["unreg"] = rng.random(len(twin)) < 0.5
        shift = rng.integers(-60, 200, size=len(twin))
        twin[["reg", "start", "plan_end", "revoke_day"]] += shift[:, None]
        twin["entrusted"] = -2  # drawn again below, by `entrusted_again`
        twin["twin_of"] = twin["code"]
        added.append(twin)
    revoked = p.index[p["revoked"] & ~p["unreg"]]
    again = revoked[rng.random(len(revoked)) < q.refiled]
    if len(again):
        live = p.loc[again].copy()
        live["revoked"] = False
        live["reg"] = p.loc[again, "revoke_day"].to_numpy() + rng.integers(5, 60, size=len(live))
        # works (and the land-use permits planning approves 120-400 days before them) come
        # after the re-filing: its records are the live project's
        live["start"] = live["reg"] + rng.integers(420, 540, size=len(live))
        live["plan_end"] = live["start"] + rng.integers(120, 600, size=len(live))
        live["refiled_from"] = live["code"]
        added.append(live)
    if not added:
        return p
    new = pd.concat(added)
    new.index = np.arange(len(p), len(p) + len(new))
    taken = set(p["code"])
    codes = _fresh_codes(new, taken, rng)
    new["code"] = codes
    new["project"] = np.where(new["unreg"], "U" + pd.Series(new.index).astype(str), codes)
    return pd.concat([p, new])


def _fresh_codes(new: pd.DataFrame, taken: set, rng: np.random.Generator) -> np.ndarray:
    while True:
        codes = project_codes(
            cal.fmt_days(new["reg"].to_numpy(), "%Y"),
            np.array([vocab.DIVISIONS[d][0] for d in new["div"]]),
            np.array([vocab.INDUSTRIES[i][0] for i in new["ind"]]),
            new["type"].to_numpy(),
            rng,
        )
        if not (set(codes) & taken) and len(set(codes)) == len(codes):
            return codes


def entrusted_again(p: pd.DataFrame, entrusted: tuple, rng: np.random.Generator) -> None:
    """Twins are managed by an entrusted unit of their own (the management fee tells them
    apart)."""
    names, codes = entrusted
    redo = p.index[p["entrusted"] == -2]
    pick = rng.integers(len(names), size=len(redo))
    p.loc[redo, "entrusted"] = pick
    p.loc[redo, "entrusted_name"] = names[pick]
    p.loc[redo, "entrusted_code"] = codes[pick]


# ---- reorganised units (机构改革) ------------------------------------------------------------
def reorganisation(p: pd.DataFrame, q, rng: np.random.Generator) -> pd.DataFrame:
    """Per reorganised owner (old credit code): the day, the new name and the new code. A
    renamed unit keeps its code; merged units (two of a division) share a new unit's."""
    owners = p.drop_duplicates("owner_code")[["owner_code", "owner_name", "div"]]
    hit = owners[rng.random(len(owners)) < q.reorganised]
    first, last = cal.day(cal.WORLD_START) + 300, cal.day(cal.WORLD_END) - 120
    rows = []
    taken: set[str] = set()
    for code, name, div in zip(hit["owner_code"], hit["owner_name"], hit["div"], strict=True):
        if code in taken:
            continue
        day = int(rng.integers(first, last))
        partner = owners[(owners["div"] == div) & ~owners["owner_code"].isin(taken | {code})][
            "owner_code"
        ]
        if rng.random() < 0.4 and len(partner):
            other = partner.iloc[int(rng.integers(len(partner)))]
            division = vocab.DIVISIONS[div]
            place = vocab.PLACES[int(rng.integers(len(vocab.PLACES)))]
            new_name = f"{division[1]}{place}城市发展集团有限公司"
            new_code = credit_codes(["91"], [division[0]], rng)[0]
            for c in (code, other):
                rows.append((c, day, new_name, new_code))
                taken.add(c)
        else:
            new_name = (
                name[:-1] + "和城市管理局"
                if name.endswith("局")
                else name.replace("有限公司", "控股有限公司")
            )
            rows.append((code, day, new_name, code))
            taken.add(code)
    return pd.DataFrame(rows, columns=["old_code", "day", "new_name", "new_code"])


def _owner_then(
    old_code: pd.Series, day: np.ndarray, plan: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For records of owners `old_code` dated `day`: whether the unit was reorganised by
    then, and its new name and code."""
    by = plan.set_index("old_code")
    at = by["day"].reindex(old_code.to_numpy()).to_numpy()
    after = ~np.isnan(at) & (day >= np.nan_to_num(at, nan=np.inf))
    return (
        after,
        by["new_name"].reindex(old_code.to_numpy()).to_numpy(dtype=object),
        by["new_code"].reindex(old_code.to_numpy()).to_numpy(dtype=object),
    )


def _either(old, new, after, rng, share_new: float = 0.6) -> np.ndarray:
    """After the day, another office writes the new value or (still) the old one."""
    return np.where(after & (rng.random(len(after)) < share_new), new, old)


def _per_key(keys: pd.Series, values: np.ndarray) -> np.ndarray:
    """A record's later versions keep what its first version wrote."""
    first = pd.Series(values, index=keys.to_numpy()).groupby(level=0).first()
    return first.reindex(keys.to_numpy()).to_numpy(dtype=object)


# ---- what the offices type ------------------------------------------------------------------
def records(tables: dict, p: pd.DataFrame, q, rng: np.random.Generator) -> dict:
    """The tables as messier offices type them (ground truth untouched)."""
    plan = reorganisation(p, q, rng)
    owner_of = p.drop_duplicates("project").set_index("project")
    tables = dict(tables)
    tables["drc"] = _registry(tables["drc"], p, plan, q, rng)
    tables["permits"] = _permits(tables["permits"], owner_of, plan, q, rng)
    tables["vouchers"] = _vouchers(tables["vouchers"], p, owner_of, plan, q, rng)
    tables["findings"] = _findings(tables["findings"], owner_of, plan, q, rng)
    return tables


def _day_of_ms(ms) -> np.ndarray:
    return cal.day_of_ms(np.asarray(ms, dtype=np.int64))


def _registry(drc: pd.DataFrame, p, plan, q, rng) -> pd.DataFrame:
    drc = drc.copy()
    note = pd.Series(drc["_project"].unique())
    noted = set(note[rng.random(len(note)) < q.scope_note])
    drc["xmmc"] = [
        n.rstrip() + SCOPE_NOTE if k in noted else n
        for n, k in zip(drc["xmmc"], drc["_project"], strict=True)
    ]
    if plan.empty:
        return _untouched_after_revocation(drc, p)
    # from the day of the reorganisation the registry shows the new owner: a version that day
    owned = drc[drc["xmdwdm"].isin(plan["old_code"])]
    day_of = plan.set_index("old_code")["day"]
    before = owned[_day_of_ms(owned["_ts"]) < day_of.reindex(owned["xmdwdm"]).to_numpy()]
    last = before.drop_duplicates("_key", keep="last").copy()
    d = day_of.reindex(last["xmdwdm"]).to_numpy()
    sec = rng.integers(9 * 3600, 17 * 3600, size=len(last))
    last["_ts"] = cal.epoch_ms(d, sec)
    last["gxsj"] = cal.fmt_days(d, "%Y-%m-%d ") + cal.fmt_clock(sec)
    drc = pd.concat([drc, last], ignore_index=True)
    after, new_name, new_code = _owner_then(drc["xmdwdm"], _day_of_ms(drc["_ts"]), plan)
    drc["xmdw"] = np.where(after, new_name, drc["xmdw"])
    drc["xmdwdm"] = np.where(after, new_code, drc["xmdwdm"])
    drc = _untouched_after_revocation(drc, p)
    return drc.sort_values(["_key", "_ts"], kind="stable").reset_index(drop=True)


def _untouched_after_revocation(drc: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
    """A re-filed project's revoked original is not touched after its revocation (neither
    edited nor given a reorganised owner)."""
    if "refiled_from" not in p:
        return drc
    revoked = p[p["code"].isin(p["refiled_from"].dropna())].set_index("code")["revoke_day"]
    limit = revoked.reindex(drc["_project"]).to_numpy()
    after = ~np.isnan(limit) & (_day_of_ms(drc["_ts"]) > np.nan_to_num(limit, nan=np.inf))
    return drc[~after]


def _permits(permits: pd.DataFrame, owner_of, plan, q, rng) -> pd.DataFrame:
    permits = permits.copy()
    permits["projectName"] = _per_key(
        permits["_key"], typed_names(permits["projectName"].to_numpy(), q.name_forms, rng)
    )
    after, new_name, new_code = _owner_then(
        permits["buildUnitCreditCode"], _day_of_ms(permits["issueDate"]), plan
    )
    permits["buildUnit"] = _per_key(
        permits["_key"], _either(permits["buildUnit"].to_numpy(), new_name, after, rng)
    )
    permits["buildUnitCreditCode"] = _per_key(
        permits["_key"], _either(permits["buildUnitCreditCode"].to_numpy(), new_code, after, rng)
    )
    return permits


def _vouchers(v: pd.DataFrame, p, owner_of, plan, q, rng) -> pd.DataFrame:
    if "refiled_from" in p:
        v = pd.concat([v, _early_spending(p, rng)], ignore_index=True)
    names = typed_names(v["项目名称"].to_numpy(), q.name_forms, rng)
    # a voucher naming two projects of its budget unit (`A、B`)
    owner = owner_of["owner_code"].reindex(v["_project"]).to_numpy(dtype=object)
    names_of = owner_of.reset_index().groupby("owner_code")["name"].agg(list)
    two = np.flatnonzero((rng.random(len(v)) < q.two_projects) & pd.notna(owner))
    for i in two:
        others = [n for n in names_of.get(owner[i], []) if n != names[i]]
        if others and names[i]:
            names[i] = f"{names[i]}、{others[int(rng.integers(len(others)))]}"
    v["项目名称"] = names
    # fees of the entrusted unit, named as the contract's quirk list has them
    fee = v["摘要"] == "代建管理费"
    v.loc[fee, "摘要"] = "托管服务费"
    # reversals typed by another clerk: neither code nor name, only 原凭证号
    bare = (v["原凭证号"] != "") & (rng.random(len(v)) < q.bare_reversal)
    v.loc[bare, ["项目代码", "项目名称"]] = ""
    # the original of a same-day bare reversal entered late (补录): it arrives after it
    at = pd.Index(v["_key"]).get_indexer(v.loc[bare, "原凭证号"])
    same_day = (at >= 0) & (v["_pay_day"].to_numpy()[np.maximum(at, 0)] == v.loc[bare, "_pay_day"])
    late = at[same_day]
    v.loc[v.index[late], "_ts"] = cal.epoch_ms(
        v["_pay_day"].to_numpy()[late] + rng.integers(1, 4, size=len(late)),
        rng.integers(9 * 3600, 18 * 3600, size=len(late)),
    )
    after, new_name, _ = _owner_then(
        owner_of["owner_code"].reindex(v["_project"]).fillna(""), v["_pay_day"].to_numpy(), plan
    )
    v["预算单位"] = _either(v["预算单位"].to_numpy(), new_name, after, rng)
    return v


def _early_spending(p: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Preparatory spending (前期工作经费) of the revoked originals of re-filed projects."""
    old = p[p["code"].isin(p["refiled_from"].dropna())]
    day = old["reg"].to_numpy() + rng.integers(
        1, np.maximum(old["revoke_day"] - old["reg"], 2).to_numpy()
    )
    keep = day >= cal.day(cal.TREASURY_FIRST_DAY)
    old, day = old[keep], day[keep]
    n = len(old)
    fen = rng.integers(500_000, 30_000_000, size=n)
    keys = "ZF" + pd.Series(cal.fmt_days(day, "%Y%m%d")) + [f"9{k:05d}" for k in range(n)]
    other = rng.integers(1_000, size=n)
    return pd.DataFrame(
        {
            "凭证号": keys.to_numpy(),
            "支付日期": cal.fmt_days(day, "%Y-%m-%d"),
            "预算单位": old["owner_name"].to_numpy(),
            "预算单位编码": old["owner_budget"].to_numpy(),
            "功能分类科目": np.array([s for _, s in vocab.INDUSTRIES])[old["ind"].to_numpy()],
            "项目代码": np.where(rng.random(n) < 0.5, old["code"].to_numpy(), ""),
            "项目名称": old["name"].to_numpy(),
            "收款人全称": [f"苏州市第{o}设计研究院有限公司" for o in other],
            "收款人统一社会信用代码": credit_codes(["91"] * n, ["320500"] * n, rng),
            "收款人账号": [f"6222{a:015d}" for a in rng.integers(0, 10**15, n)],
            "金额": yuan_text(fen),
            "支付方式": "直接支付",
            "原凭证号": "",
            "摘要": "前期工作经费",
            "_ts": cal.epoch_ms(day, rng.integers(9 * 3600, 18 * 3600, n)),
            "_key": keys.to_numpy(),
            "_project": old["code"].to_numpy(),
            "_fen": fen,
            "_pay_day": day,
        }
    )


def _findings(f: pd.DataFrame, owner_of, plan, q, rng) -> pd.DataFrame:
    f = f.copy()
    f["projectRef"] = _per_key(
        f["_key"], typed_names(f["projectRef"].to_numpy(), q.name_forms, rng)
    )
    # the project named only in the description
    name = owner_of["name"].reindex(f["_project"]).to_numpy(dtype=object)
    roll = _per_key(f["_key"], rng.random(len(f)))
    described = (roll.astype(float) < q.ref_in_description) & pd.notna(name)
    f.loc[described, "projectRef"] = ""
    f.loc[described, "description"] = [
        f"经审计，{n}存在{t}问题，需按规定整改。"
        for n, t in zip(name[described], f.loc[described, "issueType"], strict=True)
    ]
    day = (pd.to_datetime(f["foundOn"]) - pd.Timestamp(cal.EPOCH)).dt.days.to_numpy()
    after, new_name, new_code = _owner_then(f["auditedEntityCode"], day, plan)
    f["auditedEntity"] = _per_key(
        f["_key"], _either(f["auditedEntity"].to_numpy(), new_name, after, rng)
    )
    f["auditedEntityCode"] = _per_key(
        f["_key"], _either(f["auditedEntityCode"].to_numpy(), new_code, after, rng)
    )
    return f
