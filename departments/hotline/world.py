"""12345 work orders in the simulated world: citizens' requests from 2024-01-01 on, most about
other things, some complaining about a construction site active that day and naming it loosely
(a shortened name, a contractor, its roads, a position in GCJ-02, or only "家门口的工地").

Private columns beside the wire fields: `_key`, `_ts`, `_project` (the site complained about,
or None), `_bad`, `_evidence` (name|contractor|road|position|none, "" when not about a site)
and `_singles_out` (the evidence picks exactly one site of the district active that day).
Vectorised throughout: the medium world (~300,000 orders) builds in seconds.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd

from simulators.world import World
from simulators.world import calendar as cal
from simulators.world.sites import DISTRICT_BOXES, DISTRICT_NAMES, M_PER_DEG_LAT, rng_for, sites
from transforms.gcj02 import to_gcj02

TABLE = "hotline_orders"
FIRST_DAY = cal.day(dt.date(2024, 1, 1))
PER_SITE, CONSTRUCTION_SHARE, APP_SHARE = 30, 0.25, 0.30
BAD, DUPLICATE, NUMBER_IN_TEXT, NO_REGION = 0.02, 0.03, 0.10, 0.10
NEAR_M, SINGLES_OUT_M = 150.0, 200.0

COMPLAINTS = {  # topic leaf -> what citizens write
    "夜间施工噪音": "晚上十点以后还在施工，噪音很大，严重影响休息",
    "扬尘污染": "渣土没有覆盖，扬尘很大，窗户都不敢开",
    "占道施工": "施工围挡占用道路，行人和车辆通行困难",
    "拖欠农民工工资": "拖欠农民工工资已经三个月，多次讨要无果",
}
OTHER_TOPICS = (
    ("交通管理/信号灯/信号灯故障", "路口信号灯坏了，一直闪黄灯"),
    ("市容环境/垃圾清运/垃圾未及时清运", "小区门口垃圾堆了好几天没人清理"),
    ("社会保障/医疗保险/医保报销", "咨询异地就医医保报销需要什么材料"),
    ("公共服务/供水/停水", "家里突然停水，也没有提前通知"),
    ("市场监管/消费维权/预付卡退费", "健身房关门了，预付卡里的钱退不了"),
    ("交通管理/停车管理/违章停车", "人行道上长期停满车辆，行人只能走机动车道"),
    ("教育/招生入学/入学咨询", "咨询孩子入学需要准备哪些材料"),
    ("环境保护/噪声污染/商业噪声", "楼下商铺音响声音太大"),
)
OTHER_UNITS = ("市公安局交警支队", "区城市管理局", "市医疗保障局", "市水务集团", "区市场监督管理局")
SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文博宇浩然子涵欣怡")
CHANNELS = np.array(["电话", "网站", "微信", "APP"], dtype=object)
STATUSES = np.array(["已受理", "办理中", "已办结", "已回访"], dtype=object)
SATISFACTION = np.array(["满意", "基本满意", "不满意"], dtype=object)
FIELDS = (
    "orderNo", "acceptedAt", "channel", "category", "topic", "title", "content", "address",
    "regionCode", "longitude", "latitude", "handlingUnit", "status", "closedAt", "satisfaction",
    "callerName", "callerPhone", "updatedAt",
)  # fmt: skip


def tables(world: World) -> dict[str, pd.DataFrame]:
    rng = rng_for(world, "hotline")
    s = sites(world)
    orders = _orders(s, rng)
    orders = pd.concat([orders, _duplicates(orders, rng)], ignore_index=True)
    _callers(orders, rng)
    _break_some(orders, rng)
    rows = _versions(orders, rng)
    return {TABLE: rows}


# ---- the orders ---------------------------------------------------------------------------
def _orders(s: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    last = cal.day(cal.WORLD_END)
    lo = np.maximum(s["start_day"].to_numpy(), FIRST_DAY)
    hi = np.minimum(s["end_day"].to_numpy(), last)
    active = hi >= lo
    per_site = rng.poisson(PER_SITE, len(s))
    site = np.repeat(np.arange(len(s)), per_site)
    n = len(site)
    construction = (rng.random(n) < CONSTRUCTION_SHARE) & active[site]
    span_lo = np.where(construction, lo[site], FIRST_DAY)
    span_hi = np.where(construction, hi[site], last)
    day = span_lo + (rng.random(n) * (span_hi - span_lo + 1)).astype(np.int64)
    district = s["district"].to_numpy(dtype=object)[site]
    o = pd.DataFrame({"_site": site, "_day": day, "_construction": construction})
    o["_sec"] = rng.integers(0, 86_400, n)
    o["regionCode"] = np.where(rng.random(n) < NO_REGION, "", district)
    o["_district"] = district
    app = rng.random(n) < np.where(construction, APP_SHARE, 0.2)
    o["channel"] = np.where(app, "APP", CHANNELS[rng.integers(0, 3, n)])
    _construction_text(o, s, rng)
    _other_text(o, s, rng)
    _positions(o, s, rng)
    o["_project_id"] = s["project"].to_numpy(dtype=object)[site]
    o["_duplicate"] = False
    o["_singles_out"] = _singles_out(o, s)
    # orderNo: the acceptance date and the order's rank that day
    o = o.sort_values(["_day", "_sec", "_site"], kind="stable").reset_index(drop=True)
    rank = o.groupby("_day").cumcount().to_numpy() + 1
    o["orderNo"] = "SZ" + cal.fmt_days(o["_day"].to_numpy(), "%Y%m%d") + _zfill(rank, 6)
    o["_t0"] = cal.epoch_ms(o["_day"].to_numpy(), o["_sec"].to_numpy())
    return o


def _zfill(numbers: np.ndarray, width: int) -> np.ndarray:
    return pd.Series(numbers).astype(str).str.zfill(width).to_numpy(dtype=object)


def short_names(names: pd.Series) -> pd.Series:
    """A project's name as citizens say it: without 苏州市 and the district, 工程 or the phase."""
    out = names.astype(str).str.replace(r"\s+", "", regex=True)
    out = out.str.replace(r"^苏州(?:市)?", "", regex=True)
    districts = "|".join(sorted({*DISTRICT_NAMES.values(), "苏州工业园区"}, key=len, reverse=True))
    out = out.str.replace(rf"^(?:{districts})", "", regex=True)
    out = out.str.replace(r"（[^）]*）$", "", regex=True).str.replace(
        r"[一二三四]标段$", "", regex=True
    )
    return out.str.replace(r"(?:工程|项目)$", "", regex=True)


