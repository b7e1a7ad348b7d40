"""Shared, named checks, registered with pandera once and used by every model as `Field`s.

`WORDS` turns a failed check into words a data engineer can act on; the quarantine reason is
`<field> '<value>' <words>`.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pandera.extensions as ext

from schemas import codes

WORDS: dict[str, str] = {
    "not_nullable": "is missing",
    "credit_code": "fails its check character (unified social credit code)",
    "division_code": "is not a GB/T 2260 division code",
    "project_code": "is not a project code YYYY-AAAAAA-II-TT-NNNNNN with a real division",
    "permit_no": "is not a permit number (division + real date YYYYMMDD + 4 digits)",
    "month": "is not a month YYYY-MM",
    "one_of": "is not one of {values}",
    "money_at_least": "is below {minimum}",
    "money_above": "is not above {minimum}",
    "within": "is outside {low}..{high}",
    "digits": "is not {count} digits",
    "at_least": "is below {minimum}",
}


def words(check) -> str:
    """What a failed pandera check means, with its statistics filled in."""
    stats = {
        k: ", ".join(map(str, v)) if isinstance(v, tuple | list) else v
        for k, v in (check.statistics or {}).items()
    }
    return WORDS.get(check.name, f"fails {check.name}").format(**stats)


def _ok_or_missing(values: pd.Series, verdict: pd.Series) -> pd.Series:
    return (verdict | values.isna()).astype(bool)


@ext.register_check_method(statistics=[], supported_types=[pd.Series])
def credit_code(values):
    return codes.is_credit_code(values)


@ext.register_check_method(statistics=[], supported_types=[pd.Series])
def division_code(values):
    return codes.is_division(values)


@ext.register_check_method(statistics=[], supported_types=[pd.Series])
def project_code(values):
    return codes.is_project_code(values)


@ext.register_check_method(statistics=[], supported_types=[pd.Series])
def permit_no(values):
    return codes.is_permit_no(values)


@ext.register_check_method(statistics=[], supported_types=[pd.Series])
def month(values):
    return codes.is_month(values)


@ext.register_check_method(statistics=["values"], supported_types=[pd.Series])
def one_of(series, *, values):
    return _ok_or_missing(series, series.isin(list(values)))


@ext.register_check_method(statistics=["minimum"], supported_types=[pd.Series])
def money_at_least(series, *, minimum):
    floor = Decimal(minimum)
    return series.map(lambda v: v is None or v != v or v >= floor).astype(bool)


@ext.register_check_method(statistics=["minimum"], supported_types=[pd.Series])
def money_above(series, *, minimum):
    floor = Decimal(minimum)
    return series.map(lambda v: v is None or v != v or v > floor).astype(bool)


@ext.register_check_method(statistics=["low", "high"], supported_types=[pd.Series])
def within(series, *, low, high):
    return _ok_or_missing(series, series.between(low, high))


@ext.register_check_method(statistics=["minimum"], supported_types=[pd.Series])
def at_least(series, *, minimum):
    return _ok_or_missing(series, series >= minimum)


@ext.register_check_method(statistics=["count"], supported_types=[pd.Series])
def digits(series, *, count):
    return codes.per_distinct_check(series, lambda v: len(v) == count and v.isdigit())
