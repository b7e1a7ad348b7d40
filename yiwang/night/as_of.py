"""The as-of date a night may run for: a finished day in Beijing, not before the sources' first.

This is the one place the wall clock decides: a night of today (or later) would read days the
departments are still writing, and publish them as final. The clock is a parameter so tests
choose the moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from departments.registry import registry
from yiwang.store.publish import PublishError

BEIJING = ZoneInfo("Asia/Shanghai")
Clock = Callable[[], dt.datetime]


class AsOfError(PublishError):
    """The night's as-of date cannot be run (refused before anything starts)."""


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sources_first_day() -> tuple[dt.date, str] | None:
    """The first day on which every source holds data, and the stream that says so.

    Read from the connectors' declarations (a day-partitioned stream's `start`, e.g. treasury's
    2024-01-01: its contract holds no vouchers before it), so a new connector that declares
    one moves it; the latest declared start wins, since a night before it would publish that
    source as holding nothing. None when no connector declares a start.
    """
    starts = [
        # a day, or the first instant of one (a stream read in windows of time)
        (
            start.date() if isinstance(start, dt.datetime) else start,
            f"{connector.name} {stream.name}",
        )
        for connector in registry().values()
        for stream in connector.streams
        if isinstance(start := getattr(stream.paginator, "start", None), dt.date)
    ]
    return max(starts) if starts else None


def check_as_of(as_of: dt.date, clock: Clock = wall_clock) -> None:
    """Raise `AsOfError` (one line: why, and which nights can run) unless `as_of` is a
    finished Beijing day on or after the sources' first day."""
    now = clock().astimezone(BEIJING)
    if as_of >= now.date():
        latest = now.date() - dt.timedelta(days=1)
        raise AsOfError(
            f"as-of {as_of} is not a finished day in Beijing (it is {now:%Y-%m-%d %H:%M} "
            f"there); the latest night you can run is {latest}"
        )
    first = sources_first_day()
    if first and as_of < first[0]:
        raise AsOfError(
            f"as-of {as_of} is before the sources' first day, {first[0]} ({first[1]} starts "
            f"then); run a night from {first[0]} on"
        )