def _construction_text(o: pd.DataFrame, s: pd.DataFrame, rng: np.random.Generator) -> None:
    c = o["_construction"].to_numpy()
    n = len(o)
    site = o["_site"].to_numpy()
    leaf = np.array(list(COMPLAINTS), dtype=object)[rng.integers(0, len(COMPLAINTS), n)]
    words = pd.Series(leaf).map(COMPLAINTS).to_numpy(dtype=object)
    contractors = s["contractors"].to_numpy(dtype=object)[site]
    has_contractor = contractors != ""
    draw = rng.random(n)
    evidence = np.select(
        [
            o["channel"].to_numpy() == "APP",
            draw < 0.30,
            (draw < 0.50) & has_contractor,
            draw < 0.85,
        ],
        ["position", "name", "contractor", "road"],
        "none",
    ).astype(object)
    # one of the site's contractors
    parts = pd.Series(contractors).str.split("、")
    pick = (rng.random(n) * parts.str.len().fillna(1).to_numpy()).astype(int)
    named_contractor = np.array(
        [p[i] if isinstance(p, list) else "" for p, i in zip(parts, pick, strict=True)],
        dtype=object,
    )
    short = short_names(s["name"]).to_numpy(dtype=object)[site]
    road_a = s["road_a"].to_numpy(dtype=object)[site]
    road_b = s["road_b"].to_numpy(dtype=object)[site]
    one_road = rng.random(n) < 0.3
    dname = pd.Series(o["_district"]).map(DISTRICT_NAMES).to_numpy(dtype=object)
    with_district = np.where(rng.random(n) < 0.7, dname, "")
    crossing = road_a + "与" + road_b + "交叉口"
    place = np.select(
        [evidence == "name", evidence == "contractor", (evidence == "road") & one_road,
         evidence == "road"],
        [short + "工地", named_contractor + "施工的工地", road_a + "边上的工地",
         crossing + "东北角工地"],
        "家门口的工地",
    ).astype(object)  # fmt: skip
    address = np.select(
        [evidence == "name", (evidence == "road") & one_road, evidence == "road"],
        [with_district + short, with_district + road_a, with_district + crossing + "东北角工地"],
        with_district,
    ).astype(object)
    o.loc[c, "topic"] = ("城乡建设/建筑施工/" + leaf)[c]
    o.loc[c, "title"] = ("反映" + leaf)[c]
    o.loc[c, "content"] = (place + words + "。")[c]
    o.loc[c, "address"] = address[c]
    o.loc[c, "category"] = np.where(rng.random(n) < 0.85, "投诉", "举报")[c]
    o.loc[c, "handlingUnit"] = (dname + "住房和城乡建设局")[c]
    o["_evidence"] = np.where(c, evidence, "")
    o["_named"] = np.select(
        [evidence == "name", evidence == "contractor"], [short, named_contractor], ""
    )
    o["_one_road"] = one_road & c & (evidence == "road")
    o["_road_a"], o["_road_b"] = road_a, road_b


