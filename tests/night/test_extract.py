"""`extract_source`: the night's one call of the framework's `sync`, with what every caller
asked of it passed through."""

from __future__ import annotations

import datetime as dt

import yiwang.night.extract as extract
from departments.registry import get


def test_given_rate_limits_lifted_and_a_stream_subset_then_sync_gets_exactly_those(monkeypatch):
    calls = []
    monkeypatch.setattr(extract, "sync", lambda *args, **kwargs: calls.append((args, kwargs)))
    housing = get("housing")
    assert housing.rate_per_s  # the contract's limit, declared by the connector
    hook = print

    extract.extract_source(
        housing, "settings", "sink", dt.date(2026, 11, 23), "2026-11-23", "landing", "policy",
        rate_limits=False, streams=["permits"], progress=hook,
    )  # fmt: skip
    extract.extract_source(housing, "settings", "sink", dt.date(2026, 11, 23), "2026-11-23")

    (lifted, options), (kept, defaults) = calls
    assert lifted[0].rate_per_s is None and lifted[0].name == "housing"
    assert lifted[1:] == ("settings", "sink", dt.date(2026, 11, 23), "2026-11-23", "landing",
                          "policy")  # fmt: skip
    assert options == {"streams": ["permits"], "progress": hook}
    assert kept[0] is housing and defaults == {"streams": None, "progress": None}
