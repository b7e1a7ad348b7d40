"""Bad records: about 2% of every record type breaks one of its contract's field rules.

A bad record is rejected whole by the hub, so the corruption is applied to every version of
the chosen key; for some keys a later, corrected version follows (the source fixed it), which
is what re-admission from quarantine is tested against. Key-breaking rules are never fixed:
the corrected record would be a different key.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from simulators.world import calendar as cal
from simulators.world.codes import break_check_character

Corrupt = Callable[[pd.Series], pd.Series]


def _not_a_number(v: pd.Series) -> pd.Series:
    return v.map(lambda s: s.replace("0", "O", 1) if "0" in s else s + "O")


def _impossible_compact(v: pd.Series) -> pd.Series:  # YYYYMMDD -> YYYY0230
    return v.map(lambda s: s[:4] + "0230")


def _impossible_dashed(v: pd.Series) -> pd.Series:  # YYYY-MM-DD -> YYYY-02-30
    return v.map(lambda s: s[:4] + "-02-30")


def _check_char(v: pd.Series) -> pd.Series:
    return v.map(lambda s: break_check_character(s) if s else s)


def _constant(value) -> Corrupt:
    return lambda v: pd.Series(
        [value] * len(v), index=v.index, dtype=object if value is None else None
    )


# table -> [(rule name, field, corruption, breaks the key)]
RULES: dict[str, list[tuple[str, str, Corrupt, bool]]] = {
    "drc": [
        ("xmdm_format", "xmdm", lambda v: v.str.replace("-", "", n=1), True),
        ("xmdwdm_check_character", "xmdwdm", _check_char, False),
        ("jhkgsj_impossible_date", "jhkgsj", _impossible_compact, False),
        ("xmmc_missing", "xmmc", _constant(None), False),
        ("ztz_not_a_number", "ztz", _not_a_number, False),
    ],
    "vouchers": [
        ("amount_not_a_number", "金额", _not_a_number, False),
        (
            "pay_date_mismatch",
            "支付日期",
            lambda v: v.map(lambda s: s[:8] + ("02" if s[8:] != "02" else "03")),
            False,
        ),
        ("payee_code_check_character", "收款人统一社会信用代码", _check_char, False),
    ],
    "permits": [
        ("contractor_code_check_character", "contractorCreditCode", _check_char, False),
        ("build_unit_code_check_character", "buildUnitCreditCode", _check_char, False),
        ("contract_amount_zero", "contractAmount", _constant("0"), False),
        ("permit_no_impossible_date", "permitNo", lambda v: v.str[:10] + "0230" + v.str[14:], True),
    ],
    "reports": [
        (
            "completion_rate_out_of_range",
            "completionRate",
            lambda v: v.map(
                lambda s: f"{100 + float(s) / 10 + 0.5:.1f}" if float(s) > 50 else "-3.0"
            ),
            False,
        ),
    ],
    "inspections": [
        ("hazard_count_negative", "hazardCount", _constant(-1), False),
        ("result_not_in_enumeration", "result", _constant("待定"), False),
    ],
    "acceptances": [("result_not_in_enumeration", "result", _constant("基本合格"), False)],
    "findings": [
        ("found_on_impossible_date", "foundOn", _impossible_dashed, False),
        ("audited_entity_code_check_character", "auditedEntityCode", _check_char, False),
        ("status_not_in_enumeration", "status", _constant("已销号"), False),
        ("found_on_missing", "foundOn", _constant(None), False),
    ],
}

# where a version's modification time is written, so a corrected version says when it came
STAMPS: dict[str, Callable[[pd.DataFrame], None]] = {
    "drc": lambda d: d.__setitem__("gxsj", _stamp(d["_ts"], "%Y-%m-%d ", "")),
    "findings": lambda d: d.__setitem__("lastModified", _stamp(d["_ts"], "%Y-%m-%dT", "+08:00")),
    "permits": lambda d: d.__setitem__("modifiedAt", d["_ts"]),
    "reports": lambda d: d.__setitem__("modifiedAt", d["_ts"]),
    "inspections": lambda d: d.__setitem__("modifiedAt", d["_ts"]),
    "acceptances": lambda d: d.__setitem__("modifiedAt", d["_ts"]),
}


def _stamp(ms: pd.Series, day_fmt: str, suffix: str) -> np.ndarray:
    local = ms.to_numpy() + cal.BEIJING_OFFSET_MS
    days = local // cal.DAY_MS
    sec = (local % cal.DAY_MS) // 1000
    clock = [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}{suffix}" for s in sec]
    return cal.fmt_days(days, day_fmt) + np.array(clock, dtype=object)


def inject_bad_records(
    table: str, df: pd.DataFrame, rate: float, rng: np.random.Generator
) -> pd.DataFrame:
    df = df.copy()
    df["_bad"] = ""
    rules = RULES[table]
    keys = df["_key"].unique()
    chosen = keys[rng.random(len(keys)) < rate]
    rule_of = dict(zip(chosen, rng.integers(len(rules), size=len(chosen)), strict=True))
    fixable = {k for k, r in rule_of.items() if not rules[r][3]}
    fix_keys = [k for k in chosen if k in fixable and table in STAMPS and rng.random() < 0.3]
    if fix_keys:
        last = df[df["_key"].isin(fix_keys)].sort_values("_ts").drop_duplicates("_key", keep="last")
        fixes = last.copy()
        fixes["_ts"] = fixes["_ts"] + rng.integers(1, 20, size=len(fixes)) * cal.DAY_MS
        STAMPS[table](fixes)
        fixes["_fixed"] = True
        df = pd.concat([df.assign(_fixed=False), fixes], ignore_index=True)
    else:
        df["_fixed"] = False
    rule_idx = df["_key"].map(rule_of)
    for i, (name, column, corrupt, breaks_key) in enumerate(rules):
        rows = (rule_idx == i) & ~df["_fixed"]
        if column == "收款人统一社会信用代码":  # individuals have no code: break the amount
            rows &= df[column] != ""
        if not rows.any():
            continue
        df.loc[rows, column] = corrupt(df.loc[rows, column]).to_numpy()
        df.loc[rows, "_bad"] = name
        if breaks_key:
            df.loc[rows, "_key"] = df.loc[rows, column].str.strip()
    return df.drop(columns="_fixed")