def _other_text(o: pd.DataFrame, s: pd.DataFrame, rng: np.random.Generator) -> None:
    other = ~o["_construction"].to_numpy()
    n = len(o)
    pick = rng.integers(0, len(OTHER_TOPICS), n)
    topics = np.array([t for t, _ in OTHER_TOPICS], dtype=object)[pick]
    words = np.array([w for _, w in OTHER_TOPICS], dtype=object)[pick]
    road = s["road_a"].to_numpy(dtype=object)[o["_site"].to_numpy()]
    dname = pd.Series(o["_district"]).map(DISTRICT_NAMES).to_numpy(dtype=object)
    spaced = np.where(rng.random(n) < 0.1, "\u3000", "")  # a full-width space, as typed
    o.loc[other, "topic"] = topics[other]
    o.loc[other, "title"] = pd.Series(topics).str.rsplit("/", n=1).str[-1].to_numpy()[other]
    o.loc[other, "content"] = (spaced + words + "。")[other]
    o.loc[other, "address"] = np.where(rng.random(n) < 0.2, "", dname + road)[other]
    o.loc[other, "category"] = np.array(["投诉", "咨询", "求助", "建议"], dtype=object)[
        rng.integers(0, 4, n)
    ][other]
    o.loc[other, "handlingUnit"] = np.array(OTHER_UNITS, dtype=object)[
        rng.integers(0, len(OTHER_UNITS), n)
    ][other]


