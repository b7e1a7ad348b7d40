"""Planning permits in the simulated world: derived from the shared sites (`simulators.world.
sites`) and housing's construction permits, deterministic for a world's seed, with the truth of
which project each belongs to and which rule a bad one breaks.

Per site a land-use permit (sometimes two parcels, two permits) approved well before works
start, and works permits (per project or per section) approved before the project's first
construction permit, except a few after it and a few projects with none; some permits are
revoked (`注销`) and issued again. Private housing developments add land-use permits that are
no project's. Quirks at `Rates`: project codes missing, mistyped or full-width; legacy parcels
in EPSG:4549 metres; invalid rings; heights; null geometry; bad records; later versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from pyproj import Transformer
from stdnum.cn import uscc

from simulators.world import World, vocab
from simulators.world import calendar as cal
from simulators.world.build import ramp
from simulators.world.codes import break_check_character, credit_codes, full_width, typo
from simulators.world.sites import (
    DISTRICT_BOXES,
    DISTRICT_NAMES,
    DISTRICTS,
    M_PER_DEG_LAT,
    ROADS,
    rng_for,
    sites,
)
from simulators.world.variants import section_names

LAND_USE_TABLE = "planning_land_use"
WORKS_TABLE = "planning_works"
PUBLIC_USES = ("公共管理与公共服务用地", "交通运输用地", "公用设施用地", "绿地与开敞空间用地")
PUBLIC_USE_WEIGHTS = (0.6, 0.15, 0.15, 0.1)
HOUSING_USE = "居住用地"
DEVELOPER_KINDS = ("置业有限公司", "房地产开发有限公司", "地产发展有限公司")


@dataclass(frozen=True)
class Rates:
    two_parcels: float = 0.1  # a site bought as two parcels: two land-use permits
    per_section: float = 0.5  # a project with sections gets a works permit per section
    no_works_permit: float = 0.03  # projects that build without one
    works_after_construction: float = 0.03  # issued after the first construction permit
    no_land_permit_code: float = 0.1  # works permits not naming their land-use permit
    revoked: float = 0.02  # revoked (注销) and issued again under a new code
    private_share: float = 0.15  # permits of private housing developments (no project)
    code_missing: float = 0.33
    code_typo: float = 0.03
    code_full_width: float = 0.03
    legacy: float = 0.10  # parcels in EPSG:4549 metres (`srid: 4549`)
    no_srid: float = 0.3  # CRS84 geometries without an `srid` property
    invalid_ring: float = 0.05  # bow-tie, clockwise, or missing its closing point
    height: float = 0.10  # a third coordinate, 0
    null_geometry: float = 0.03
    bad: float = 0.02
    updated: float = 0.1  # touched again later: a newer `updated`


RATES = Rates()


def tables(world: World, rates: Rates = RATES) -> dict[str, pd.DataFrame]:
    rng = rng_for(world, "planning")
    s = sites(world).reset_index(drop=True)
    s = s.assign(owner_code=_repaired_codes(s["owner_code"]))
    construction = _construction(world)
    land = _land_use(s, rng, rates)
    works = _works(s, construction, rng, rates)
    private = _private(len(land) + len(works), world, rng, rates)
    land = pd.concat([land, private], ignore_index=True)
    land, works = (_revoked_and_reissued(t, rng, rates) for t in (land, works))
    land, works = (_coded(t, prefix) for t, prefix in ((land, "地字"), (works, "建字")))
    works["landPermitCode"] = _land_code_of(works, land, rng, rates)
    return {
        LAND_USE_TABLE: _finish(land, LAND_USE_RULES, rng, rates),
        WORKS_TABLE: _finish(works, WORKS_RULES, rng, rates),
    }


# ---- who builds where, and when -----------------------------------------------------------------
def _repaired_codes(codes: pd.Series) -> np.ndarray:
    """Owner codes with a right check character: an unregistered site's owner comes from its
    first construction permit, which may be a bad record; the unit's real code is wanted."""
    out = codes.to_numpy(dtype=object).copy()
    for i, code in enumerate(out):
        if isinstance(code, str) and len(code) == 18 and not uscc.is_valid(code):
            out[i] = code[:-1] + uscc.calc_check_digit(code[:-1])
    return out


