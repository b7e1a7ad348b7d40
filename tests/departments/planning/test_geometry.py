"""transforms/geometry.py: planning's geometries normalised per batch (planning.md, Geometry)."""

from __future__ import annotations

import json
import math

import pandas as pd
import shapely

from transforms.geometry import NO_AREA, NOT_GEOJSON, OUTSIDE, normalise

# CGCS2000's ellipsoid, for a meridian arc computed without pyproj
A, F = 6378137.0, 1 / 298.257222101


def _meridian_arc(lat_deg: float) -> float:
    """Metres from the equator along a meridian (Helmert's series, mm-accurate)."""
    e2 = F * (2 - F)
    e4, e6 = e2 * e2, e2 * e2 * e2
    p = math.radians(lat_deg)
    return A * (
        (1 - e2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * p
        - (3 * e2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * math.sin(2 * p)
        + (15 * e4 / 256 + 45 * e6 / 1024) * math.sin(4 * p)
        - (35 * e6 / 3072) * math.sin(6 * p)
    )


def _polygon(ring, kind="Polygon") -> str:
    coords = [ring] if kind == "Polygon" else [[ring]]
    return json.dumps({"type": kind, "coordinates": coords})


def _one(geometry, srid=None):
    text, problem = normalise(pd.Series([geometry], dtype=object), pd.Series([srid], dtype=object))
    return text.iloc[0], problem.iloc[0]


def _shape(text: str):
    return shapely.from_geojson(text)


SQUARE = [[120.60, 31.30], [120.61, 31.30], [120.61, 31.31], [120.60, 31.31], [120.60, 31.30]]


def test_given_a_legacy_parcel_in_epsg_4549_then_it_is_reprojected_to_crs84_within_a_metre():
    # on the central meridian (120°E, false easting 500 km) the northing is the meridian arc
    north = _meridian_arc(31.3)
    ring = [
        [500000 - 50, north - 50], [500000 + 50, north - 50],
        [500000 + 50, north + 50], [500000 - 50, north + 50], [500000 - 50, north - 50],
    ]  # fmt: skip
    text, problem = _one(_polygon(ring), 4549)
    assert problem is None
    centre = _shape(text).centroid
    metres_per_degree = 111_320.0
    assert abs(centre.x - 120.0) * metres_per_degree * math.cos(math.radians(31.3)) < 1.0
    assert abs(centre.y - 31.3) * metres_per_degree < 1.0


def test_given_the_srid_as_text_or_a_float_then_the_parcel_is_still_legacy():
    north = _meridian_arc(31.3)
    ring = [[499990, north], [500010, north], [500010, north + 20], [499990, north + 20]]
    for srid in ("4549", 4549.0, " 4549 "):
        text, problem = _one(_polygon(ring), srid)
        assert problem is None and abs(_shape(text).centroid.x - 120.0) < 1e-4


def test_given_a_bow_tie_ring_then_it_is_repaired_into_a_valid_multipolygon_with_area():
    bow_tie = [[120.60, 31.30], [120.61, 31.31], [120.61, 31.30], [120.60, 31.31], [120.60, 31.30]]
    text, problem = _one(_polygon(bow_tie))
    shape = _shape(text)
    assert problem is None
    assert shape.geom_type == "MultiPolygon" and shape.is_valid and shape.area > 0


def test_given_a_clockwise_ring_without_its_closing_point_then_it_is_closed_and_turned():
    clockwise_open = SQUARE[:-1][::-1]
    text, problem = _one(_polygon(clockwise_open, "MultiPolygon"))
    ring = json.loads(text)["coordinates"][0][0]
    assert problem is None and ring[0] == ring[-1]
    assert shapely.LinearRing(ring).is_ccw  # RFC 7946: exterior rings counter-clockwise


def test_given_heights_then_they_are_dropped():
    text, _ = _one(_polygon([[x, y, 0] for x, y in SQUARE]))
    ring = json.loads(text)["coordinates"][0][0]
    assert all(len(point) == 2 for point in ring)
    assert text == _one(_polygon(SQUARE))[0]


def test_given_a_geometry_outside_suzhou_then_it_is_a_bad_record_naming_the_rule():
    anhui = [[x - 1.5, y] for x, y in SQUARE]
    text, problem = _one(_polygon(anhui))
    assert text is None and problem.startswith(OUTSIDE)


def test_given_null_then_it_stays_null_and_valid():
    assert _one(None) == (None, None)
    assert _one(None, 4549) == (None, None)


def test_given_what_is_no_polygon_then_it_is_a_bad_record():
    point = json.dumps({"type": "Point", "coordinates": [120.6, 31.3]})
    for broken in ('{"type": "Polygon", "coord', point, _polygon([[120.6, "x"], [1, 2], [3, 4]])):
        assert _one(broken) == (None, NOT_GEOJSON)
    flat = _polygon([[120.5, 31.5], [120.75, 31.5], [121.0, 31.5]])  # on a line: no area
    assert _one(flat) == (None, NO_AREA)


def test_the_text_is_deterministic_rounded_and_the_same_alone_or_in_a_batch():
    fine = [[x + 0.00000012, y + 0.00000049] for x, y in SQUARE]
    alone, _ = _one(_polygon(fine))
    assert alone == _one(_polygon(fine))[0]
    assert '"coordinates":[[[[' in alone and "120.6," in alone  # 6 decimals at most
    for point in json.loads(alone)["coordinates"][0][0]:
        assert all(round(c, 6) == c for c in point)
    batch = pd.Series([None, "not json", _polygon(SQUARE), _polygon(fine)], dtype=object)
    texts, problems = normalise(batch, pd.Series([None] * 4, dtype=object))
    assert texts.iloc[3] == alone and problems.iloc[1] == NOT_GEOJSON
    assert texts.isna().tolist() == [True, True, False, False]
