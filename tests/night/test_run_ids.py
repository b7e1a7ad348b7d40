"""Run ids, written once: each use keeps the format the ledger, staging and landing hold."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.night.run_ids import run_id_for, withdrawal_of

DAY = dt.date(2026, 11, 23)


def test_given_each_kind_then_its_id_is_the_format_stored_today():
    assert run_id_for(DAY) == "2026-11-23"  # staging, landing and the ledger's first run
    assert run_id_for(DAY, run=1) == "2026-11-23"
    assert run_id_for(DAY, run=3) == "2026-11-23.3"  # the same night published again
    assert withdrawal_of("2026-11-23.3") == "2026-11-23.3.withdrawn"
    assert run_id_for(DAY, "evaluate") == "evaluate-2026-11-23"
    at = dt.datetime(2026, 12, 6, 9, 5, 7)
    assert run_id_for(DAY, "extract", source="drc", at=at) == "extract-drc-20261123-090507"
    assert run_id_for(DAY, "bench") == "bench"


def test_given_an_unknown_kind_or_an_extract_without_its_source_then_it_is_refused():
    with pytest.raises(ValueError, match="no run id of kind 'nightly'"):
        run_id_for(DAY, "nightly")
    with pytest.raises(ValueError, match="names its source"):
        run_id_for(DAY, "extract")
