"""Development and reform project registry (drc.md): key header, page numbers, pinyin JSON,
business errors inside HTTP 200."""

from __future__ import annotations

import datetime as dt

import numpy as np

from simulators.servers.base import Request, Response, SimServer, json_response
from simulators.servers.render import json_items
from simulators.world import World

FIELDS = [
    (f, "str")
    for f in (
        "xmdm",
        "xmmc",
        "xmlx",
        "xmdw",
        "xmdwdm",
        "tgdw",
        "tgdwdm",
        "szqh",
        "ztz",
        "zjly",
        "pfwh",
        "pfrq",
        "jhkgsj",
        "jhjgsj",
        "xmzt",
        "gxsj",
    )
]
BUSINESS = {"code_5001": (5001, "系统繁忙，请稍后重试"), "code_5002": (5002, "数据同步中")}


class DrcServer(SimServer):
    system = "drc"
    # "page_drift": a record updated while the client pages moves between pages, so the
    # page is served shifted by one (one record seen twice, one missed this run)
    system_faults = ("code_5001", "code_5002", "page_drift")

    def __init__(self, world: World, as_of: dt.date, app_key: str, **kw) -> None:
        super().__init__(**kw)
        self.app_key = app_key
        rows = world.as_of("drc", _day(as_of)).sort_values(["_ts", "xmdm"], kind="stable")
        self.ts = rows["_ts"].to_numpy()
        self.items = np.array(json_items(rows, FIELDS), dtype=object)

    def inventory(self) -> dict[str, int]:
        return {"projects": len(self.items)}

    def credentials(self) -> dict[str, str]:
        return {"password": self.app_key}

    def authenticate(self, client, path_and_query: str, headers: dict[str, str]) -> None:
        headers.setdefault("X-App-Key", self.app_key)

    def route(self, req: Request, fault: str | None) -> Response:
        if req.method != "GET" or req.path != "/api/v1/projects":
            return json_response(404, {"code": 404, "msg": "not found"})
        if req.headers.get("x-app-key") != self.app_key:
            return json_response(401, {"code": 401, "msg": "无效的应用密钥"})
        if fault in BUSINESS:
            code, msg = BUSINESS[fault]
            return json_response(200, {"code": code, "msg": msg, "data": None})
        try:
            page = int(req.query.get("page", "1"))
            size = int(req.query.get("page_size", "100"))
            since = req.query.get("updated_since")
            first = 0 if since is None else int(np.searchsorted(self.ts, _since_ms(since), "left"))
        except ValueError:
            return json_response(200, {"code": 4003, "msg": "参数错误", "data": None})
        if not 1 <= size <= 500:
            return json_response(400, {"code": 4003, "msg": "参数错误"})
        if page < 1:
            return json_response(200, {"code": 4003, "msg": "参数错误", "data": None})
        total = len(self.ts) - first
        start = first + (page - 1) * size
        if fault == "page_drift" and page > 1:
            start += 1 if (page % 2) else -1
        chunk = (
            self.items[max(start, first) : max(start, first) + size] if start < len(self.ts) else []
        )
        self.count(len(chunk))
        body = (
            '{"code":0,"msg":"ok","data":{"total":%d,"page":%d,"page_size":%d,"records":[%s]}}'
            % (total, page, size, ",".join(chunk))
        )
        return Response(200, body.encode())


def _day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _since_ms(text: str) -> int:
    """`YYYY-MM-DDTHH:MM:SS+08:00` (a `+` may arrive decoded as a space) to epoch ms."""
    text = text.strip().replace(" ", "+") if "T" in text else text
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("updated_since needs its +08:00 offset")
    return int(parsed.timestamp() * 1000)


__all__ = ["DrcServer"]