def _construction(world: World) -> pd.DataFrame:
    """Per project: the day of its earliest construction permit, and how many it has (its
    sections, at most four)."""
    p = world.tables["permits"].drop_duplicates("_key")
    issued = pd.to_numeric(p["issueDate"], errors="coerce").groupby(p["_project"])
    first = issued.min()
    return pd.DataFrame(
        {
            "first": cal.day_of_ms(first.fillna(0).to_numpy()),
            "sections": issued.size().clip(upper=4).to_numpy(),
        },
        index=first.index,
    )


def _land_use(s: pd.DataFrame, rng: np.random.Generator, rates: Rates) -> pd.DataFrame:
    parts = 1 + (rng.random(len(s)) < rates.two_parcels)
    i = np.repeat(np.arange(len(s)), parts)
    part, of = ramp(parts), np.repeat(parts, parts)
    site = s.iloc[i].reset_index(drop=True)
    # two parcels: the site's west and east halves
    half_x = site["half_x_m"].to_numpy() / of
    east = (part - (of - 1) / 2) * 2 * half_x
    lon = site["longitude"].to_numpy() + _deg_lon(east, site["latitude"].to_numpy())
    cents = np.round(site["area_m2"].to_numpy() * 100).astype(np.int64) // of
    approved = site["start_day"].to_numpy() - rng.integers(120, 400, len(site))
    return pd.DataFrame(
        {
            "project": site["project"].to_numpy(dtype=object),
            "projectName": site["name"].to_numpy(dtype=object),
            "landUser": site["owner_name"].to_numpy(dtype=object),
            "landUserCreditCode": site["owner_code"].to_numpy(dtype=object),
            "landArea": _area_text(cents),
            "location": _location(site),
            "landUse": rng.choice(PUBLIC_USES, size=len(site), p=PUBLIC_USE_WEIGHTS),
            "district": site["district"].to_numpy(dtype=object),
            "day": approved,
            "lon": lon,
            "lat": site["latitude"].to_numpy(),
            "half_x": half_x,
            "half_y": site["half_y_m"].to_numpy(),
            "multi": True,
        }
    )


def _works(
    s: pd.DataFrame, construction: pd.DataFrame, rng: np.random.Generator, rates: Rates
) -> pd.DataFrame:
    n = len(s)
    first = s["project"].map(construction["first"])
    sections = s["project"].map(construction["sections"]).fillna(1).astype(int)
    per_section = rng.random(n) < rates.per_section
    k = np.where(per_section, sections.to_numpy(), 1)
    k = np.where(rng.random(n) < rates.no_works_permit, 0, k)
    before = first.to_numpy(dtype=float)
    base = np.where(np.isnan(before), s["start_day"].to_numpy(), before).astype(np.int64)
    late = rng.random(n) < rates.works_after_construction
    offset = np.where(late, rng.integers(5, 90, n), -rng.integers(15, 150, n))
    i = np.repeat(np.arange(n), k)
    section = ramp(k)
    site = s.iloc[i].reset_index(drop=True)
    m = len(site)
    # later sections a little earlier still: each section's permit precedes its works
    day = base[i] + offset[i] - section * rng.integers(0, 5, m)
    area = np.round(site["area_m2"].to_numpy() * rng.uniform(0.8, 3.0, m) * 100) // np.repeat(k, k)
    # building footprints: a block in the parcel, one per section, west to east
    half_x = site["half_x_m"].to_numpy() * 0.3 / np.repeat(k, k)
    east = (section - (np.repeat(k, k) - 1) / 2) * 2.5 * half_x
    return pd.DataFrame(
        {
            "project": site["project"].to_numpy(dtype=object),
            "projectName": section_names(
                site["name"].to_numpy(dtype=object), section, np.repeat(k, k), rng
            ),
            "builder": site["owner_name"].to_numpy(dtype=object),
            "builderCreditCode": site["owner_code"].to_numpy(dtype=object),
            "floorArea": _area_text(area.astype(np.int64)),
            "location": _location(site),
            "district": site["district"].to_numpy(dtype=object),
            "day": day,
            "lon": site["longitude"].to_numpy() + _deg_lon(east, site["latitude"].to_numpy()),
            "lat": site["latitude"].to_numpy(),
            "half_x": half_x,
            "half_y": site["half_y_m"].to_numpy() * 0.3,
            "multi": rng.random(m) < 0.3,
        }
    )


