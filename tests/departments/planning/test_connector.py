"""The planning connector against its simulator: a full read equals the world, `next` links
on another host are followed behind a gateway, the key (`tk`) is never recorded, and bad
records (geometry included) are quarantined with their reasons."""

from __future__ import annotations

import dataclasses
import gzip
import logging

import pytest

from connectors.core import GaveUpError, Landing, LocalSink, RetryPolicy, from_env, sync
from connectors.core.formats import record_frame
from departments.planning.connector import Features
from departments.registry import department, ground_truth, record
from schemas.validate import validate
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from simulators.world import calendar as cal
from tests.conftest import AS_OF
from tests.connectors import kit
from yiwang.night.steps import live_records

PLANNING = department("planning")
CONNECTOR = dataclasses.replace(PLANNING.connector, rate_per_s=None)


def _sync(cluster: Cluster, sink, landing=None, policy=kit.FAST, password=None):
    settings = from_env(CONNECTOR.conn_id, cluster.environment())
    if password is not None:
        settings = dataclasses.replace(settings, password=password)
    return sync(CONNECTOR, settings, sink, AS_OF, f"run-{AS_OF}", landing, policy)


def _landed(root) -> bytes:
    return b"".join(
        gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    )


def test_given_a_full_read_then_the_hub_holds_the_worlds_permits(world, tmp_path):
    sink = kit.fresh_sink(tmp_path, "s")
    kit.run(PLANNING.connector, world, AS_OF, sink)
    assert kit.mismatches(sink, PLANNING.connector, world, AS_OF) == {}


def test_given_a_gateway_prefix_then_next_links_on_the_service_host_are_followed_through_it(
    world, tmp_path
):
    small = kit.small_pages(CONNECTOR)  # many `next` links
    sink, landing = kit.fresh_sink(tmp_path, "s"), Landing(tmp_path / "landing", "run")
    with Cluster(world, AS_OF, base_path="/gw", rate_limits=False) as cluster:
        settings = from_env(small.conn_id, cluster.environment())
        result = sync(small, settings, sink, AS_OF, "run", landing, kit.FAST)
    assert kit.mismatches(sink, small, world, AS_OF) == {}
    assert result.pages > 10
    landed = _landed(tmp_path / "landing").decode("utf-8", "replace")
    assert '"request": "/gw/ogc/collections/land-use-permits/items?limit=10&offset=10' in landed


def test_the_key_is_never_in_landing_metadata_errors_retries_or_logs(
    world, tmp_path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    with Cluster(world, AS_OF) as cluster:
        server = cluster.servers["planning"]
        key = server.key
        server.faults = FaultPlan(rate=0.5, seed=1, kinds=("http_500", "truncated", "reset"))
        result = _sync(cluster, kit.fresh_sink(tmp_path, "s"), Landing(tmp_path / "l", "run"))
        assert result.retries > 0
        with pytest.raises(Exception) as refused:
            _sync(cluster, kit.fresh_sink(tmp_path, "x"), password="wrong-key-123")
        server.faults = FaultPlan(rate=1.0, kinds=("http_503",))
        with pytest.raises(GaveUpError) as gave_up:
            _sync(cluster, kit.fresh_sink(tmp_path, "y"), policy=RetryPolicy(max_attempts=2))
    landed = _landed(tmp_path / "l")
    assert b'"request": "/ogc/collections/' in landed and key.encode() not in landed
    assert b"tk=" not in landed
    for text in (str(refused.value), str(gave_up.value), str(result.retry_reasons), caplog.text):
        assert key not in text and "wrong-key-123" not in text
    assert "planning_api" in str(refused.value)


def test_given_a_later_night_then_it_asks_only_from_the_watermark_on(world, tmp_path):
    sink = LocalSink(tmp_path / "s", commit_every_s=0)
    with Cluster(world, AS_OF) as cluster:
        first = _sync(cluster, sink)
        state = sink.state("planning", "land_use_permits")
        again = _sync(cluster, sink, Landing(tmp_path / "l", "again"))
    assert state["watermark"].endswith("+08:00")
    assert again.records < first.records
    assert b"datetime=" + state["watermark"][:4].encode() in _landed(tmp_path / "l")


def test_given_bad_records_then_exactly_those_are_quarantined_with_reasons(world, tmp_path):
    sink = kit.fresh_sink(tmp_path, "s")
    kit.run(PLANNING.connector, world, AS_OF, sink)
    truth = ground_truth(world, cal.day(AS_OF))
    for stream in PLANNING.connector.streams:
        rows = live_records(sink, "planning", stream.name)
        checked = validate("planning", record(stream.record_type), rows)
        mine = truth[truth["record_type"] == stream.record_type]
        assert set(checked.quarantine["record_key"]) == set(mine.loc[~mine["valid"], "record_key"])
        assert checked.quarantine["reasons"].str.len().gt(0).all()
        shapes = checked.accepted["geometry"].dropna()
        assert shapes.str.startswith('{"type":"MultiPolygon"').all()


def test_given_a_feature_whose_id_is_not_its_permit_code_then_it_is_quarantined():
    body = (
        '{"type":"FeatureCollection","numberMatched":2,"features":['
        '{"type":"Feature","id":"地字第320506202300001号","geometry":null,"properties":%s},'
        '{"type":"Feature","id":"地字第320506202300009号","geometry":%s,"properties":%s}]}'
    )
    shape = (
        '{"type":"Polygon","coordinates":[[[120.6,31.3],[120.61,31.3],[120.61,31.31],'
        "[120.6,31.31],[120.6,31.3]]]}"
    )

    def props(code: str) -> str:
        return (
            '{"permitCode":"%s","projectName":"某工程","landUser":"苏州市住房和城乡建设局",'
            '"landUserCreditCode":"113205007434176594","landArea":1234.50,"landUse":"居住用地",'
            '"approvedOn":"2023-05-06","regionCode":"320506","status":"有效","srid":4490,'
            '"updated":"2023-05-06T10:00:00+08:00"}' % code
        )

    text = body % (props("地字第320506202300001号"), shape, props("地字第320506202300002号"))
    records, garbled = Features().parse(text.encode())
    stream = CONNECTOR.stream("land_use_permits")
    frame, _ = record_frame(records, stream.fields, stream.key, stream.version, (), garbled)
    checked = validate("planning", record("land_use_permit"), frame)
    assert list(checked.accepted["permitCode"]) == ["地字第320506202300001号"]
    assert str(checked.accepted["landArea"].iloc[0]) == "1234.50"  # exact, never a float
    (reason,) = checked.quarantine["reasons"]
    assert "is not the feature's id '地字第320506202300009号'" in reason
    assert "120.6" in checked.quarantine["payload"].iloc[0]  # shown as received