def _metres(s: pd.DataFrame, site: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = s["latitude"].to_numpy()[site]
    per_lon = M_PER_DEG_LAT * np.cos(np.radians(lat))
    return per_lon, np.full(len(site), M_PER_DEG_LAT)


def _positions(o: pd.DataFrame, s: pd.DataFrame, rng: np.random.Generator) -> None:
    """APP orders carry the phone's position in GCJ-02: near the parcel when complaining by
    position, anywhere in the district otherwise. `_lon`/`_lat` keep the WGS 84 truth."""
    n = len(o)
    site = o["_site"].to_numpy()
    per_lon, per_lat = _metres(s, site)
    half_x, half_y = s["half_x_m"].to_numpy()[site], s["half_y_m"].to_numpy()[site]
    east = rng.uniform(-1, 1, n) * (half_x + NEAR_M)
    north = rng.uniform(-1, 1, n) * (half_y + NEAR_M)
    # within NEAR_M of the parcel itself, corners included: the gap beyond its sides shrunk
    gap_x, gap_y = np.maximum(np.abs(east) - half_x, 0), np.maximum(np.abs(north) - half_y, 0)
    shrink = np.minimum(1.0, NEAR_M / np.maximum(np.hypot(gap_x, gap_y), 1e-9))
    east = np.sign(east) * (np.minimum(np.abs(east), half_x) + gap_x * shrink)
    north = np.sign(north) * (np.minimum(np.abs(north), half_y) + gap_y * shrink)
    near_lon = s["longitude"].to_numpy()[site] + east / per_lon
    near_lat = s["latitude"].to_numpy()[site] + north / per_lat
    boxes = np.array([DISTRICT_BOXES[d] for d in o["_district"]])
    any_lon = boxes[:, 0] + rng.random(n) * (boxes[:, 1] - boxes[:, 0])
    any_lat = boxes[:, 2] + rng.random(n) * (boxes[:, 3] - boxes[:, 2])
    by_position = o["_evidence"].to_numpy() == "position"
    lon, lat = np.where(by_position, near_lon, any_lon), np.where(by_position, near_lat, any_lat)
    app = o["channel"].to_numpy() == "APP"
    g_lon, g_lat = to_gcj02(lon, lat)
    o["_lon"], o["_lat"] = np.where(app, lon, np.nan), np.where(app, lat, np.nan)
    o["longitude"] = np.where(app, pd.Series(g_lon).map("{:.6f}".format), None)
    o["latitude"] = np.where(app, pd.Series(g_lat).map("{:.6f}".format), None)


# ---- does the evidence single out the site? ---------------------------------------------------
def _singles_out(o: pd.DataFrame, s: pd.DataFrame) -> np.ndarray:
    """True when exactly one site of the order's district, active on its day, matches what the
    order names: per district, orders × sites as boolean matrices over integer codes (names,
    roads and contractors factorised once), no loop over pairs."""
    out = np.zeros(len(o), dtype=bool)
    n_sites = len(s)
    names, _ = pd.factorize(pd.concat([short_names(s["name"]), o["_named"]], ignore_index=True))
    roads, _ = pd.factorize(
        pd.concat([s["road_a"], s["road_b"], o["_road_a"], o["_road_b"]], ignore_index=True)
    )
    n_o = len(o)
    codes = {
        "site_name": names[:n_sites], "named": names[n_sites:],
        "site_a": roads[:n_sites], "site_b": roads[n_sites : 2 * n_sites],
        "road_a": roads[2 * n_sites : 2 * n_sites + n_o], "road_b": roads[2 * n_sites + n_o :],
    }  # fmt: skip
    worked = s["contractors"].str.split("、").explode()
    worked = worked[worked.fillna("") != ""]
    firms, _ = pd.factorize(pd.concat([worked, o["_named"]], ignore_index=True))
    codes["firm"] = firms[len(worked) :]
    site_of_firm, firm_code = worked.index.to_numpy(), firms[: len(worked)]
    evidence, district = o["_evidence"].to_numpy(), o["_district"].to_numpy()
    site_district = s["district"].to_numpy()
    for d in np.unique(site_district):
        here = np.flatnonzero(site_district == d)
        member = np.zeros((len(here), firms.max() + 1), dtype=bool)  # site × contractor
        local = np.full(n_sites, -1)
        local[here] = np.arange(len(here))
        mine = local[site_of_firm] >= 0
        member[local[site_of_firm[mine]], firm_code[mine]] = True
        at = np.flatnonzero((district == d) & np.isin(evidence, list(EVIDENCE)))
        for chunk in np.array_split(at, max(1, len(at) // 2000)):
            if len(chunk):
                out[chunk] = _count_matches(o.iloc[chunk], s.iloc[here], codes, chunk, here,
                                            member) == 1  # fmt: skip
    return out


EVIDENCE = ("name", "contractor", "road", "position")


def _count_matches(o, s, codes, rows, here, member) -> np.ndarray:
    """For each order of `rows`, how many sites of `here` (one district) active on its day
    match its evidence."""
    day = o["_day"].to_numpy()[:, None]
    active = (s["start_day"].to_numpy()[None, :] <= day) & (day <= s["end_day"].to_numpy()[None, :])
    evidence = o["_evidence"].to_numpy()[:, None]
    name_hit = codes["site_name"][here][None, :] == codes["named"][rows][:, None]
    firm = codes["firm"][rows]
    contractor_hit = member[:, np.minimum(firm, member.shape[1] - 1)].T & (firm >= 0)[:, None]
    sa, sb = codes["site_a"][here][None, :], codes["site_b"][here][None, :]
    oa, ob = codes["road_a"][rows][:, None], codes["road_b"][rows][:, None]
    pair = ((sa == oa) & (sb == ob)) | ((sa == ob) & (sb == oa))
    road_hit = np.where(o["_one_road"].to_numpy()[:, None], (sa == oa) | (sb == oa), pair)
    per_lon = M_PER_DEG_LAT * np.cos(np.radians(s["latitude"].to_numpy()))[None, :]
    dx = np.abs(o["_lon"].to_numpy()[:, None] - s["longitude"].to_numpy()[None, :]) * per_lon
    dy = np.abs(o["_lat"].to_numpy()[:, None] - s["latitude"].to_numpy()[None, :]) * M_PER_DEG_LAT
    gap_x = np.maximum(dx - s["half_x_m"].to_numpy()[None, :], 0)
    gap_y = np.maximum(dy - s["half_y_m"].to_numpy()[None, :], 0)
    position_hit = np.hypot(gap_x, gap_y) <= SINGLES_OUT_M  # NaN (no position): False
    hit = np.select(
        [evidence == e for e in EVIDENCE], [name_hit, contractor_hit, road_hit, position_hit], False
    )
    return (hit & active).sum(axis=1)


# ---- duplicates, callers, bad records -------------------------------------------------------
def _duplicates(o: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Some orders are filed again within days: closed as `【重复工单】`, naming the original."""
    orig = o[rng.random(len(o)) < DUPLICATE].copy()
    later = rng.integers(600, 3 * 86_400, len(orig))
    t = orig["_sec"].to_numpy() + later
    dup = orig.assign(
        _day=orig["_day"].to_numpy() + t // 86_400,
        _sec=t % 86_400,
        title="【重复工单】" + orig["title"],
        content="与工单" + orig["orderNo"] + "重复：" + orig["content"],
        _duplicate=True,
    )
    dup = dup[dup["_day"] <= cal.day(cal.WORLD_END)]
    # numbered after the day's regular orders: 900000 up keeps them apart
    rank = dup.groupby("_day").cumcount().to_numpy() + 900_001
    dup["orderNo"] = "SZ" + cal.fmt_days(dup["_day"].to_numpy(), "%Y%m%d") + _zfill(rank, 6)
    dup["_t0"] = cal.epoch_ms(dup["_day"].to_numpy(), dup["_sec"].to_numpy())
    return dup


def _callers(o: pd.DataFrame, rng: np.random.Generator) -> None:
    n = len(o)
    surnames, given = np.array(SURNAMES, dtype=object), np.array(GIVEN, dtype=object)
    names = surnames[rng.integers(0, len(surnames), n)] + given[rng.integers(0, len(given), n)]
    second = np.where(rng.random(n) < 0.6, given[rng.integers(0, len(given), n)], "")
    o["callerName"] = names + second
    # a pool of callers: some call more than once
    pool = 1 + np.maximum(n // 2, 1)
    who = rng.integers(0, pool, n)
    heads = np.array(["13", "15", "17", "18", "19"], dtype=object)
    phones = heads[who % 5] + _zfill((who * 7_919 + 10_007) % 1_000_000_000, 9)
    o["callerPhone"] = phones
    born = rng.integers(cal.day(dt.date(1950, 1, 1)), cal.day(dt.date(2005, 1, 1)), n)
    ids = (
        "3205" + _zfill(rng.integers(0, 100, n), 2)
        + pd.Series(np.datetime_as_string(born.astype("datetime64[D]"))).str.replace("-", "")
        + _zfill(rng.integers(0, 1000, n), 3)
        + np.array(list("0123456789X"), dtype=object)[rng.integers(0, 11, n)]
    )  # fmt: skip
    draw = rng.random(n)
    tail = np.select(
        [draw < NUMBER_IN_TEXT * 0.6, draw < NUMBER_IN_TEXT],
        ["联系电话" + phones + "。", "本人身份证号" + ids + "。"],
        "",
    )
    o["content"] = o["content"] + tail
    o["_id_number"] = np.where((draw >= NUMBER_IN_TEXT * 0.6) & (draw < NUMBER_IN_TEXT), ids, None)


def _break_some(o: pd.DataFrame, rng: np.random.Generator) -> None:
    """About 2% break a field rule (every version of them): the rule in `_bad`."""
    n = len(o)
    o["acceptedAt"] = _stamps(o["_t0"].to_numpy())
    o["_bad"] = ""
    bad = rng.random(n) < BAD
    kind = rng.integers(0, 4, n)
    number = bad & (kind == 0)  # typed with a hyphen: no longer the format (still unique)
    o.loc[number, "orderNo"] = "SZ-" + o.loc[number, "orderNo"].str.slice(2)
    o.loc[number, "_bad"] = "orderNo"
    impossible = bad & (kind == 1)
    o.loc[impossible, "acceptedAt"] = (
        o.loc[impossible, "acceptedAt"].str.slice(0, 5) + "02-30 10:00:00"
    )
    o.loc[impossible, "_bad"] = "acceptedAt"
    o.loc[bad & (kind == 2), "channel"] = "短信"
    o.loc[bad & (kind == 2), "_bad"] = "channel"
    o.loc[bad & (kind == 3), "category"] = "其他"
    o.loc[bad & (kind == 3), "_bad"] = "category"  # fmt: skip


# ---- versions over time -----------------------------------------------------------------------
def _versions(o: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """已受理 → 办理中 → 已办结 → 已回访, each a version with a later `updatedAt`; some stay
    open. A duplicate is closed at once (已受理 → 已办结)."""
    n = len(o)
    hour = 3_600_000
    t0 = o["_t0"].to_numpy()
    t1 = t0 + rng.integers(1, 48, n) * hour
    t2 = t1 + rng.integers(24, 240, n) * hour
    t3 = t2 + rng.integers(24, 120, n) * hour
    final = rng.choice(4, n, p=[0.05, 0.10, 0.25, 0.60])
    duplicate = o["_duplicate"].fillna(False).to_numpy(dtype=bool)
    final = np.where(duplicate, 1, final)
    t2 = np.where(duplicate, t0 + rng.integers(1, 8, n) * hour, t2)
    stamps = np.stack([t0, t1, t2, t3], axis=1)
    reps = final + 1
    rows = o.loc[o.index.repeat(reps)].reset_index(drop=True)
    stage = np.concatenate([np.arange(r) for r in reps]) if n else np.array([], dtype=int)
    row_of = np.repeat(np.arange(n), reps)
    stage = np.where(duplicate[row_of] & (stage == 1), 2, stage)  # 已受理 then 已办结
    ts = stamps[row_of, stage]
    rows["status"] = STATUSES[stage]
    rows["_ts"] = ts
    rows["updatedAt"] = _stamps(ts)
    closed = stage >= 2
    rows["closedAt"] = np.where(closed, _stamps(stamps[row_of, 2]), None)
    rows["satisfaction"] = np.where(
        stage == 3, SATISFACTION[rng.choice(3, len(rows), p=[0.7, 0.2, 0.1])], None
    )
    rows["_key"] = rows["orderNo"].str.strip()
    rows["_project"] = np.where(rows["_construction"].to_numpy(), rows["_project_id"], None)
    keep = [*FIELDS, "_key", "_ts", "_project", "_bad", "_evidence", "_singles_out", "_id_number"]
    rows = rows[keep].astype({"_ts": "int64"})
    return rows.sort_values(["_key", "_ts"], kind="stable").reset_index(drop=True)


@cache
def _clock() -> np.ndarray:
    """`HH:MM:SS` of every second of a day."""
    sec = pd.Series(np.arange(86_400))
    parts = [(sec // 3600), (sec // 60 % 60), (sec % 60)]
    h, m, s = (p.astype(str).str.zfill(2) for p in parts)
    return (h + ":" + m + ":" + s).to_numpy(dtype=object)


def _stamps(ms: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DD HH:MM:SS` (Beijing) of epoch ms, by table lookup."""
    ms = np.asarray(ms, dtype=np.int64)
    local = ms + cal.BEIJING_OFFSET_MS
    days, sec = local // cal.DAY_MS, (local % cal.DAY_MS) // 1000
    return cal.fmt_days(days, "%Y-%m-%d") + " " + _clock()[sec]
