"""The as-of date a night may run for: a finished Beijing day, not before the sources' first
day; refused before anything starts, with one line saying why."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from departments.registry import get
from yiwang.cli.main import app
from yiwang.night.as_of import AsOfError, check_as_of, sources_first_day


def at_utc(*when: int):
    return lambda: dt.datetime(*when, tzinfo=dt.UTC)


def test_given_a_beijing_afternoon_when_the_night_is_of_today_then_it_is_refused_naming_yesterday():
    clock = at_utc(2026, 12, 6, 6, 20)  # 14:20 in Beijing
    with pytest.raises(AsOfError) as refused:
        check_as_of(dt.date(2026, 12, 6), clock)
    message = str(refused.value)
    assert "2026-12-06 is not a finished day in Beijing" in message
    assert "2026-12-06 14:20 there" in message
    assert "the latest night you can run is 2026-12-05" in message
    assert "\n" not in message
    with pytest.raises(AsOfError, match="not a finished day"):
        check_as_of(dt.date(2027, 1, 1), clock)  # the future
    check_as_of(dt.date(2026, 12, 5), clock)  # yesterday is finished


def test_given_utc_and_beijing_on_different_dates_then_beijing_decides():
    # 17:30 UTC on the 5th is 01:30 on the 6th in Beijing: the 5th is finished there
    check_as_of(dt.date(2026, 12, 5), at_utc(2026, 12, 5, 17, 30))
    # 15:59 UTC on the 5th is 23:59 on the 5th in Beijing: the 5th is still being written
    with pytest.raises(AsOfError, match="2026-12-05 23:59 there"):
        check_as_of(dt.date(2026, 12, 5), at_utc(2026, 12, 5, 15, 59))


def test_given_a_day_before_the_sources_first_day_then_it_is_refused_naming_that_day():
    first = get("treasury").stream("vouchers").paginator.start  # declared by the connector
    assert sources_first_day() == (first, "treasury vouchers")
    clock = at_utc(2026, 12, 6, 6, 20)
    with pytest.raises(AsOfError) as refused:
        check_as_of(first - dt.timedelta(days=1), clock)
    assert f"before the sources' first day, {first}" in str(refused.value)
    assert f"run a night from {first} on" in str(refused.value)
    check_as_of(first, clock)


@pytest.mark.parametrize("as_of", [dt.date(2099, 1, 1), dt.date(2022, 6, 1)])
def test_given_an_unrunnable_as_of_when_a_night_starts_then_nothing_is_done(tmp_path, as_of):
    from yiwang.night.run import publish_night, run_night, stage_source

    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    for start in (
        lambda: run_night(engine, {}, as_of, quality_dir=tmp_path / "q"),
        lambda: stage_source(engine, {}, "drc", as_of),
        lambda: publish_night(engine, as_of, tmp_path / "q"),
    ):
        with pytest.raises(AsOfError):
            start()
    assert inspect(engine).get_table_names() == []  # not even migrated


def test_given_the_cli_when_run_for_a_future_day_then_it_exits_1_with_the_reason(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(app, ["run", "--as-of", "2099-01-01", "--database-url", url])
    assert result.exit_code == 1
    assert "the night of 2099-01-01 cannot run: as-of 2099-01-01 is not a finished day in " \
        "Beijing" in result.output  # fmt: skip
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
