"""Planning's figures (where a project is, and how much land), its table of parcels and the
flag a construction permit without a works planning permit raises."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from transforms.unify import Projects, count, day, money

VALID = "有效"  # a `注销` permit stays a record but counts as no permit
PLACES = Decimal("0.000001")


def _valid(ps: Projects, record_type: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows, at = ps.linked(record_type, "permitCode")
    keep = (rows["status"] == VALID).to_numpy(dtype=bool)
    return rows[keep], at[keep]


def permits(ps: Projects) -> dict[str, Any]:
    land, at_land = _valid(ps, "land_use_permit")
    _, at_works = _valid(ps, "works_permit")
    return {
        "planning_permit_count": count(at_land, ps.n) + count(at_works, ps.n),
        "land_area": money(at_land, land["landArea"], ps.n),
    }


def parcels(ps: Projects) -> dict[int, Any]:
    """Each project's valid parcels united (shapely), by project place; kept on `ps`, as both
    the point and the table read them."""
    cached = getattr(ps, "_parcels", None)
    if cached is not None:
        return cached
    import shapely

    land, at = _valid(ps, "land_use_permit")
    shapes = land["geometry"].to_numpy(dtype=object)
    has = np.array([isinstance(g, str) for g in shapes], dtype=bool)
    keys = land["permitCode"].to_numpy(dtype=object)[has]
    order = np.lexsort((keys, at[has]))  # a project's parcels united in key order: same bytes
    geoms = shapely.from_geojson(shapes[has][order])
    places = at[has][order]
    out: dict[int, Any] = {}
    for place in np.unique(places):
        mine = geoms[places == place]
        out[int(place)] = (shapely.union_all(mine), len(mine))
    ps._parcels = out
    return out


def position(ps: Projects) -> dict[str, Any]:
    lon = np.full(ps.n, None, dtype=object)
    lat = np.full(ps.n, None, dtype=object)
    for place, (shape, _) in parcels(ps).items():
        if shape.is_empty:
            continue
        point = shape.representative_point()  # inside, where a centroid may not be
        lon[place] = Decimal(repr(point.x)).quantize(PLACES)
        lat[place] = Decimal(repr(point.y)).quantize(PLACES)
    return {"longitude": lon, "latitude": lat}


def geometry_table(ps: Projects) -> pd.DataFrame:
    rows = []
    for place, (shape, n) in sorted(parcels(ps).items()):
        if not shape.is_empty:
            rows.append((ps.ids[place], multipolygon_text(shape), n))
    return pd.DataFrame(rows, columns=["project_id", "geometry", "parcel_count"]).astype(
        {"project_id": object, "geometry": object, "parcel_count": "int64"}
    )


def multipolygon_text(shape) -> str:
    """GeoJSON `MultiPolygon` text, coordinates rounded to 6 decimals, compact and stable."""
    import shapely

    polygons = [g for g in getattr(shape, "geoms", [shape]) if g.geom_type == "Polygon"]
    for g in getattr(shape, "geoms", []):
        if g.geom_type == "MultiPolygon":
            polygons += list(g.geoms)
    coords = [
        [
            [[round(x, 6), round(y, 6)] for x, y in ring.coords]
            for ring in (poly.exterior, *poly.interiors)
        ]
        for poly in (shapely.orient_polygons(p) for p in polygons)  # RFC 7946: outer CCW
    ]
    return json.dumps({"type": "MultiPolygon", "coordinates": coords}, separators=(",", ":"))


def no_planning_permit(ps: Projects) -> np.ndarray:
    """A live construction permit, and no valid works planning permit, or one approved only
    after the earliest construction permit (施工许可 before 规划许可)."""
    permits_, at_permit = ps.linked("permit", "permitNo")
    works, at_works = _valid(ps, "works_permit")
    first_permit = _earliest(at_permit, day(permits_["issueDate"]), ps.n)
    first_works = _earliest(at_works, day(works["approvedOn"]), ps.n)
    has_permit = ~np.isnat(first_permit)
    return has_permit & (np.isnat(first_works) | (first_permit < first_works))


def _earliest(at: np.ndarray, days: pd.Series, n: int) -> np.ndarray:
    per = pd.Series(days.to_numpy()).groupby(at).min()
    return per.reindex(range(n)).to_numpy(dtype="datetime64[ns]")
