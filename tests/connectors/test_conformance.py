"""The conformance suite: every registered department with a simulator passes all of it."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from connectors.core import AuthenticationError, Cursor, DayPartitions, LocalSink
from departments.registry import all_departments
from tests.conftest import AS_OF
from tests.connectors import kit

CONNECTORS = [d.connector for d in all_departments().values() if d.simulator]
EARLIER = AS_OF - dt.timedelta(days=9)


@pytest.fixture(params=CONNECTORS, ids=lambda c: c.name)
def connector(request):
    return request.param


def test_given_a_fresh_hub_when_fully_synced_then_it_holds_exactly_the_worlds_records(
    connector, world, tmp_path
):
    sink = kit.fresh_sink(tmp_path, "s")
    result = kit.run(connector, world, AS_OF, sink)
    assert kit.mismatches(sink, connector, world, AS_OF) == {}
    assert result.records >= sum(
        len(kit.expected_pairs(world, connector, s.name, AS_OF)) for s in connector.streams
    )


def test_given_5pct_faults_when_synced_then_the_records_equal_the_fault_free_ones(
    connector, world, tmp_path
):
    connector = kit.small_pages(connector)  # many requests, so that faults land on some
    # seeds in order until the 5% draw hits a request that matters (else nothing is tested)
    for seed in range(1, 30):
        sink = kit.fresh_sink(tmp_path, f"s{seed}")
        result = kit.run(connector, world, AS_OF, sink, fault_rate=0.05, fault_seed=seed)
        if set(result.faults_drawn) - {"slow"}:
            break
    else:
        pytest.fail("no seed drew a fault")
    assert kit.mismatches(sink, connector, world, AS_OF) == {}
    assert result.retries + sum(len(s.notes) for s in result.streams.values()) > 0


def test_given_an_earlier_night_when_synced_again_then_exactly_the_changes_are_picked_up(
    connector, world, tmp_path
):
    sink = kit.fresh_sink(tmp_path, "s")
    kit.run(connector, world, EARLIER, sink)
    sink.changed.clear()
    kit.run(connector, world, AS_OF, sink)
    assert kit.mismatches(sink, connector, world, AS_OF) == {}
    for s in connector.streams:
        before = dict(kit.expected_pairs(world, connector, s.name, EARLIER))
        after = kit.expected_pairs(world, connector, s.name, AS_OF)
        changed = {k for k, v in after if before.get(k) != v}
        assert sink.changed.get((connector.name, s.name), set()) == changed, s.name


def test_given_no_changes_when_synced_again_then_nothing_new_is_fetched(connector, world, tmp_path):
    sink = kit.fresh_sink(tmp_path, "s")
    first = kit.run(connector, world, AS_OF, sink)
    sink.changed.clear()
    second = kit.run(connector, world, AS_OF, sink)
    assert all(not keys for keys in sink.changed.values())
    # only the contracts' lookbacks are read again (boundary records, unsettled pay days)
    assert second.records <= max(0.2 * first.records, 10 * len(connector.streams))
    assert kit.mismatches(sink, connector, world, AS_OF) == {}


def test_given_wrong_credentials_when_synced_then_it_fails_fast_naming_the_connection(
    connector, world, tmp_path
):
    started = time.perf_counter()
    with pytest.raises(AuthenticationError) as caught:
        kit.run(connector, world, AS_OF, kit.fresh_sink(tmp_path, "s"), password="not-the-secret")
    assert time.perf_counter() - started < 10
    assert connector.conn_id in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


class Crash(Exception):
    pass


class CrashingSink(LocalSink):
    """Dies (losing what it has not committed) after `pages` staged batches."""

    def __init__(self, root, pages: float) -> None:
        super().__init__(root, commit_every_s=0)
        self.left, self.staged = pages, 0

    def stage(self, source, stream, frame) -> None:
        self.left -= 1
        self.staged += 1
        if self.left < 0:
            raise Crash()
        super().stage(source, stream, frame)


def test_given_a_crash_mid_stream_when_rerun_then_it_resumes_and_loses_nothing(
    connector, world, tmp_path
):
    connector = kit.small_pages(connector)  # many pages, so there is a middle to crash in
    counting = CrashingSink(tmp_path / "full", float("inf"))
    full = kit.run(connector, world, AS_OF, counting)
    crash_after = counting.staged // 2
    with pytest.raises(Crash):
        kit.run(connector, world, AS_OF, CrashingSink(tmp_path / "s", crash_after))
    sink = LocalSink(tmp_path / "s", commit_every_s=0)
    resumed = kit.run(connector, world, AS_OF, sink)
    assert kit.mismatches(sink, connector, world, AS_OF) == {}
    # paginators that checkpoint inside a read resume where they stopped
    if any(isinstance(s.paginator, (Cursor, DayPartitions)) for s in connector.streams):
        assert resumed.pages < full.pages
