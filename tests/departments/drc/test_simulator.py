"""drc.md: X-App-Key, page numbers with total, business errors inside HTTP 200."""

from __future__ import annotations

import pytest

from simulators.client import SimClient
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from tests.conftest import AS_OF

PATH = "/api/v1/projects"


def test_given_wrong_key_then_401_with_contract_body(cluster):
    r = SimClient(cluster.servers["drc"]).get(PATH, **{"X-App-Key": "wrong"})
    assert r.status_code == 401
    assert r.json() == {"code": 401, "msg": "无效的应用密钥"}


@pytest.mark.parametrize("size", [0, 501])
def test_given_page_size_outside_1_to_500_then_400(cluster, size):
    assert SimClient(cluster.servers["drc"]).get(PATH, {"page_size": size}).status_code == 400


def test_given_paging_then_total_and_pages_cover_every_record_once_in_order(cluster, world):
    client = SimClient(cluster.servers["drc"])
    seen, page = [], 1
    while True:
        data = client.get(PATH, {"page": page, "page_size": 50}).json()["data"]
        seen += data["records"]
        if page * 50 >= data["total"]:
            break
        page += 1
    assert client.get(PATH, {"page": page + 1, "page_size": 50}).json()["data"]["records"] == []
    assert len(seen) == data["total"] == len({r["xmdm"] for r in seen})
    order = [(r["gxsj"], r["xmdm"]) for r in seen]
    assert order == sorted(order)


def test_given_updated_since_then_only_records_at_or_after_it(cluster):
    client = SimClient(cluster.servers["drc"])
    everything = client.get(PATH, {"page_size": 500}).json()["data"]["records"]
    cut = sorted(r["gxsj"] for r in everything)[len(everything) // 2]
    since = cut.replace(" ", "T") + "+08:00"
    recent = client.get(PATH, {"page_size": 500, "updated_since": since}).json()["data"]["records"]
    assert recent and all(r["gxsj"] >= cut for r in recent)
    assert len(recent) == sum(r["gxsj"] >= cut for r in everything)


def test_money_is_a_decimal_string_in_wan_with_its_quirks(cluster):
    records = (
        SimClient(cluster.servers["drc"]).get(PATH, {"page_size": 500}).json()["data"]["records"]
    )
    ztz = [r["ztz"] for r in records]
    assert all(isinstance(z, str) for z in ztz)
    assert any("," in z for z in ztz)  # thousands separators happen


@pytest.mark.parametrize("kind,code", [("code_5001", 5001), ("code_5002", 5002)])
def test_given_busy_registry_then_business_error_inside_http_200(world, kind, code):
    with Cluster(world, AS_OF) as c:
        c.servers["drc"].faults = FaultPlan(rate=1.0, kinds=(kind,))
        r = SimClient(c.servers["drc"]).get(PATH)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == code and body["data"] is None


def test_given_malformed_updated_since_then_code_4003(cluster):
    body = SimClient(cluster.servers["drc"]).get(PATH, {"updated_since": "yesterday"}).json()
    assert body["code"] == 4003


def test_given_records_moving_while_paging_then_a_page_repeats_or_skips_one(world):
    with Cluster(world, AS_OF) as c:
        client = SimClient(c.servers["drc"])
        clean = client.get(PATH, {"page": 2, "page_size": 20}).json()["data"]["records"]
        c.servers["drc"].faults = FaultPlan(rate=1.0, kinds=("page_drift",))
        drifted = client.get(PATH, {"page": 2, "page_size": 20}).json()["data"]["records"]
    assert [r["xmdm"] for r in drifted] != [r["xmdm"] for r in clean]
    assert len({r["xmdm"] for r in drifted} & {r["xmdm"] for r in clean}) == 19
    assert all(r in clean for r in drifted if r["xmdm"] in {c["xmdm"] for c in clean})
