"""Day arithmetic for the world: dates are int days since 1970-01-01 (Beijing calendar).

String forms come from lookup tables built once, so formatting millions of dates is an
array index, not millions of `strftime` calls.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np

EPOCH = dt.date(1970, 1, 1)
BEIJING_OFFSET_MS = 8 * 3600 * 1000
DAY_MS = 86_400_000

WORLD_START = dt.date(2022, 1, 1)
REGISTRATION_END = dt.date(2026, 12, 31)
WORLD_END = dt.date(2027, 12, 31)
TREASURY_FIRST_DAY = dt.date(2024, 1, 1)


def day(d: dt.date) -> int:
    return (d - EPOCH).days


def date_of(day_number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day_number))


_TABLE_FIRST = day(dt.date(2015, 1, 1))
_TABLE_LAST = day(dt.date(2035, 12, 31))


@cache
def _table(fmt: str) -> np.ndarray:
    days = range(_TABLE_FIRST, _TABLE_LAST + 1)
    return np.array([date_of(d).strftime(fmt) for d in days], dtype=object)


def fmt_days(days: np.ndarray, fmt: str) -> np.ndarray:
    """Format an int array of days with a strftime pattern (vectorised by table lookup)."""
    return _table(fmt)[np.asarray(days, dtype=np.int64) - _TABLE_FIRST]


def fmt_clock(seconds: np.ndarray) -> np.ndarray:
    """Seconds into a day as `HH:MM:SS`."""
    return np.array(
        [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in np.asarray(seconds)],
        dtype=object,
    )


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 for each day."""
    d = np.asarray(days, dtype="datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64)


def month_start_day(months: np.ndarray) -> np.ndarray:
    m = np.asarray(months, dtype=np.int64).astype("datetime64[M]")
    return m.astype("datetime64[D]").astype(np.int64)


def fmt_months(months: np.ndarray) -> np.ndarray:
    return fmt_days(month_start_day(months), "%Y-%m")


def epoch_ms(days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Epoch milliseconds of a Beijing-local day plus seconds into that day."""
    days = np.asarray(days, dtype=np.int64)
    return days * DAY_MS - BEIJING_OFFSET_MS + np.asarray(seconds, dtype=np.int64) * 1000


def day_of_ms(ms: np.ndarray) -> np.ndarray:
    """The Beijing-local day an epoch-ms instant falls on."""
    return (np.asarray(ms, dtype=np.int64) + BEIJING_OFFSET_MS) // DAY_MS


def end_of_day_ms(day_number: int) -> int:
    """The last millisecond of a Beijing-local day."""
    return int(epoch_ms(np.array([day_number + 1]), np.array([0]))[0]) - 1
