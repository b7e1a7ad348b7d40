"""An error answer is never data: a gateway's error page (404, 410, 400 with an HTML body) in
front of any system fails the sync with one line naming the source, the request, the status and
the content type; nothing of the page is stored, the state stays before what was not read, and
a rerun without the gateway reads it all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.core import Connector, FatalSourceError, LocalSink, from_env, sync
from departments.registry import get
from simulators.cluster import Cluster
from simulators.world import World
from simulators.world import calendar as cal
from tests.conftest import AS_OF
from tests.connectors import kit
from tests.connectors.gateway import Gateway, error_page

Rule = Callable[[str, str], bool]


def asking(prefix: str, **params: str) -> Rule:
    """Every request to a path starting with `prefix` that carries all of `params`."""

    def rule(method: str, path: str) -> bool:
        split = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        return split.path.startswith(prefix) and all(query.get(k) == v for k, v in params.items())

    return rule


def nth(prefix: str, n: int) -> Rule:
    """The `n`th request to a path starting with `prefix`, and every repeat of exactly it."""
    seen: list[str] = []

    def rule(method: str, path: str) -> bool:
        if not urlsplit(path).path.startswith(prefix):
            return False
        seen.append(path)
        return len(seen) >= n and path == seen[n - 1]

    return rule


def settled_pay_day(world: World) -> dt.date:
    """A pay date in the middle of the treasury's history that has vouchers, long settled."""
    days = sorted(set(world.as_of("vouchers", cal.day(AS_OF))["_pay_day"]))
    return cal.date_of(days[len(days) // 2])


def refusal(name: str, world: World) -> Rule:
    """Which request the gateway refuses, per connector: one in the middle of a read, after
    at least one checkpoint where the paginator checkpoints inside a read."""
    if name == "treasury":
        return asking("/treasury/v2/vouchers", pay_date=settled_pay_day(world).isoformat())
    if name == "drc":
        return asking("/api/v1/projects", page="3")
    if name == "housing":  # the 40th of ~335 pages of 10: past the first batch of 32
        return nth("/openapi/v3/progress-reports", 40)
    return asking("/audit/api/findings", offset="30")


def through_gateway(connector: Connector, cluster: Cluster, gateway: Gateway, sink: LocalSink):
    environ = gateway.environment(cluster.environment(), connector.conn_id)
    settings = from_env(connector.conn_id, environ)
    return sync(connector, settings, sink, AS_OF, "run-gateway", policy=kit.FAST)


def a_cluster(world: World) -> Cluster:
    # rate limits lifted, as in the conformance kit: pages of 10 make many requests
    return Cluster(world, AS_OF, rate_limits=False)


def fast(connector: Connector) -> Connector:
    return kit.small_pages(dataclasses.replace(connector, rate_per_s=None))


def stored_values(sink: LocalSink, connector: Connector) -> str:
    frames = [sink.records(connector.name, s.name) for s in connector.streams]
    return " ".join(f.astype(str).to_csv() for f in frames if len(f))


@pytest.mark.parametrize("status", [404, 410, 400])
@pytest.mark.parametrize("name", ["drc", "treasury", "housing", "audit"])
def test_given_a_gateway_error_page_for_one_request_when_synced_then_it_fails_naming_it_and_a_rerun_reads_all(  # noqa: E501
    name, status, world, tmp_path
):
    connector = fast(get(name))
    with a_cluster(world) as cluster:
        # given a gateway that answers one request of the read with its own HTML error page
        gateway = Gateway(cluster.servers[name].url, refusal(name, world), status)
        # when synced through it
        with gateway, pytest.raises(FatalSourceError) as caught:
            through_gateway(connector, cluster, gateway, LocalSink(tmp_path, commit_every_s=0))
        # then the sync fails at once (no retries: the answer will not change), in one line
        # naming the source, the request as sent, the status and what the body was
        message = str(caught.value)
        assert len(gateway.refused) == 1, gateway.refused
        assert "\n" not in message
        for part in (name, connector.conn_id, gateway.refused[0], f"HTTP {status}", "text/html"):
            assert part in message, (part, message)
        # and nothing of the page is stored, only records the system really has
        sink = LocalSink(tmp_path, commit_every_s=0)
        assert "<html" not in stored_values(sink, connector)
        mismatches = kit.mismatches(sink, connector, world, AS_OF)
        assert all(not m["extra"] for m in mismatches.values()), mismatches
        if name == "treasury":  # the state stays before the day that was not read
            unread = settled_pay_day(world)
            state = sink.state(name, "vouchers")
            assert state is not None and dt.date.fromisoformat(state["final_through"]) < unread
        if name == "housing":  # a checkpoint was taken before the failure: state is not empty
            assert sink.state(name, "progress_reports") is not None
        # and a rerun straight to the system, from the stored state, reads everything
        settings = from_env(connector.conn_id, cluster.environment())
        sync(connector, settings, sink, AS_OF, "run-direct", policy=kit.FAST)
    assert kit.mismatches(sink, connector, world, AS_OF) == {}


@pytest.mark.parametrize("name", ["drc", "treasury"])
def test_given_a_gateway_page_with_http_200_when_synced_then_the_error_says_what_came_instead(
    name, world, tmp_path
):
    connector = fast(get(name))
    refuse = refusal(name, world)
    page = error_page(200, "Service maintenance")
    with (
        a_cluster(world) as cluster,
        Gateway(cluster.servers[name].url, refuse, 200, page) as gw,
        pytest.raises(FatalSourceError) as caught,
    ):
        through_gateway(connector, cluster, gw, LocalSink(tmp_path, commit_every_s=0))
    message = str(caught.value)
    assert "HTTP 200" in message and "text/html" in message and gw.refused[0] in message
    assert "cut off" not in message
    assert "\n" not in message


def test_given_a_gateway_400_page_mentioning_invalid_cursor_when_synced_then_it_is_no_restart(
    world, tmp_path
):
    # housing's 400 means "cursor expired" only as the contract's own JSON answer
    connector = fast(get("housing"))
    page = b"<html><body>400 Bad Request: invalid_cursor</body></html>"
    refuse = nth("/openapi/v3/permits", 3)  # a request carrying a cursor
    with (
        a_cluster(world) as cluster,
        Gateway(cluster.servers["housing"].url, refuse, 400, page) as gw,
        pytest.raises(FatalSourceError) as caught,
    ):
        through_gateway(connector, cluster, gw, LocalSink(tmp_path, commit_every_s=0))
    assert "cursor=" in gw.refused[0]
    assert gw.refused[0] in str(caught.value) and "HTTP 400" in str(caught.value)


def test_given_a_gateway_404_page_for_the_token_endpoint_when_synced_then_it_fails_at_once(
    world, tmp_path
):
    connector = fast(get("housing"))
    refuse = nth("/oauth/token", 1)
    with (
        a_cluster(world) as cluster,
        Gateway(cluster.servers["housing"].url, refuse, 404) as gw,
        pytest.raises(FatalSourceError) as caught,
    ):
        through_gateway(connector, cluster, gw, LocalSink(tmp_path, commit_every_s=0))
    assert gw.refused == ["/oauth/token"]  # not retried: a 404 page does not go away
    for part in ("housing_api", "/oauth/token", "HTTP 404", "text/html"):
        assert part in str(caught.value)