def _private(permits: int, world: World, rng: np.random.Generator, rates: Rates) -> pd.DataFrame:
    """Land-use permits of private housing developments: developers the registry never saw."""
    n = round(permits * rates.private_share / (1 - rates.private_share))
    district = np.array(DISTRICTS, dtype=object)[rng.integers(len(DISTRICTS), size=n)]
    places, kinds = vocab.PLACES, DEVELOPER_KINDS
    space = len(places) * len(places) * len(kinds)
    developers = max(min(n // 3, space), 1)
    dev_district = np.array(DISTRICTS, dtype=object)[rng.integers(len(DISTRICTS), size=developers)]
    # distinct names, none a registry unit's: 苏州 + two places + a developer's kind
    pick = rng.choice(space, size=developers, replace=False)
    a, b, kind = (
        pick // (len(places) * len(kinds)),
        pick // len(kinds) % len(places),
        pick % len(kinds),
    )
    dev_names = np.array(
        [f"苏州{places[i]}{places[j]}{kinds[k]}" for i, j, k in zip(a, b, kind, strict=True)],
        dtype=object,
    )
    dev_codes = np.array(credit_codes(["91"] * developers, list(dev_district), rng), dtype=object)
    dev = rng.integers(developers, size=n)
    boxes = np.array([DISTRICT_BOXES[d] for d in district]).reshape(n, 4)
    lon = boxes[:, 0] + rng.random(n) * (boxes[:, 1] - boxes[:, 0])
    lat = boxes[:, 2] + rng.random(n) * (boxes[:, 3] - boxes[:, 2])
    area = np.round(np.exp(rng.normal(10.3, 0.6, size=n)), 2).clip(3_000, 300_000)
    ratio = rng.uniform(0.6, 1.6, size=n)
    roads = np.array(ROADS, dtype=object)
    road_a, road_b = (
        roads[rng.integers(len(roads), size=n)],
        roads[rng.integers(len(roads), size=n)],
    )
    names = np.array([DISTRICT_NAMES[d] for d in district], dtype=object) + road_a + "地块住宅项目"
    first, last = cal.day(cal.WORLD_START) - 300, cal.day(cal.WORLD_END) - 30
    return pd.DataFrame(
        {
            "project": np.full(n, None, dtype=object),
            "projectName": names,
            "landUser": dev_names[dev],
            "landUserCreditCode": dev_codes[dev],
            "landArea": _area_text(np.round(area * 100).astype(np.int64)),
            "location": road_a + "以东、" + road_b + "以北",
            "landUse": HOUSING_USE,
            "district": district,
            "day": rng.integers(first, last, size=n),
            "lon": lon,
            "lat": lat,
            "half_x": np.sqrt(area * ratio) / 2,
            "half_y": np.sqrt(area / ratio) / 2,
            "multi": True,
        }
    )


def _revoked_and_reissued(t: pd.DataFrame, rng: np.random.Generator, rates: Rates) -> pd.DataFrame:
    """Some permits are revoked (a later version says `注销`) and issued again, new code."""
    t = t.assign(status="有效", revoked_day=-1, serial=np.arange(len(t)))
    chosen = rng.random(len(t)) < rates.revoked
    again = t[chosen].copy()
    again["day"] = again["day"] + rng.integers(20, 200, len(again))
    t.loc[chosen, "revoked_day"] = again["day"].to_numpy()
    again["serial"] = np.arange(len(t), len(t) + len(again))
    return pd.concat([t, again], ignore_index=True)


def _coded(t: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Permit codes: prefix第 + division + year + a sequence per division and year + 号."""
    t = t.sort_values(["day", "serial"], kind="stable").reset_index(drop=True)
    year = cal.fmt_days(t["day"].to_numpy(), "%Y")
    seq = t.groupby([t["district"], pd.Series(year)]).cumcount() + 1
    t["permitCode"] = prefix + "第" + t["district"] + year + seq.map("{:05d}".format) + "号"
    return t


def _land_code_of(
    works: pd.DataFrame, land: pd.DataFrame, rng: np.random.Generator, rates: Rates
) -> np.ndarray:
    """The project's first land-use permit, named by most works permits."""
    firsts = land.dropna(subset=["project"]).drop_duplicates("project").set_index("project")
    code = works["project"].map(firsts["permitCode"]).to_numpy(dtype=object)
    code[rng.random(len(works)) < rates.no_land_permit_code] = None
    return code


# ---- versions, quirks, bad records ----------------------------------------------------------
def _finish(t: pd.DataFrame, rules, rng: np.random.Generator, rates: Rates) -> pd.DataFrame:
    n = len(t)
    t = t.reset_index(drop=True)
    t["approvedOn"] = cal.fmt_days(t["day"].to_numpy(), "%Y-%m-%d")
    t["regionCode"] = t["district"]
    t["projectCode"] = _as_entered(t["project"].to_numpy(dtype=object), rng, rates)
    t["_ts"] = cal.epoch_ms(t["day"].to_numpy(), rng.integers(8 * 3600, 18 * 3600, n))
    t["srid"], t["geometry"] = _geometry(t, rng, rates)
    t["_key"], t["_project"], t["_bad"] = t["permitCode"], t["project"], ""
    versions = [t]
    revoked = t[t["revoked_day"] >= 0].copy()
    revoked["status"] = "注销"
    revoked["_ts"] = cal.epoch_ms(
        revoked["revoked_day"].to_numpy(), np.full(len(revoked), 7 * 3600)
    )
    versions.append(revoked)
    # a revoked permit stays revoked: only the others are touched again
    touched = t[(rng.random(n) < rates.updated) & (t["revoked_day"] < 0)].copy()
    touched["_ts"] = touched["_ts"] + rng.integers(5, 300, len(touched)) * cal.DAY_MS
    versions.append(touched)
    rows = pd.concat(versions, ignore_index=True)
    rows = _bad_records(rows, rules, rng, rates)
    rows["updated"] = _rfc3339(rows["_ts"].to_numpy())
    fields = [c for c in FIELDS[rules is LAND_USE_RULES] if c in rows.columns]
    rows = rows[[*fields, "_key", "_ts", "_project", "_bad"]]
    return rows.sort_values(["_key", "_ts"], kind="stable").reset_index(drop=True)


def _as_entered(codes: np.ndarray, rng: np.random.Generator, rates: Rates) -> np.ndarray:
    """Project codes as the planning clerks typed them: a third left out, some mistyped or
    typed full-width; unregistered works and private developments have none."""
    out = np.where(pd.Series(codes).str.startswith("U", na=True), None, codes).astype(object)
    roll = rng.random(len(out))
    out[roll < rates.code_missing] = None
    present = out != None  # noqa: E711
    typos = present & (roll > 1 - rates.code_typo)
    out[typos] = [typo(c, rng) for c in out[typos]]
    wide = present & ~typos & (roll > 1 - rates.code_typo - rates.code_full_width)
    out[wide] = [full_width(c) for c in out[wide]]
    return out


def _geometry(t: pd.DataFrame, rng: np.random.Generator, rates: Rates) -> tuple[np.ndarray, list]:
    """(`srid`, GeoJSON text as served) per permit: rectangles around each centre, with the
    contract's quirks drawn per permit."""
    n = len(t)
    lat = t["lat"].to_numpy()
    dx, dy = _deg_lon(t["half_x"].to_numpy(), lat), t["half_y"].to_numpy() / M_PER_DEG_LAT
    lon = t["lon"].to_numpy()
    # counter-clockwise, closed: (n, 5) each
    xs = lon[:, None] + dx[:, None] * np.array([-1, 1, 1, -1, -1])
    ys = lat[:, None] + dy[:, None] * np.array([-1, -1, 1, 1, -1])
    roll = rng.random(n)
    legacy = roll < rates.legacy
    srid = np.where(legacy, 4549, np.where(rng.random(n) < rates.no_srid, None, 4490)).astype(
        object
    )
    if legacy.any():
        x, y = _to_4549().transform(xs[legacy].ravel(), ys[legacy].ravel())
        xs[legacy], ys[legacy] = np.round(x, 3).reshape(-1, 5), np.round(y, 3).reshape(-1, 5)
    xs[~legacy], ys[~legacy] = np.round(xs[~legacy], 7), np.round(ys[~legacy], 7)
    kind = np.where(rng.random(n) < rates.invalid_ring, rng.integers(1, 4, n), 0)
    height = rng.random(n) < rates.height
    null = rng.random(n) < rates.null_geometry
    multi = t["multi"].to_numpy(dtype=bool)
    out = []
    xl, yl = xs.tolist(), ys.tolist()  # Python floats: their repr is the shortest exact text
    for i in range(n):
        if null[i]:
            out.append(None)
            continue
        points = [[x, y] for x, y in zip(xl[i], yl[i], strict=True)]
        if kind[i] == 1:  # a bow-tie: two corners swapped, the ring crosses itself
            points[2], points[3] = points[3], points[2]
        elif kind[i] == 2:  # clockwise
            points = points[::-1]
        elif kind[i] == 3:  # the repeated closing point left out
            points = points[:-1]
        ring = ",".join(f"[{x!r},{y!r}{',0' if height[i] else ''}]" for x, y in points)
        shape = (
            f'{{"type":"MultiPolygon","coordinates":[[[{ring}]]]}}'
            if multi[i]
            else f'{{"type":"Polygon","coordinates":[[{ring}]]}}'
        )
        out.append(shape)
    return srid, out


@cache
def _to_4549() -> Transformer:
    return Transformer.from_crs("OGC:CRS84", "EPSG:4549", always_xy=True)


def _outside(v: pd.Series) -> pd.Series:
    """The geometry moved 1.5° west: in Anhui, not Suzhou."""

    def moved(text: str) -> str:
        shape = json.loads(text)
        shape["coordinates"] = _shift(shape["coordinates"])
        return json.dumps(shape, separators=(",", ":"))

    return v.map(moved)


def _shift(c):
    if c and isinstance(c[0], float | int):
        return [round(c[0] - 1.5, 7), *c[1:]]
    return [_shift(x) for x in c]


# table -> [(rule, field, corruption, breaks the key)], as simulators.world.bad
def _rules(kind: str, user_code: str, area: str, user: str, area_name: str) -> list:
    return [
        (f"{kind}_permit_code_format", "permitCode", lambda v: v.str.replace("第", "", n=1), True),
        ("approved_on_impossible_date", "approvedOn", lambda v: v.str[:4] + "-02-30", False),
        (f"{user}_code_check_character", user_code, lambda v: v.map(break_check_character), False),
        (
            f"{area_name}_not_positive",
            area,
            lambda v: pd.Series(np.where(np.arange(len(v)) % 2, "0", "-" + v), index=v.index),
            False,
        ),
        ("geometry_outside_suzhou", "geometry", _outside, False),
    ]


LAND_USE_RULES = _rules("land_use", "landUserCreditCode", "landArea", "land_user", "land_area")
WORKS_RULES = _rules("works", "builderCreditCode", "floorArea", "builder", "floor_area")
FIELDS = {
    True: (
        "permitCode", "projectCode", "projectName", "landUser", "landUserCreditCode", "landArea",
        "location", "landUse", "approvedOn", "regionCode", "status", "srid", "updated", "geometry",
    ),
    False: (
        "permitCode", "landPermitCode", "projectCode", "projectName", "builder",
        "builderCreditCode", "floorArea", "location", "approvedOn", "regionCode", "status",
        "srid", "updated", "geometry",
    ),
}  # fmt: skip


def _bad_records(rows: pd.DataFrame, rules, rng: np.random.Generator, rates: Rates) -> pd.DataFrame:
    """About `rates.bad` of the keys break one rule, in every version."""
    keys = rows["_key"].unique()
    chosen = keys[rng.random(len(keys)) < rates.bad]
    rule = pd.Series(rng.integers(len(rules), size=len(chosen)), index=chosen)
    at = rows["_key"].map(rule)
    # only a CRS84 geometry can be moved out of Suzhou: others break their area instead
    movable = rows["geometry"].notna() & (rows["srid"] != 4549)
    at = at.where(~((at == len(rules) - 1) & ~movable), 3)
    for i, (name, column, corrupt, breaks_key) in enumerate(rules):
        hit = at == i
        if not hit.any():
            continue
        rows.loc[hit, column] = corrupt(rows.loc[hit, column]).to_numpy()
        rows.loc[hit, "_bad"] = name
        if breaks_key:
            rows.loc[hit, "_key"] = rows.loc[hit, column].str.strip()
    return rows


# ---- small helpers ----------------------------------------------------------------------------
def _deg_lon(metres: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return metres / (M_PER_DEG_LAT * np.cos(np.radians(lat)))


def _area_text(cents: np.ndarray) -> np.ndarray:
    """m² with two decimals, as text the server writes as a JSON number."""
    cents = np.asarray(cents, dtype=np.int64)
    return np.array([f"{c // 100}.{c % 100:02d}" for c in cents], dtype=object)


def _location(site: pd.DataFrame) -> np.ndarray:
    return (site["road_a"] + "以东、" + site["road_b"] + "以北").to_numpy(dtype=object)


def _rfc3339(ms: np.ndarray) -> np.ndarray:
    local = np.asarray(ms, dtype=np.int64) + cal.BEIJING_OFFSET_MS
    days, sec = local // cal.DAY_MS, (local % cal.DAY_MS) // 1000
    clock = np.array(
        [f"T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}+08:00" for s in sec], dtype=object
    )
    return cal.fmt_days(days, "%Y-%m-%d") + clock
