"""Work orders linked to construction sites by what they mention (transforms.mentions), rule
by rule: given what the linked records say of the sites, when an order names something, then
it is linked only when that singles out one project of its district under way that day."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from departments.hotline import SITES
from transforms import mentions
from transforms.gcj02 import to_gcj02, to_wgs84
from transforms.links import SITE_CONTRACTOR, SITE_NAME, SITE_POSITION, SITE_ROAD, SiteMention

EVIDENCE = SiteMention(
    text=("title", "content", "address"), region="regionCode", when="acceptedAt",
    topic="topic", topic_prefix="城乡建设/建筑施工/", longitude="longitude",
    latitude="latitude", facts=SITES,
)  # fmt: skip
NOISE = "城乡建设/建筑施工/夜间施工噪音"


def square(lon: float, lat: float, half_m: float = 50.0) -> str:
    d_lat, d_lon = half_m / 111_320, half_m / (111_320 * np.cos(np.radians(lat)))
    ring = [[lon - d_lon, lat - d_lat], [lon + d_lon, lat - d_lat], [lon + d_lon, lat + d_lat],
            [lon - d_lon, lat + d_lat], [lon - d_lon, lat - d_lat]]  # fmt: skip
    return json.dumps({"type": "MultiPolygon", "coordinates": [[ring]]})


# three projects under way in 姑苏区 in 2026, one in 吴中区; A and B share 人民路
PROJECTS = [
    # id, name, district, planned start, planned end, contractor, location, centre
    ("P-A", "苏州市姑苏区平江路河道整治工程", "320508", "20260101", "20261231", "甲建设有限公司",
     "人民路以东、干将路以北", (120.62, 31.31)),
    ("P-B", "苏州市姑苏区十梓街改造工程", "320508", "20260101", "20261231", "乙建设有限公司",
     "人民路以东、十梓街以北", (120.63, 31.30)),
    ("P-C", "苏州市姑苏区竹辉路新建工程", "320508", "20260101", "20261231", "乙建设有限公司",
     "竹辉路以东、凤凰街以北", (120.60, 31.29)),
    ("P-D", "苏州市吴中区平江路河道整治工程", "320506", "20260101", "20261231", "甲建设有限公司",
     "人民路以东、干将路以北", (120.62, 31.20)),
    ("P-OLD", "苏州市姑苏区石路改造工程", "320508", "20200101", "20201231", "丙建设有限公司",
     "石路以东、阊胥路以北", (120.61, 31.32)),
]  # fmt: skip


def given_the_linked_records():
    """The registry, construction permits and land-use permits of PROJECTS, linked."""

    def frame(rows, keys):
        return pd.DataFrame(rows).assign(_key=keys)

    registry = frame(
        [{"xmdm": p, "xmmc": n, "szqh": d, "jhkgsj": pd.Timestamp(s), "jhjgsj": pd.Timestamp(e)}
         for p, n, d, s, e, *_ in PROJECTS], [p[0] for p in PROJECTS],
    )  # fmt: skip
    permits = frame(
        [{"permitNo": f"{p}-1", "regionCode": d, "issueDate": pd.Timestamp(s, tz="Asia/Shanghai"),
          "projectName": n, "contractor": c} for p, n, d, s, _, c, *_ in PROJECTS],
        [f"{p[0]}-1" for p in PROJECTS],
    )  # fmt: skip
    land = frame(
        [{"permitCode": f"L-{p}", "regionCode": d, "location": loc, "geometry": square(*xy)}
         for p, _, d, _, _, _, loc, xy in PROJECTS], [f"L-{p[0]}" for p in PROJECTS],
    )  # fmt: skip
    accepted = {"project": registry, "permit": permits, "land_use_permit": land,
                "works_permit": pd.DataFrame({"_key": [], "regionCode": [], "location": [],
                                              "geometry": []})}  # fmt: skip

    def links(keys, pids):
        return pd.DataFrame({"record_key": keys, "project_id": pids})

    done = {
        "project": links(registry["_key"], registry["xmdm"]),
        "permit": links(permits["_key"], [p[0] for p in PROJECTS]),
        "land_use_permit": links(land["_key"], [p[0] for p in PROJECTS]),
        "works_permit": links([], []),
    }
    return mentions.gather(EVIDENCE, accepted, done)


def order(content, region="320508", when="2026-06-01 10:00:00", topic=NOISE, at=None, **more):
    lon, lat = (None, None) if at is None else (float(v) for v in to_gcj02(*at))
    return {"title": "反映夜间施工噪音", "content": content, "address": more.get("address"),
            "regionCode": region, "acceptedAt": pd.Timestamp(when, tz="Asia/Shanghai"),
            "topic": topic, "longitude": lon, "latitude": lat}  # fmt: skip


def when_linked(*orders):
    rows = pd.DataFrame(list(orders))
    project, method = mentions.link_orders(rows, EVIDENCE, given_the_linked_records())
    return list(zip(project, method, strict=True))


def test_given_a_shortened_name_then_the_project_of_that_district_is_linked():
    # the same works' name in 吴中区 (P-D) is another project: the district separates them
    assert when_linked(order("平江路河道整治工地晚上施工")) == [("P-A", SITE_NAME)]
    assert when_linked(order("平江路河道整治工地晚上施工", region="320506")) == [("P-D", SITE_NAME)]


def test_given_no_region_code_then_the_district_the_address_names_is_used():
    found = when_linked(order("平江路河道整治工地晚上施工", region="", address="吴中区某小区"))
    assert found == [("P-D", SITE_NAME)]


def test_given_no_region_and_no_district_named_then_a_name_two_districts_share_stays_unlinked():
    assert when_linked(order("平江路河道整治工地晚上施工", region="")) == [(None, None)]


def test_given_a_road_two_sites_share_then_the_order_stays_unlinked():
    assert when_linked(order("人民路上的工地晚上施工")) == [(None, None)]


def test_given_both_bounding_roads_then_the_one_site_they_bound_is_linked():
    assert when_linked(order("人民路与干将路交叉口的工地")) == [("P-A", SITE_ROAD)]


def test_given_a_contractor_on_two_sites_and_a_road_of_one_then_together_they_link_it():
    assert when_linked(order("乙建设有限公司施工的工地")) == [(None, None)]
    assert when_linked(order("人民路上乙建设有限公司施工的工地")) == [("P-B", SITE_CONTRACTOR)]


def test_given_evidence_that_disagrees_then_the_order_stays_unlinked():
    assert when_linked(order("平江路河道整治工地，乙建设有限公司施工")) == [(None, None)]


def test_given_works_finished_long_ago_then_their_name_links_nothing():
    assert when_linked(order("石路改造工地晚上施工")) == [(None, None)]
    assert when_linked(order("石路改造工地晚上施工", when="2020-06-01 10:00:00")) == [
        ("P-OLD", SITE_NAME)
    ]


def test_given_an_app_position_in_gcj02_then_the_parcel_within_200_m_is_linked():
    near = (120.62 + 150 / (111_320 * np.cos(np.radians(31.31))) + 0.0005, 31.31)  # ~200 m east
    assert when_linked(order("家门口的工地", at=(120.62, 31.31))) == [("P-A", SITE_POSITION)]
    assert when_linked(order("家门口的工地", at=near)) == [("P-A", SITE_POSITION)]
    far = (120.625, 31.305)  # half a kilometre from every parcel
    assert when_linked(order("家门口的工地", at=far)) == [(None, None)]


def test_given_a_position_near_no_parcel_then_the_name_alone_links_it():
    far = (120.625, 31.305)
    assert when_linked(order("平江路河道整治工地晚上施工", at=far)) == [("P-A", SITE_NAME)]


def test_given_a_name_typed_with_spaces_and_full_width_forms_then_it_is_the_name():
    typed = order("平江路　河道 整治\n工地", address="人民路\t１号")  # the ideographic space
    assert when_linked(typed) == [("P-A", SITE_NAME)]
    assert mentions._fold("ＡＢ　c d\te\u2003f𠀀") == "ABcdef𠀀"  # beyond the BMP too


def test_given_only_the_site_at_the_door_then_nothing_is_linked():
    assert when_linked(order("家门口的工地晚上十点以后还在施工")) == [(None, None)]


def test_given_an_order_about_something_else_then_it_belongs_to_no_project():
    other = order("平江路河道整治工地附近公交站台破损", topic="交通管理/公交站台")
    assert when_linked(other) == [(None, None)]


@pytest.mark.parametrize("lon,lat", [(120.62, 31.31), (121.3, 31.9), (120.0, 30.75)])
def test_given_gcj02_then_wgs84_comes_back_and_agrees_with_an_independent_implementation(lon, lat):
    import eviltransform

    g_lon, g_lat = to_gcj02(lon, lat)
    e_lat, e_lon = eviltransform.wgs2gcj(lat, lon)
    assert abs(g_lon - e_lon) < 1e-6 and abs(g_lat - e_lat) < 1e-6  # < 0.1 m
    back = to_wgs84(g_lon, g_lat)
    assert abs(back[0] - lon) < 1e-8 and abs(back[1] - lat) < 1e-8
    assert 100 < np.hypot((g_lon - lon) * 95_000, (g_lat - lat) * 111_000) < 1000  # the offset
