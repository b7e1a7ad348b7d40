"""Where each project of the world is built: its site, shared by the planning and hotline
simulators (planning draws the parcels, citizens complain about what happens there).

One row per project the world holds (registry projects and unregistered works alike), derived
deterministically from the world's seed and its registry and permit tables:

- `project`: the world's project id (registry code, or `U<n>`)
- `name`, `owner_name`, `owner_code`: as the registry (or the works' first permit) has them
- `district`: the county-level division the site lies in; a city-level project (`320500`) is
  sited in one of the districts, `320571` (苏州工业园区) among them
- `road_a`, `road_b`: the two roads bounding the site (`人民路以东、干将路以北`); districts
  draw from a small pool, so a road is often shared by several sites
- `longitude`, `latitude`: the site's centre, WGS 84, inside its district's box
- `area_m2`: the surveyed land area; `half_x_m`, `half_y_m`: the parcel's half sides in metres
- `start_day`, `end_day`: when works are under way there (planned start to planned end with
  the world's slip), world day numbers
- `contractors`: the contractors named on its construction permits (never withdrawn),
  `、`-joined ("" if none)
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd

from simulators.world import calendar as cal
from simulators.world.model import World

# rough boxes of the county-level divisions (lon min, lon max, lat min, lat max), WGS 84
DISTRICT_BOXES: dict[str, tuple[float, float, float, float]] = {
    "320505": (120.45, 120.58, 31.27, 31.40),  # 虎丘区
    "320506": (120.45, 120.75, 31.08, 31.24),  # 吴中区
    "320507": (120.56, 120.75, 31.41, 31.52),  # 相城区
    "320508": (120.57, 120.66, 31.28, 31.34),  # 姑苏区
    "320509": (120.50, 120.85, 30.82, 31.08),  # 吴江区
    "320571": (120.68, 120.84, 31.26, 31.36),  # 苏州工业园区
    "320581": (120.66, 120.93, 31.56, 31.78),  # 常熟市
    "320582": (120.47, 120.72, 31.82, 31.98),  # 张家港市
    "320583": (120.86, 121.04, 31.30, 31.44),  # 昆山市
    "320585": (121.02, 121.22, 31.46, 31.60),  # 太仓市
}
DISTRICTS = tuple(DISTRICT_BOXES)
DISTRICT_NAMES = {
    "320505": "虎丘区", "320506": "吴中区", "320507": "相城区", "320508": "姑苏区",
    "320509": "吴江区", "320571": "工业园区", "320581": "常熟市", "320582": "张家港市",
    "320583": "昆山市", "320585": "太仓市",
}  # fmt: skip

ROADS = (
    "人民路", "干将路", "东环路", "西环路", "南环路", "北环路", "十梓街", "凤凰街", "竹辉路",
    "石湖路", "金鸡湖大道", "星湖街", "现代大道", "苏州大道", "星港街", "通园路", "长江路",
    "珠江路", "狮山路", "塔园路", "滨河路", "玉山路", "金山路", "太湖大道", "吴中大道",
    "东吴北路", "宝带路", "友新路", "越溪路", "旺山路", "木东路", "澄湖路", "郭巷路",
    "春申湖路", "阳澄湖大道", "齐门北大街", "太阳路", "相城大道", "元和路", "中园路",
    "松陵大道", "笠泽路", "鲈乡路", "江陵路", "长安路", "仲英大道", "海虞北路", "黄河路",
    "虞山路", "沙家浜路", "杨舍路", "暨阳路", "港城大道", "前进路", "柏庐路", "马鞍山路",
    "娄江路", "上海东路", "郑和路", "县府街", "弇山路", "青阳路", "白塘路", "独墅湖大道",
)  # fmt: skip
ROADS_PER_DISTRICT = 18
SIP_SHARE = 0.3  # city-level projects sited in 苏州工业园区
M_PER_DEG_LAT = 111_320.0


def rng_for(world: World, what: str) -> np.random.Generator:
    """A generator of its own per purpose: one department's draws never shift another's."""
    digest = hashlib.sha256(f"{world.seed}/{what}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def sites(world: World) -> pd.DataFrame:
    """The sites, computed once per world (kept in `world.derived`)."""
    cached = world.derived.get("sites")
    if cached is None:
        cached = world.derived["sites"] = _sites(world)
    return cached


def _sites(world: World) -> pd.DataFrame:
    rng = rng_for(world, "sites")
    drc = world.tables["drc"]
    drc = drc[drc["_bad"] == ""].drop_duplicates("_project", keep="last")
    registered = pd.DataFrame(
        {
            "project": drc["_project"].to_numpy(dtype=object),
            "name": drc["xmmc"].astype(str).str.strip().to_numpy(dtype=object),
            "owner_name": drc["xmdw"].to_numpy(dtype=object),
            "owner_code": drc["xmdwdm"].to_numpy(dtype=object),
            "region": drc["szqh"].astype(str).str.strip().to_numpy(dtype=object),
            "start_day": _days(drc["jhkgsj"]),
            "end_day": _days(drc["jhjgsj"]),
        }
    )
    permits = world.tables["permits"]
    first = permits.sort_values(["_project", "_key"]).drop_duplicates("_project")
    unreg = first[first["_project"].str.startswith("U", na=False)]
    issued = cal.day_of_ms(pd.to_numeric(unreg["issueDate"], errors="coerce").fillna(0))
    unregistered = pd.DataFrame(
        {
            "project": unreg["_project"].to_numpy(dtype=object),
            "name": unreg["projectName"].str.replace(r"[一二三四]标段$", "", regex=True),
            "owner_name": unreg["buildUnit"].to_numpy(dtype=object),
            "owner_code": unreg["buildUnitCreditCode"].to_numpy(dtype=object),
            "region": unreg["regionCode"].astype(str).str.strip().to_numpy(dtype=object),
            "start_day": issued,
            "end_day": issued + 540,
        }
    )
    s = pd.concat([registered, unregistered], ignore_index=True)
    s = s.sort_values("project", kind="stable").reset_index(drop=True)
    n = len(s)
    city = ~s["region"].isin(DISTRICTS)
    anywhere = np.array(DISTRICTS)[rng.integers(len(DISTRICTS), size=n)]
    drawn = np.where(rng.random(n) < SIP_SHARE, "320571", anywhere)
    s["district"] = np.where(city, drawn, s["region"])
    # each district's small pool of roads: nearby works share them
    pools = {d: rng.choice(len(ROADS), size=ROADS_PER_DISTRICT, replace=False) for d in DISTRICTS}
    a = np.array([pools[d][rng.integers(ROADS_PER_DISTRICT)] for d in s["district"]])
    b = np.array([pools[d][rng.integers(ROADS_PER_DISTRICT)] for d in s["district"]])
    b = np.where(a == b, np.array([pools[d][0] for d in s["district"]]), b)
    b = np.where(a == b, np.array([pools[d][1] for d in s["district"]]), b)
    roads = np.array(ROADS, dtype=object)
    s["road_a"], s["road_b"] = roads[a], roads[b]
    boxes = np.array([DISTRICT_BOXES[d] for d in s["district"]])
    s["longitude"] = boxes[:, 0] + rng.random(n) * (boxes[:, 1] - boxes[:, 0])
    s["latitude"] = boxes[:, 2] + rng.random(n) * (boxes[:, 3] - boxes[:, 2])
    area = np.round(np.exp(rng.normal(9.8, 0.9, size=n)), 2).clip(800, 600_000)
    ratio = rng.uniform(0.5, 2.0, size=n)
    s["area_m2"] = area
    s["half_x_m"] = np.sqrt(area * ratio) / 2
    s["half_y_m"] = np.sqrt(area / ratio) / 2
    span = np.maximum(s["end_day"] - s["start_day"], 60)
    s["end_day"] = s["start_day"] + (span * rng.uniform(1.0, 1.4, size=n)).astype(np.int64)
    # a permit withdrawn at any time was issued in error: its contractor never worked there
    deleted = world.tables["deleted"]
    withdrawn = set(deleted.loc[deleted["resource"] == "permits", "key"])
    contractors = (
        permits[~permits["_key"].isin(withdrawn)]
        .drop_duplicates(["_project", "contractor"])
        .groupby("_project")["contractor"]
        .agg(lambda names: "、".join(sorted(str(x).strip() for x in names if isinstance(x, str))))
    )
    s["contractors"] = s["project"].map(contractors).fillna("")
    return s


def _days(yyyymmdd: pd.Series) -> np.ndarray:
    parsed = pd.to_datetime(yyyymmdd.astype(str).str.strip(), format="%Y%m%d", errors="coerce")
    days = (parsed - pd.Timestamp(cal.EPOCH)).dt.days
    return days.fillna(cal.day(cal.WORLD_START)).astype(np.int64).to_numpy()


def parcel(site: pd.Series | dict) -> list[list[tuple[float, float]]]:
    """The site's parcel as one closed ring (lon, lat), counter-clockwise, WGS 84."""
    lon, lat = float(site["longitude"]), float(site["latitude"])
    dx = float(site["half_x_m"]) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    dy = float(site["half_y_m"]) / M_PER_DEG_LAT
    ring = [(lon - dx, lat - dy), (lon + dx, lat - dy), (lon + dx, lat + dy), (lon - dx, lat + dy)]
    return [[*ring, ring[0]]]


def location_text(site: pd.Series | dict) -> str:
    """用地位置 as planning writes it: the two bounding roads."""
    return f"{site['road_a']}以东、{site['road_b']}以北"
