"""自然资源和规划 一张图 (planning.md), simulated: OGC API – Features over the world's permits as
of the served day, the key in the query string, `next` links naming the service's own host
(without the gateway's prefix, without the key), features ordered by (`updated`, `id`)."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from dataclasses import dataclass
from urllib.parse import unquote, urlencode

import numpy as np
import pandas as pd

from departments.planning.connector import LAND_USE_FIELDS, WORKS_FIELDS
from departments.planning.world import LAND_USE_TABLE, WORKS_TABLE
from simulators.servers.base import Request, Response, SimServer, json_response
from simulators.servers.render import json_items
from simulators.world import World
from simulators.world import calendar as cal

GEOJSON = "application/geo+json"
CRS84 = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
# the host the service believes it has: not where a client reaches it through a gateway
ADVERTISED = "http://planning-internal:8080"
NUMBERS = {"landArea", "floorArea"}

# collection id -> (world table, title, properties in contract order)
COLLECTIONS = {
    "land-use-permits": (LAND_USE_TABLE, "建设用地规划许可证", LAND_USE_FIELDS),
    "works-permits": (WORKS_TABLE, "建设工程规划许可证", WORKS_FIELDS),
}


@dataclass
class _Collection:
    """One collection as of the day, ordered by (`updated`, `id`), each feature's JSON text
    rendered once."""

    ts: np.ndarray  # epoch ms of each feature's `updated`, ascending
    features: np.ndarray  # feature JSON texts, same order
    by_id: dict[str, int]

    @classmethod
    def of(cls, rows: pd.DataFrame, fields: tuple[str, ...]) -> _Collection:
        rows = rows.sort_values(["_ts", "permitCode"], kind="stable")
        spec = [
            (f, "num" if f in NUMBERS else "int" if f == "srid" else "str")
            for f in fields
            if f != "geometry"
        ]
        properties = json_items(rows, spec)
        ids = rows["permitCode"].to_numpy(dtype=object)
        shapes = rows["geometry"].to_numpy(dtype=object)
        features = [
            # an absent `srid` is left out, as the contract has it, not written as null
            '{"type":"Feature","id":%s,"geometry":%s,"properties":%s}'
            % (json.dumps(i, ensure_ascii=False), g if isinstance(g, str) else "null", p)
            for i, g, p in zip(
                ids, shapes, (p.replace(',"srid":null', "") for p in properties), strict=True
            )
        ]
        return cls(
            rows["_ts"].to_numpy(dtype=np.int64),
            np.array(features, dtype=object),
            {str(i): n for n, i in enumerate(ids)},
        )


class PlanningServer(SimServer):
    system = "planning"
    # a feature updated while the client pages moves to the end: the list shifts under the
    # client, so a page starts one later (skipping one) or one earlier (repeating one, and
    # the next page skips the one this page could not hold)
    system_faults = ("moved_skip", "moved_repeat")

    def __init__(
        self, world: World, as_of: dt.date, key: str, advertised: str = ADVERTISED, **kw
    ) -> None:
        super().__init__(**kw)
        self.key, self.advertised = key, advertised.rstrip("/")
        self.stamp = f"{as_of.isoformat()}T23:59:59+08:00"
        day = cal.day(as_of)
        self.collections = {
            cid: _Collection.of(world.as_of(table, day), fields)
            for cid, (table, _, fields) in COLLECTIONS.items()
        }

    def inventory(self) -> dict[str, int]:
        return {cid: len(c.features) for cid, c in self.collections.items()}

    def credentials(self) -> dict[str, str]:
        return {"password": self.key}

    # ---- routing ------------------------------------------------------------------------
    def route(self, req: Request, fault: str | None) -> Response:
        parts = [unquote(p) for p in req.path.strip("/").split("/")]
        if req.method != "GET" or parts[:1] != ["ogc"]:
            return _error(404, "NotFound", f"no resource {req.path}")
        if not hmac.compare_digest(req.query.get("tk", "").encode(), self.key.encode()):
            return _error(403, "InvalidKey", "the key (tk) is missing or not valid")
        if parts == ["ogc", "collections"]:
            return self._collections()
        if len(parts) < 3 or parts[1] != "collections" or parts[2] not in self.collections:
            return _error(404, "NotFound", f"no collection at {req.path}")
        cid, collection = parts[2], self.collections[parts[2]]
        if len(parts) == 3:
            return json_response(200, self._describe(cid))
        if parts[3] != "items" or len(parts) > 5:
            return _error(404, "NotFound", f"no resource {req.path}")
        if len(parts) == 5:
            at = collection.by_id.get(parts[4])
            if at is None:
                return _error(404, "NotFound", f"no feature {parts[4]!r} in {cid}")
            return _geojson(collection.features[at].encode())
        return self._items(cid, collection, req.query, fault)

    def _collections(self) -> Response:
        return json_response(
            200,
            {
                "collections": [self._describe(cid) for cid in COLLECTIONS],
                "links": [{"rel": "self", "href": f"{self.advertised}/ogc/collections"}],
            },
        )

    def _describe(self, cid: str) -> dict:
        return {
            "id": cid,
            "title": COLLECTIONS[cid][1],
            "itemType": "feature",
            "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
            "links": [{"rel": "items", "href": f"{self.advertised}/ogc/collections/{cid}/items"}],
        }

    def _items(self, cid: str, c: _Collection, query: dict, fault: str | None) -> Response:
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
            offset = int(query.get("offset", 0))
            lo, hi = _interval(c.ts, query.get("datetime"))
        except ValueError as exc:
            return _error(400, "InvalidParameterValue", str(exc))
        if limit < 1 or offset < 0:
            return _error(400, "InvalidParameterValue", "limit is 1..1000 and offset ≥ 0")
        limit = min(limit, MAX_LIMIT)  # silently: a larger limit is no error
        shift = {"moved_skip": 1, "moved_repeat": -1}.get(fault or "", 0)
        start = lo + max(offset + shift, 0)
        chunk = c.features[start : min(start + limit, hi)]
        matched = hi - lo
        self.count(len(chunk))

        def link(rel: str, at: int) -> str:
            params = {"limit": limit, "offset": at}
            if query.get("datetime"):
                params["datetime"] = query["datetime"]
            href = f"{self.advertised}/ogc/collections/{cid}/items?{urlencode(params)}"
            return json.dumps({"rel": rel, "type": GEOJSON, "href": href})

        links = [link("self", offset)]
        if offset + limit < matched:
            links.append(link("next", offset + limit))
        body = (
            '{"type":"FeatureCollection","numberMatched":%d,"numberReturned":%d,'
            '"timeStamp":"%s","links":[%s],"features":[%s]}'
            % (matched, len(chunk), self.stamp, ",".join(links), ",".join(chunk))
        )
        return _geojson(body.encode())


def _interval(ts: np.ndarray, text: str | None) -> tuple[int, int]:
    """[lo, hi) positions of the features whose `updated` lies in the RFC 3339 `datetime`
    (an instant, or `start/end` with `..` open), both ends inclusive."""
    if not text:
        return 0, len(ts)
    start, sep, end = text.partition("/")
    if not sep:
        start = end = text
    lo = 0 if start in ("", "..") else int(np.searchsorted(ts, _ms(start), side="left"))
    hi = len(ts) if end in ("", "..") else int(np.searchsorted(ts, _ms(end), side="right"))
    return lo, max(lo, hi)


def _ms(stamp: str) -> int:
    moment = dt.datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"datetime {stamp!r} has no offset (RFC 3339)")
    return int(moment.timestamp() * 1000)


def _geojson(body: bytes) -> Response:
    return Response(200, body, GEOJSON, {"Content-Crs": CRS84})


def _error(status: int, code: str, description: str) -> Response:
    return json_response(status, {"code": code, "description": description})
