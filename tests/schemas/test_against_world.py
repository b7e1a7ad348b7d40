"""On the medium world, with every quirk on: validation agrees with the ground truth."""

from __future__ import annotations

import pytest

from departments.registry import ground_truth, record
from schemas.quarantine import carry_forward
from schemas.validate import reconcile, validate
from simulators.world import calendar as cal
from tests.conftest import AS_OF
from yiwang.night.steps import record_streams

pytestmark = pytest.mark.slow


def _nightly(sink):
    return {
        (name, s.record_type): (rows, validate(name, record(s.record_type), rows))
        for name, s, rows in record_streams(sink)
    }


def test_given_the_medium_world_then_exactly_the_truly_bad_records_are_quarantined(
    medium_world, medium_staged
):
    _, now = medium_staged
    truth = ground_truth(medium_world, cal.day(AS_OF))
    for (source, record_type), (rows, result) in _nightly(now).items():
        t = truth[(truth.source_system == source) & (truth.record_type == record_type)]
        assert set(result.quarantine["record_key"]) == set(t[~t.valid].record_key), record_type
        assert set(result.accepted["_key"]) == set(t[t.valid].record_key), record_type
        counts = reconcile(rows, result)
        assert counts["received"] == counts["accepted"] + counts["quarantined"] == len(t)
        if len(t[~t.valid]):
            assert (result.quarantine["reasons"].str.len() > 10).all()


def test_given_a_source_fix_then_the_record_leaves_quarantine(medium_world, medium_staged):
    earlier_sink, now_sink = medium_staged
    earlier, now = _nightly(earlier_sink), _nightly(now_sink)
    before = [v.quarantine for _, v in earlier.values()]
    tonight = [v.quarantine for _, v in now.values()]
    import pandas as pd

    first, _ = carry_forward(None, pd.concat(before, ignore_index=True), "night-1")
    second, left = carry_forward(first, pd.concat(tonight, ignore_index=True), "night-2")
    accepted_now = {(s, rt, k) for (s, rt), (_, v) in now.items() for k in v.accepted["_key"]}
    readmitted = {
        (r.source_system, r.record_type, r.record_key) for r in left.itertuples() if r.record_key
    }
    assert readmitted, "the medium world fixes some bad records between the two nights"
    assert readmitted <= accepted_now
    stayed = second[second["first_seen_run"] == "night-1"]
    assert len(stayed) and (stayed["last_seen_run"] == "night-2").all()
    assert (second[~second.index.isin(stayed.index)]["first_seen_run"] == "night-2").all()
