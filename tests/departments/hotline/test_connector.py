"""hotline.md, the connector: zeep envelopes with a fresh UsernameToken per attempt, faults in
HTTP 500 classified (retried or not), time windows × pages, a read equal to the world."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from lxml import etree

from connectors.core import (
    AuthenticationError,
    ConnectionConfigError,
    FatalSourceError,
    LocalSink,
    sync,
)
from connectors.core.connection import from_fields
from departments.hotline.connector import FIELDS, connector
from departments.hotline.simulator import HotlineServer
from departments.hotline.world import TABLE
from departments.hotline.wsdl import NAMESPACE
from departments.registry import extend_world
from simulators.servers.faults import FaultPlan
from simulators.world import calendar as cal
from tests.conftest import AS_OF
from tests.connectors.kit import FAST
from transforms import pii

START = dt.datetime(2026, 10, 1)  # a short history: a few dozen windows, not a thousand


def recent(start: dt.datetime = START, **changes):
    """The connector reading from `start`, its paginator otherwise as declared."""
    stream = connector.streams[0]
    paginator = dataclasses.replace(stream.paginator, start=start, **changes)
    return dataclasses.replace(
        connector, streams=(dataclasses.replace(stream, paginator=paginator),)
    )


def settings_of(server: HotlineServer, **change):
    c = server.connection()
    extra = {**c["extra"], **change.pop("extra", {})}
    c = {**c, **change}
    return from_fields("hotline_api", c["host"], c["port"], c["schema"], c["login"],
                       c["password"], extra)  # fmt: skip


def read(server, sink, conn=None, landing=None, **change):
    return sync(conn or recent(), settings_of(server, **change), sink, AS_OF, "r", landing, FAST)


@pytest.fixture
def hotline_world(world):
    return extend_world(world)


class Recording(HotlineServer):
    """Keeps every request body it was sent: a repeated request is a retry."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.asked: list[bytes] = []

    def route(self, req, fault):
        body = etree.fromstring(req.body).find(f".//{{{NAMESPACE}}}QueryWorkOrders")
        self.asked.append(etree.tostring(body))
        return super().route(req, fault)


def serve(world, **faults) -> Recording:
    plan = FaultPlan(**faults) if faults else None
    return Recording(world, AS_OF, "hub", "s3cret", faults=plan)


def asked_once(server: Recording) -> bool:
    return len(server.asked) == len(set(server.asked)) > 0


def expected(world, start: dt.datetime = START) -> pd.DataFrame:
    rows = world.as_of(TABLE, cal.day(AS_OF))
    return rows[rows["updatedAt"] >= start.isoformat(sep=" ")]


def test_a_read_equals_the_world_masked_cdata_references_and_nil_included(hotline_world, tmp_path):
    sink = LocalSink(tmp_path, commit_every_s=0)
    with serve(hotline_world) as server:
        result = read(server, sink)
        key = server.phone_key
    got = sink.records("hotline", "work_orders").set_index("_key").sort_index()
    got = got.astype(object).where(got.notna(), None)
    want = expected(hotline_world).set_index("_key").sort_index()
    # an empty element reads as null (zeep, as lxml, cannot tell it from nil): the same to the
    # hub, which treats an empty optional field as missing
    want = want.astype(object).where(want.notna() & (want.astype(str) != ""), None)
    assert list(got.index) == list(want.index) and len(got) > 50
    assert result.requests >= 54  # one window a day at least
    for name in ("orderNo", "acceptedAt", "channel", "status", "regionCode", "longitude",
                 "satisfaction", "closedAt", "updatedAt"):  # fmt: skip
        assert (
            got[name].tolist() == want[name].astype(object).where(want[name].notna(), None).tolist()
        ), name
    for name in ("title", "content", "address"):  # CDATA and &#x3000; read back as written
        assert got[name].tolist() == pii.redact_numbers(want[name]).tolist(), name
    assert want["content"].str.contains("\u3000", na=False).any()
    assert got["callerName"].isna().all()
    assert got["callerPhone"].tolist() == pii.hash_phone(want["callerPhone"], key).tolist()
    assert sink.state("hotline", "work_orders") == {"watermark": "2026-11-24 00:00:00"}


