"""Planning geometries normalised per batch (planning.md, "Geometry"): parsed from GeoJSON, legacy
EPSG:4549 parcels reprojected to CRS84, heights dropped, invalid rings repaired, and written
back as one deterministic `MultiPolygon` GeoJSON text with coordinates rounded to 6 decimals.

Only the GeoJSON parse walks records one by one (into flat coordinate arrays); reprojection,
ring building, repair, orientation, rounding, the Suzhou check and the output text are single
vectorised calls (pyproj, shapely/GEOS) over every coordinate of the batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

LEGACY_SRID = 4549  # CGCS2000 / 3-degree Gauss-Krüger CM 120°E, metres
PLACES = 6  # about 0.1 m: finer than any survey the parcels come from
# Suzhou's box (longitude min, max, latitude min, max): wholly outside it is no parcel of ours
SUZHOU = (119.9, 121.4, 30.7, 32.1)
OUTSIDE = "geometry lies outside Suzhou (longitude 119.9–121.4, latitude 30.7–32.1)"
NOT_GEOJSON = "geometry is not a GeoJSON Polygon or MultiPolygon"
NO_AREA = "geometry encloses no area"
_POLYGON = shapely.GeometryType.POLYGON


@cache
def _to_crs84() -> Transformer:
    """One transformer for the process: building one costs far more than using it."""
    return Transformer.from_crs("EPSG:4549", "OGC:CRS84", always_xy=True)


def normalise(geometry: pd.Series, srid: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """(the normalised MultiPolygon text, or None; why the geometry is a bad record, or None).

    `geometry`: GeoJSON text (or an already decoded object) or null, per record; `srid`: the
    record's `srid` property (`4549` marks a legacy parcel in metres). Null stays null, valid.
    """
    index = geometry.index
    # the srid arrives as a JSON number, as text, or as a float beside nulls
    legacy = (
        np.zeros(len(index), dtype=bool)
        if srid is None
        else (pd.to_numeric(srid, errors="coerce") == LEGACY_SRID).to_numpy()
    )
    flat = _Flat.of(geometry.to_numpy(dtype=object))
    out = np.full(len(index), None, dtype=object)
    problems = np.array(flat.problems, dtype=object)
    if len(flat.x):
        geoms, rows = _build(flat, legacy)
        text, problem = _finish(geoms)
        out[rows], problems[rows] = text, problem
    return pd.Series(out, index=index, dtype=object), pd.Series(problems, index=index, dtype=object)


@dataclass
class _Flat:
    """Every coordinate of a batch in flat arrays, with the ring, polygon and record each
    belongs to; `problems[i]` says why record i could not be read (None otherwise)."""

    x: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))
    ring: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    ring_polygon: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    polygon_record: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    problems: list[str | None] = field(default_factory=list)

    @classmethod
    def of(cls, values: np.ndarray) -> _Flat:
        xs: list[float] = []
        ys: list[float] = []
        ring_of: list[int] = []
        ring_polygon: list[int] = []
        polygon_record: list[int] = []
        problems: list[str | None] = []
        for i, value in enumerate(values):
            polygons = _polygons(value)
            if polygons is None:
                problems.append(NOT_GEOJSON)
                continue
            problems.append(None)
            for rings in polygons:
                polygon_id = len(polygon_record)
                polygon_record.append(i)
                for ring in rings:
                    ring_id = len(ring_polygon)
                    ring_polygon.append(polygon_id)
                    for point in ring:
                        xs.append(point[0])
                        ys.append(point[1])
                    ring_of.extend([ring_id] * len(ring))
        return cls(
            np.array(xs, dtype=float),
            np.array(ys, dtype=float),
            np.array(ring_of, dtype=np.int64),
            np.array(ring_polygon, dtype=np.int64),
            np.array(polygon_record, dtype=np.int64),
            problems,
        )


def _polygons(value: Any) -> list | None:
    """The polygons (lists of rings of points) of one GeoJSON geometry; [] for null; None when
    it is no Polygon or MultiPolygon with numeric coordinates."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if value is None:
        return []
    if not isinstance(value, dict):
        return None
    kind, coords = value.get("type"), value.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polygons, list) or not polygons:
        return None
    for rings in polygons:
        if not isinstance(rings, list) or not rings:
            return None
        for ring in rings:
            if not isinstance(ring, list) or len(ring) < 3 or not all(map(_point, ring)):
                return None
    return polygons


def _point(p: Any) -> bool:
    return (
        isinstance(p, list)
        and len(p) in (2, 3)  # a third value is a height: dropped
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
        and all(np.isfinite(float(c)) for c in p[:2])
    )


def _build(flat: _Flat, legacy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One MultiPolygon per record with coordinates, in CRS84, repaired; and those records."""
    x, y = flat.x, flat.y
    record_of_point = flat.polygon_record[flat.ring_polygon[flat.ring]]
    metres = legacy[record_of_point]
    if metres.any():  # every legacy coordinate of the batch in one call
        x, y = x.copy(), y.copy()
        x[metres], y[metres] = _to_crs84().transform(x[metres], y[metres])
    # shapely closes a ring missing its repeated closing point; the first ring is the shell
    rings = shapely.linearrings(np.column_stack([x, y]), indices=flat.ring)
    polygons = shapely.polygons(rings, indices=flat.ring_polygon)
    rows, record = np.unique(flat.polygon_record, return_inverse=True)
    merged = shapely.multipolygons(polygons, indices=record)
    return _polygonal(shapely.make_valid(merged)), rows


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Only the polygonal parts of repaired geometries (a repair can leave lines and points),
    as one MultiPolygon each: empty when nothing with an area is left."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    parts, inner = shapely.get_parts(parts, return_index=True)  # collections hold multis
    owner = owner[inner]
    keep = shapely.get_type_id(parts) == _POLYGON
    out = np.array([shapely.MultiPolygon()] * len(geoms), dtype=object)
    if keep.any():
        present, group = np.unique(owner[keep], return_inverse=True)
        out[present] = shapely.multipolygons(parts[keep], indices=group)
    return out


def _finish(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic text (exterior rings counter-clockwise as RFC 7946 asks, 6 decimals), and
    the problem of each geometry that is no parcel of Suzhou."""
    rounded = shapely.transform(shapely.orient_polygons(geoms), lambda c: np.round(c, PLACES))
    text = shapely.to_geojson(rounded).astype(object)
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    lon_min, lon_max, lat_min, lat_max = SUZHOU
    outside = (xmax < lon_min) | (xmin > lon_max) | (ymax < lat_min) | (ymin > lat_max)
    empty = shapely.is_empty(geoms)
    problem = np.full(len(geoms), None, dtype=object)
    problem[outside] = [
        f"{OUTSIDE}: its bounds are {a:.4f}..{b:.4f}, {c:.4f}..{d:.4f}"
        for a, b, c, d in zip(
            xmin[outside], xmax[outside], ymin[outside], ymax[outside], strict=True
        )
    ]
    problem[empty] = NO_AREA
    text[outside | empty] = None
    return text, problem
