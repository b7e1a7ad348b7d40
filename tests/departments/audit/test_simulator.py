"""audit.md: static bearer token, offset paging over a list computed afresh, day-precise since."""

from __future__ import annotations

import pytest

from simulators.client import SimClient
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from tests.conftest import AS_OF

PATH = "/audit/api/findings"


def test_given_wrong_token_then_401_unauthorized(cluster):
    r = SimClient(cluster.servers["audit"]).get(PATH, Authorization="Bearer nope")
    assert r.status_code == 401 and r.json() == {"message": "unauthorized"}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
def test_given_paging_outside_limits_then_400(cluster, params):
    assert SimClient(cluster.servers["audit"]).get(PATH, params).status_code == 400


def test_offset_paging_returns_every_finding_once_by_id(cluster):
    client = SimClient(cluster.servers["audit"])
    items, offset = [], 0
    while True:
        body = client.get(PATH, {"offset": offset, "limit": 7}).json()
        items += body["items"]
        offset += 7
        if offset >= body["total"]:
            break
    ids = [i["findingId"] for i in items]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == body["total"]


def test_since_has_day_precision(cluster):
    client = SimClient(cluster.servers["audit"])
    everything = client.get(PATH, {"limit": 200}).json()["items"]
    day = sorted(i["lastModified"][:10] for i in everything)[len(everything) // 2]
    recent = client.get(PATH, {"limit": 200, "since": day}).json()["items"]
    assert len(recent) == sum(i["lastModified"][:10] >= day for i in everything)


def test_given_back_dated_entry_while_paging_then_an_item_repeats(world):
    with Cluster(world, AS_OF) as c:
        client = SimClient(c.servers["audit"])
        first = client.get(PATH, {"offset": 0, "limit": 10}).json()["items"]
        c.servers["audit"].faults = FaultPlan(rate=1.0, kinds=("back_dated_insert",))
        second = client.get(PATH, {"offset": 10, "limit": 10}).json()["items"]
    assert second[0] == first[-1]


def test_free_text_references_and_amount_quirks(world):
    f = world.tables["findings"]
    refs = f["projectRef"].fillna("")
    assert refs.str.contains("（20").any() and refs.str.contains("（２").any()
    assert (refs == "").any()
    amounts = f["amount"]
    assert (
        (amounts == "").any() and amounts.isna().any() and amounts.str.contains(",", na=False).any()
    )
