"""planning.md, simulated: OGC API – Features with the key in the query string, a silent limit
cap, `next` links naming the service's own host, `datetime` intervals, GeoJSON quirks."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests

from departments.planning.simulator import ADVERTISED, CRS84, GEOJSON
from departments.planning.world import LAND_USE_TABLE, WORKS_TABLE, tables
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from simulators.world import calendar as cal
from tests.conftest import AS_OF

ITEMS = "/ogc/collections/land-use-permits/items"


@pytest.fixture(scope="module")
def gateway(world):
    """The simulators behind a gateway prefix: what the connection names, not the service."""
    with Cluster(world, AS_OF, base_path="/gw") as c:
        yield c.servers["planning"]


def _get(server, path: str, params: dict | None = None, key: str | None = "") -> requests.Response:
    query = dict(params or {})
    if key is not None:
        query["tk"] = key or server.key
    return requests.get(f"{server.url}{path}", params=query, timeout=30)


def _all(server, params: dict) -> list[dict]:
    features, body = [], _get(server, ITEMS, params).json()
    while True:
        features += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return features
        tail = urlsplit(nxt[0])
        body = _get(server, tail.path, {k: v[0] for k, v in parse_qs(tail.query).items()}).json()


@pytest.mark.parametrize("key", [None, "not-the-key"])
def test_given_no_key_or_a_wrong_one_then_403_invalid_key(gateway, key):
    answer = _get(gateway, ITEMS, key=key)
    assert answer.status_code == 403 and answer.json()["code"] == "InvalidKey"
    assert _get(gateway, "/ogc/collections", key=key).status_code == 403


def test_given_a_limit_above_1000_then_it_is_silently_capped(gateway):
    answer = _get(gateway, ITEMS, {"limit": 5000})
    body = answer.json()
    assert answer.status_code == 200
    self_link = next(link["href"] for link in body["links"] if link["rel"] == "self")
    assert parse_qs(urlsplit(self_link).query)["limit"] == ["1000"]
    assert body["numberReturned"] == min(1000, body["numberMatched"]) == len(body["features"])
    assert _get(gateway, ITEMS, {"limit": 0}).status_code == 400


def test_next_links_name_the_service_host_without_the_key_or_the_gateway_prefix(gateway):
    body = _get(gateway, ITEMS, {"limit": 7}).json()
    href = next(link["href"] for link in body["links"] if link["rel"] == "next")
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}" == ADVERTISED
    assert parts.path == ITEMS  # no /gw
    assert "tk" not in parse_qs(parts.query) and gateway.key not in href
    assert parse_qs(parts.query)["offset"] == ["7"]


def test_paging_returns_every_feature_once_ordered_by_updated_then_id(gateway):
    features = _all(gateway, {"limit": 50})
    order = [(f["properties"]["updated"], f["id"]) for f in features]
    assert order == sorted(order) and len({f["id"] for f in features}) == len(features)
    assert len(features) == gateway.inventory()["land-use-permits"]
    assert all(f["id"] == f["properties"]["permitCode"] for f in features)


def test_datetime_keeps_features_updated_at_or_after_its_start(gateway):
    everything = _all(gateway, {"limit": 1000})
    start = sorted(f["properties"]["updated"] for f in everything)[len(everything) // 2]
    recent = _all(gateway, {"limit": 1000, "datetime": f"{start}/.."})
    assert len(recent) == sum(f["properties"]["updated"] >= start for f in everything)
    assert min(f["properties"]["updated"] for f in recent) == start  # inclusive


def test_collections_one_feature_and_404s(gateway):
    listed = _get(gateway, "/ogc/collections").json()["collections"]
    assert [c["id"] for c in listed] == ["land-use-permits", "works-permits"]
    first = _get(gateway, ITEMS, {"limit": 1}).json()["features"][0]
    one = _get(gateway, f"{ITEMS}/{first['id']}")
    assert one.status_code == 200 and one.json() == first
    for path in ("/ogc/collections/parcels/items", f"{ITEMS}/地字第000000000000000号"):
        answer = _get(gateway, path)
        assert answer.status_code == 404 and answer.json()["code"] == "NotFound"


def test_answers_are_geojson_with_the_crs_header(gateway):
    answer = _get(gateway, "/ogc/collections/works-permits/items", {"limit": 3})
    assert answer.headers["Content-Type"] == GEOJSON
    assert answer.headers["Content-Crs"] == CRS84
    assert answer.json()["type"] == "FeatureCollection"


@pytest.mark.parametrize(("fault", "first"), [("moved_skip", 11), ("moved_repeat", 9)])
def test_given_a_feature_moved_while_paging_then_a_page_skips_or_repeats_one(world, fault, first):
    with Cluster(world, AS_OF) as c:
        server = c.servers["planning"]
        everything = _get(server, ITEMS, {"limit": 1000}).json()["features"]
        server.faults = FaultPlan(rate=1.0, kinds=(fault,))
        page = _get(server, ITEMS, {"limit": 10, "offset": 10}).json()
    assert page["features"][0]["id"] == everything[first]["id"]
    assert page["numberMatched"] == len(everything)


def test_the_world_has_the_contracts_quirks(world):
    land, works = (tables(world)[t] for t in (LAND_USE_TABLE, WORKS_TABLE))
    both = pd.concat([land, works], ignore_index=True)
    shapes = both["geometry"].dropna()
    assert (both["srid"] == 4549).any() and both["srid"].isna().any()
    assert both["geometry"].isna().any()
    assert shapes.str.contains(",0]").any()  # heights
    assert (both["projectCode"].isna().mean() > 0.2) and (both["status"] == "注销").any()
    assert land["_project"].isna().any() and (land["landUse"] == "居住用地").any()
    assert works["landPermitCode"].notna().mean() > 0.8
    assert works["projectName"].str.contains("标段").any()
    assert (land.groupby("_key").size() > 1).any()  # later versions
    assert set(land["_bad"]) - {""} and set(works["_bad"]) >= {""}
    legacy = json.loads(land.loc[land["srid"] == 4549, "geometry"].dropna().iloc[0])
    assert legacy["coordinates"][0][0][0][0] > 1000  # metres, not degrees


def test_the_world_is_deterministic_and_permits_precede_their_construction_mostly(world):
    a, b = tables(world), tables(world)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    works = a[WORKS_TABLE].drop_duplicates("_key")
    permits = world.tables["permits"]
    first = pd.to_numeric(permits["issueDate"]).groupby(permits["_project"]).min()
    issued = works["_project"].map(first)
    approved = pd.to_datetime(works["approvedOn"], errors="coerce")
    day = (approved - pd.Timestamp(cal.EPOCH)).dt.days
    late = (day > cal.day_of_ms(issued.fillna(0).to_numpy())) & issued.notna()
    assert late.mean() < 0.15
