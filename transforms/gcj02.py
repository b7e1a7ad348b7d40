"""GCJ-02 (the offset coordinates of maps published in China) to and from WGS 84, vectorised.

The forward transform is the published one (the same constants every open implementation
uses); the inverse has no closed form and is found by fixed-point iteration, which converges to
well under a centimetre in a few steps inside China. Whole arrays at once: a night converts
every APP order's position in one call.
"""

from __future__ import annotations

import numpy as np

A = 6_378_245.0  # Krasovsky 1940 semi-major axis, as the transform defines it
EE = 0.006_693_421_622_965_943  # its first eccentricity squared


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )  # fmt: skip
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )  # fmt: skip
    rad = lat / 180.0 * np.pi
    magic = 1 - EE * np.sin(rad) ** 2
    d_lat = (d_lat * 180.0) / ((A * (1 - EE)) / (magic * np.sqrt(magic)) * np.pi)
    d_lon = (d_lon * 180.0) / (A / np.sqrt(magic) * np.cos(rad) * np.pi)
    return d_lon, d_lat


def to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 → GCJ-02 (degrees)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    d_lon, d_lat = _delta(lon, lat)
    return lon + d_lon, lat + d_lat


def to_wgs84(lon, lat, steps: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS 84 (degrees): the point whose forward transform lands on the given one."""
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(steps):
        f_lon, f_lat = to_gcj02(w_lon, w_lat)
        w_lon, w_lat = w_lon - (f_lon - g_lon), w_lat - (f_lat - g_lat)
    return w_lon, w_lat