def test_windows_are_24_hours_from_the_watermark_less_a_day_of_overlap(hotline_world, tmp_path):
    sink = LocalSink(tmp_path, commit_every_s=0)
    with serve(hotline_world) as server:
        read(server, sink)
        before = server.requests
        read(server, sink)
        again = server.requests - before
    assert again == 1  # only the last day again (it holds no more than a page)


def test_given_server_busy_then_it_is_retried_and_the_read_completes(hotline_world, tmp_path):
    sink = LocalSink(tmp_path, commit_every_s=0)
    with serve(hotline_world, rate=0.3, seed=1, kinds=("busy",)) as server:
        result = read(server, sink)
    assert any(r.startswith("SOAP fault soap:Server.Busy") for r in result.retry_reasons)
    assert len(sink.records("hotline", "work_orders")) == len(expected(hotline_world))


@pytest.mark.parametrize("kind", ["http_500", "http_503", "truncated", "reset"])
def test_given_transport_failures_then_they_are_retried(hotline_world, tmp_path, kind):
    sink = LocalSink(tmp_path, commit_every_s=0)
    with serve(hotline_world, rate=0.3, seed=2, kinds=(kind,)) as server:
        result = read(server, sink)
    assert result.retries > 0
    assert len(sink.records("hotline", "work_orders")) == len(expected(hotline_world))


def test_given_a_client_fault_in_http_500_then_it_is_not_retried(hotline_world, tmp_path):
    with serve(hotline_world) as server, pytest.raises(FatalSourceError) as caught:
        read(
            server, LocalSink(tmp_path), conn=recent(size=101, concurrency=1)
        )  # pageSize beyond 100
    assert asked_once(server)
    assert "soap:Client.InvalidArgument" in str(caught.value)
    assert not isinstance(caught.value, AuthenticationError)


def test_given_a_window_over_24_hours_then_it_fails_at_once(hotline_world, tmp_path):
    with serve(hotline_world) as server, pytest.raises(FatalSourceError) as caught:
        read(server, LocalSink(tmp_path), conn=recent(window=dt.timedelta(hours=25), concurrency=1))
    assert "soap:Client.WindowTooWide" in str(caught.value) and asked_once(server)


def test_given_wrong_credentials_then_authentication_fails_without_retrying(
    hotline_world, tmp_path
):
    with serve(hotline_world) as server, pytest.raises(AuthenticationError) as caught:
        read(server, LocalSink(tmp_path), conn=recent(concurrency=1), password="not-the-secret")
    assert asked_once(server)
    message = str(caught.value)
    assert "hotline_api" in message and "password" in message and "not-the-secret" not in message


def test_every_attempt_carries_a_fresh_nonce_and_created(hotline_world, tmp_path):
    # answers cut off after the service accepted the request (and its nonce): were a retry
    # to resend the envelope, the service would refuse the nonce; the read completes instead
    sink = LocalSink(tmp_path, commit_every_s=0)
    with serve(hotline_world, rate=0.5, seed=3, kinds=("truncated",)) as server:
        result = read(server, sink)
    assert result.retries > 0 and not result.streams["work_orders"].notes


def test_given_no_phone_key_then_it_fails_in_one_line_naming_the_fix(hotline_world, tmp_path):
    with serve(hotline_world) as server, pytest.raises(ConnectionConfigError) as caught:
        read(server, LocalSink(tmp_path), extra={"phone_key": ""})
    assert server.requests == 0
    message = str(caught.value)
    assert "\n" not in message and "phone_key" in message and "AIRFLOW_CONN_HOTLINE_API" in message


def test_the_phone_key_is_a_secret(hotline_world):
    with serve(hotline_world) as server:
        settings = settings_of(server)
    assert settings.phone_key and settings.phone_key in settings.secrets()
    assert settings.phone_key not in repr(settings) and settings.phone_key not in str(settings)


def test_the_stream_declares_the_contracts_fields_and_its_sensitive_ones():
    stream = connector.streams[0]
    assert stream.fields == FIELDS and stream.key == "orderNo" and stream.version == "updatedAt"
    assert stream.sensitive == ("callerName", "callerPhone")
