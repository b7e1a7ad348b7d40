"""housing.md: OAuth2 client credentials, 10 requests/s, expiring cursors, tombstones."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from simulators.client import SimClient
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from tests.conftest import AS_OF

UNLIMITED = {"housing": {"rate_per_s": 0}}


def _all(client, feed, limit=1000, **params):
    items, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"/openapi/v3/{feed}", query).json()
        items += body["items"]
        cursor = body["nextCursor"]
        if cursor is None:
            return items


def test_given_wrong_client_secret_then_invalid_client(cluster):
    server = cluster.servers["housing"]
    r = SimClient(server).session.post(
        f"{server.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": server.client_id,
            "client_secret": "x",
        },
    )
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}


def test_given_unknown_token_then_invalid_token(cluster):
    r = SimClient(cluster.servers["housing"]).get(
        "/openapi/v3/permits", Authorization="Bearer not-a-token"
    )
    assert r.status_code == 401 and r.json() == {"error": "invalid_token"}


def test_token_response_and_expiry(world):
    with Cluster(world, AS_OF, options={"housing": {"token_ttl_s": 1}}) as c:
        client = SimClient(c.servers["housing"])
        assert client.get("/openapi/v3/permits", {"limit": 1}).status_code == 200
        time.sleep(1.2)
        expired = client.get("/openapi/v3/permits", {"limit": 1})
    assert expired.status_code == 401 and expired.json() == {"error": "invalid_token"}


def test_given_server_restart_then_tokens_die_before_expires_in(cluster):
    client = SimClient(cluster.servers["housing"])
    assert client.get("/openapi/v3/permits", {"limit": 1}).status_code == 200
    cluster.servers["housing"].invalidate_tokens()
    assert client.get("/openapi/v3/permits", {"limit": 1}).status_code == 401


def test_given_more_than_10_requests_per_second_then_429_with_fractional_retry_after(cluster):
    client = SimClient(cluster.servers["housing"])
    statuses = [client.get("/openapi/v3/permits", {"limit": 1}) for _ in range(15)]
    limited = [r for r in statuses if r.status_code == 429]
    assert sum(r.status_code == 200 for r in statuses) <= 10 and limited
    assert 0 < float(limited[0].headers["Retry-After"]) <= 1


@pytest.mark.parametrize("limit", [0, 1001])
def test_given_limit_outside_1_to_1000_then_400(cluster, limit):
    assert (
        SimClient(cluster.servers["housing"])
        .get("/openapi/v3/permits", {"limit": limit})
        .status_code
        == 400
    )


@pytest.mark.parametrize(
    "resource,key",
    [
        ("permits", "permitNo"),
        ("progress-reports", "reportId"),
        ("inspections", "inspectionId"),
        ("acceptances", "filingNo"),
    ],
)
def test_cursor_paging_returns_every_item_once_in_modified_order(world, resource, key):
    with Cluster(world, AS_OF, options=UNLIMITED) as c:
        items = _all(SimClient(c.servers["housing"]), resource, limit=97)
        expected = c.servers["housing"].inventory()[resource]
    assert len(items) == expected == len({i[key] for i in items})
    order = [(i["modifiedAt"], i[key]) for i in items]
    assert order == sorted(order)


def test_modified_after_is_strictly_greater(world):
    with Cluster(world, AS_OF, options=UNLIMITED) as c:
        client = SimClient(c.servers["housing"])
        items = _all(client, "inspections")
        pivot = items[len(items) // 2]["modifiedAt"]
        later = _all(client, "inspections", modifiedAfter=pivot)
    assert later and all(i["modifiedAt"] > pivot for i in later)
    assert len(later) == sum(i["modifiedAt"] > pivot for i in items)


def test_given_expired_or_malformed_cursor_then_invalid_cursor(world):
    with Cluster(world, AS_OF, options={"housing": {"cursor_ttl_s": 0.5, "rate_per_s": 0}}) as c:
        client = SimClient(c.servers["housing"])
        cursor = client.get("/openapi/v3/permits", {"limit": 5}).json()["nextCursor"]
        bad = client.get("/openapi/v3/permits", {"limit": 5, "cursor": cursor[:-2] + "xx"})
        time.sleep(0.7)
        expired = client.get("/openapi/v3/permits", {"limit": 5, "cursor": cursor})
    for r in (bad, expired):
        assert r.status_code == 400 and r.json() == {"error": "invalid_cursor"}


def test_money_is_an_exact_json_number_in_wan(cluster):
    r = SimClient(cluster.servers["housing"]).get("/openapi/v3/permits", {"limit": 1000})
    items = r.json()["items"]
    amounts = re.findall(r'"contractAmount":(-?[0-9.]+)[,}]', r.text)  # numbers, not strings
    assert len(amounts) == len(items)
    assert any(len(a.split(".")[-1]) > 2 for a in amounts if "." in a)  # up to 6 decimals
    assert all(len(a.split(".")[-1]) <= 6 for a in amounts if "." in a)


def test_deleted_permits_leave_the_resource_and_appear_as_tombstones_on_later_days(world):
    gone = world.tables["deleted"].iloc[0]
    deleted_on = dt.date(1970, 1, 1) + dt.timedelta(
        milliseconds=int(gone["deletedAt"]) + 8 * 3600_000
    )
    seen = {}
    for as_of in (deleted_on - dt.timedelta(days=1), deleted_on):
        with Cluster(world, as_of, options=UNLIMITED) as c:
            client = SimClient(c.servers["housing"])
            seen[as_of] = (
                {i["permitNo"] for i in _all(client, "permits")},
                {t["key"]: t for t in _all(client, "deleted", resource="permits")},
            )
    (before, tomb_before), (after, tomb_after) = seen.values()
    assert gone["key"] in before and gone["key"] not in tomb_before
    assert gone["key"] not in after and set(tomb_after[gone["key"]]) == {
        "key",
        "deletedAt",
        "modifiedAt",
    }


def test_quirks_on_the_wire(medium_world):
    world = medium_world
    day = (AS_OF - dt.date(1970, 1, 1)).days
    reports = world.as_of("reports", day)
    rates = reports["completionRate"].astype(float)
    assert (rates > 100).any() and (rates < 0).any()
    permits = world.as_of("permits", day)
    assert (permits["contractAmount"] == "0").any()
    # reports that name a permit the permits resource has not returned yet
    first_seen = world.tables["permits"].groupby("_key")["_ts"].min()
    early = reports["_ts"].to_numpy() < reports["permitNo"].map(first_seen).fillna(0).to_numpy()
    assert early.any()


def test_given_token_invalidated_fault_then_401_and_a_new_token_works(world):
    with Cluster(world, AS_OF) as c:
        server = c.servers["housing"]
        client = SimClient(server)
        assert client.get("/openapi/v3/permits", {"limit": 1}).status_code == 200  # has a token
        server.faults = FaultPlan(rate=1.0, kinds=("token_invalidated",))
        assert client.get("/openapi/v3/permits", {"limit": 1}).status_code == 401
        server.faults = FaultPlan()
        client.token = None  # a new one is fetched
        assert client.get("/openapi/v3/permits", {"limit": 1}).status_code == 200
