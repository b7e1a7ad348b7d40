"""Normalisation that validation needs, vectorised over whole columns.

Each parser takes a column as received and returns the typed column plus the cells it could
not read (NaN elsewhere), so the caller can quarantine with the raw value in the message.
Quirks the contracts allow (spaces, full-width characters in codes, thousands separators,
empty optional fields) are normalised here, never rejected.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

TZ = "Asia/Shanghai"

# full-width ASCII (U+FF01..U+FF5E) and the ideographic space fold to their half-width forms
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# decimals the contracts allow: 元 to the fen; 万元 to 6 places (whole fen once ×10,000)
UNIT_DECIMALS = {"yuan": 2, "wan": 6}


TEXT = pd.StringDtype("python")  # what pandera's `str` is; a dtype check, not a per-cell one


def per_distinct(values: pd.Series, transform) -> pd.Series:
    """`transform` applied to each distinct value once, spread back over the column.

    Source columns repeat heavily (units, dates, payees), so this turns per-cell Python work
    into per-distinct-value work. Missing values stay missing (None).
    """
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells: fall back to one call per cell
        return transform(values.astype(object))
    mapped = transform(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    return pd.Series(spread(mapped, codes), index=values.index, dtype=object)


def spread(per_distinct: list | np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A value per distinct value spread to the rows by their factorize codes (-1: None)."""
    return np.array([*per_distinct, None], dtype=object)[codes]


def _trim(uniques: pd.Series) -> pd.Series:
    as_text = uniques
    if pd.api.types.infer_dtype(uniques, skipna=True) != "string":
        # a missing value stays missing (a column of nothing but None is not "string" either)
        as_text = uniques.map(lambda v: v if isinstance(v, str) or v is None else str(v))
    trimmed = as_text.str.strip()
    return trimmed.where(trimmed != "", None)


def text(values: pd.Series) -> pd.Series:
    """Trimmed text, None for missing or empty; non-text values as their str."""
    return per_distinct(values, _trim).astype(TEXT)


def _code(uniques: pd.Series) -> pd.Series:
    folded = _trim(uniques)
    odd = folded.str.contains(r"[^\x21-\x7e]", regex=True).fillna(False).astype(bool)
    if odd.any():  # only codes with full-width characters or spaces need folding
        fixed = folded[odd].str.translate(_FOLD).str.replace(r"\s+", "", regex=True)
        folded = folded.astype(object)
        folded[odd] = fixed.where(fixed != "", None)
    return folded


def code(values: pd.Series, distinct: bool = False) -> pd.Series:
    """A code as text, full-width characters folded and every space removed.

    `distinct`: the values are known to differ (keys), so skip the per-distinct pass.
    """
    if distinct:
        return _code(values.astype(object).where(values.notna(), None)).astype(TEXT)
    return per_distinct(values, _code).astype(TEXT)


CENT = Decimal("0.01")
_EXACT = {"yuan": 0, "wan": 4}  # decimal places to shift into 元


def money(values: pd.Series, unit: str) -> tuple[pd.Series, pd.Series]:
    """Exact amounts in 元 as `Decimal` (2 places), and the cells that were not a number.

    `unit`: "yuan" (up to 2 decimals) or "wan" (万元, up to 6 decimals: whole fen once ×10,000).
    Surrounding spaces and thousands separators are dropped; JSON numbers arrive as `Decimal`.
    """
    raw = text(values).astype(object)
    cleaned = raw.str.replace(",", "", regex=False)  # text() already trimmed the spaces
    places, shift = UNIT_DECIMALS[unit], _EXACT[unit]
    digits = 16 - shift  # NUMERIC(18,2): at most 16 digits before the point in 元
    ok = cleaned.str.fullmatch(rf"-?\d{{1,{digits}}}(\.\d{{0,{places}}})?").fillna(False)
    ok = ok.astype(bool)
    out = pd.Series(np.full(len(values), None, dtype=object), index=values.index)
    # Decimal from text is exact; the regex bounds the places, so quantize never rounds
    out[ok] = [Decimal(t).scaleb(shift).quantize(CENT) for t in cleaned[ok]]
    return out, raw.where(raw.notna() & ~ok)


def _to_float(v) -> float:
    if isinstance(v, bool):
        return np.nan
    if isinstance(v, int | float | Decimal):
        return float(v)
    try:
        return float(str(v).replace(",", "").strip())
    except ValueError:
        return np.nan


def number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A plain number (rates, areas) as float64, and the cells that were not one."""
    parsed = per_distinct(values, lambda u: u.map(_to_float)).astype("float64")
    parsed = parsed.where(np.isfinite(parsed))
    return parsed, values.where(values.notna() & parsed.isna())


def integer(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    parsed, bad = number(values)
    whole = parsed.where((parsed == np.floor(parsed)) & (parsed.abs() < 2**53))  # exact in int64
    bad = bad.where(bad.notna(), text(values).where(parsed.notna() & whole.isna()))
    return whole.astype("Int64"), bad


def date(values: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    """Calendar dates (`datetime64`, midnight) from text in `fmt`; impossible ones flagged."""
    raw = text(values)
    parsed = pd.to_datetime(raw, format=fmt, errors="coerce")
    return parsed.astype("datetime64[us]"), raw.where(raw.notna() & parsed.isna())


def local_timestamp(values: pd.Series, fmt: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Beijing-time timestamps from text (`fmt` without offset, or ISO-8601 with one)."""
    raw = text(values)
    if fmt is not None:
        naive = pd.to_datetime(raw, format=fmt, errors="coerce")
        parsed = naive.dt.tz_localize(TZ)
    else:
        parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce", utc=True).dt.tz_convert(TZ)
    return parsed.astype(f"datetime64[us, {TZ}]"), raw.where(raw.notna() & parsed.isna())


def mask_account(values: pd.Series) -> pd.Series:
    """Bank accounts keep only their last 4 characters."""

    def mask(uniques: pd.Series) -> pd.Series:
        return _trim(uniques).map(lambda v: "*" * max(len(v) - 4, 0) + v[-4:], na_action="ignore")

    return per_distinct(values, mask).astype(TEXT)


def day_numbers(values: pd.Series) -> np.ndarray:
    """Day numbers (days since 1970-01-01, local time) of dates or times; NaN where missing."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    stamps = pd.to_datetime(values, errors="coerce")
    return ((stamps - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=float)
