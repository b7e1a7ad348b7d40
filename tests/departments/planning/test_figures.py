"""Planning's published figures (unified-dataset.md, Version 1.1): where a project is, its
land, the parcels' table and NO_PLANNING_PERMIT, each from the permits linked to it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
import shapely

from departments.planning.figures import geometry_table, no_planning_permit, permits, position
from transforms.unify import Projects


def _u(x: float, y: float) -> list[float]:
    return [round(120.60 + x / 100, 4), round(31.30 + y / 100, 4)]


# a U whose centroid lies in its gap, outside it
L_SHAPE = [[_u(0, 0), _u(3, 0), _u(3, 3), _u(2.8, 3), _u(2.8, 0.2), _u(0.2, 0.2), _u(0.2, 3),
            _u(0, 3), _u(0, 0)]]  # fmt: skip
SQUARE = [[[120.64, 31.30], [120.65, 31.30], [120.65, 31.31], [120.64, 31.31], [120.64, 31.30]]]


def mp(*polygons) -> str:
    return json.dumps({"type": "MultiPolygon", "coordinates": list(polygons)})


def given(land: list[tuple], works: list[tuple], construction: list[tuple]) -> Projects:
    """Records linked to P-1 and P-2: (key, project, status, area, geometry) land-use permits,
    (key, project, status, approvedOn) works permits, (key, project, issueDate) permits."""
    land_f = pd.DataFrame(
        land, columns=["permitCode", "project_id", "status", "landArea", "geometry"]
    )
    works_f = pd.DataFrame(works, columns=["permitCode", "project_id", "status", "approvedOn"])
    permit_f = pd.DataFrame(construction, columns=["permitNo", "project_id", "issueDate"])
    links = pd.concat(
        [
            pd.DataFrame({"record_type": rt, "record_key": f[k], "project_id": f["project_id"]})
            for rt, f, k in (
                ("land_use_permit", land_f, "permitCode"),
                ("works_permit", works_f, "permitCode"),
                ("permit", permit_f, "permitNo"),
            )
        ],
        ignore_index=True,
    ).assign(source_system="x")
    accepted = {
        "land_use_permit": land_f.drop(columns="project_id"),
        "works_permit": works_f.drop(columns="project_id").assign(
            approvedOn=lambda f: pd.to_datetime(f["approvedOn"])
        ),
        "permit": permit_f.drop(columns="project_id").assign(
            issueDate=lambda f: pd.to_datetime(f["issueDate"]).dt.tz_localize("Asia/Shanghai")
        ),
    }
    return Projects(accepted, links, dt.date(2026, 11, 23))


def test_given_valid_and_revoked_permits_then_only_valid_ones_count_and_land_adds_up():
    ps = given(
        [("L1", "P-1", "有效", Decimal("1000.50"), mp(L_SHAPE)),
         ("L2", "P-1", "注销", Decimal("999"), mp(SQUARE)),
         ("L3", "P-2", "有效", Decimal("20"), None)],
        [("W1", "P-1", "有效", "2026-01-01"), ("W2", "P-2", "注销", "2026-01-01")],
        [],
    )  # fmt: skip
    got = permits(ps)
    assert list(ps.ids) == ["P-1", "P-2"]
    assert got["planning_permit_count"].tolist() == [2, 1]  # L2 and W2 revoked: no permits
    assert got["land_area"].tolist() == [Decimal("1000.50"), Decimal("20.00")]


def test_given_an_l_shaped_parcel_then_the_point_lies_inside_it_where_a_centroid_would_not():
    ps = given([("L1", "P-1", "有效", Decimal(1), mp(L_SHAPE)),
                ("L2", "P-2", "有效", Decimal(1), None)], [], [])  # fmt: skip
    shape = shapely.from_geojson(mp(L_SHAPE))
    assert not shape.contains(shape.centroid)
    got = position(ps)
    point = shapely.Point(float(got["longitude"][0]), float(got["latitude"][0]))
    assert shape.contains(point) and got["longitude"][1] is None  # no geometry: no point
    assert got["longitude"][0] == got["longitude"][0].quantize(Decimal("0.000001"))


def test_given_two_parcels_then_the_geometry_table_holds_their_union_once_per_project():
    ps = given([("L1", "P-1", "有效", Decimal(1), mp(L_SHAPE)),
                ("L2", "P-1", "有效", Decimal(1), mp(SQUARE)),
                ("L3", "P-2", "注销", Decimal(1), mp(SQUARE))], [], [])  # fmt: skip
    table = geometry_table(ps)
    assert table["project_id"].tolist() == ["P-1"] and table["parcel_count"].tolist() == [2]
    union = shapely.from_geojson(table["geometry"][0])
    assert union.geom_type == "MultiPolygon" and len(union.geoms) == 2 and union.is_valid
    assert abs(union.area - shapely.from_geojson(mp(L_SHAPE, SQUARE)).area) < 1e-12
    assert geometry_table(ps)["geometry"][0] == table["geometry"][0]  # the same bytes again


def test_given_construction_before_the_works_planning_permit_or_without_one_then_flagged():
    ps = given(
        [],
        [("W1", "P-1", "有效", "2026-03-01"), ("W2", "P-2", "注销", "2026-01-01")],
        [("C1", "P-1", "2026-02-01"), ("C2", "P-2", "2026-05-01"), ("C3", "P-3", "2026-05-01")],
    )
    assert no_planning_permit(ps).tolist() == [True, True, True]
    ps = given([], [("W1", "P-1", "有效", "2026-01-15")], [("C1", "P-1", "2026-02-01")])
    assert no_planning_permit(ps).tolist() == [False]
