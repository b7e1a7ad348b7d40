"""A JSON records API over world tables, configured by class attributes: the simulator a
scaffolded department starts from (`yiwang departments new`).

It speaks the two commonest contracts: a static key in a header or a bearer token; page
numbers (`page`, `page_size`) or offsets (`offset`, `limit`); an optional `since` compared with
the version field as text (ISO times compare in order, and a day compares as its prefix).
Every answer is `{"total": N, "items": [...]}`; the base server adds the transport faults.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulators.servers.base import Request, Response, SimServer, json_response
from simulators.world import World
from simulators.world import calendar as cal


@dataclass(frozen=True)
class Resource:
    path: str  # after the base path
    table: str  # the world table served (latest version per `_key` as of the day)
    fields: tuple[str, ...]  # the fields served, in order


class RecordsServer(SimServer):
    auth = "key_header"  # "key_header" (`key_header`: <secret>) or "bearer"
    key_header = "X-App-Key"
    paging = "page"  # "page" (page, page_size) or "offset" (offset, limit)
    max_page = 500  # larger pages are refused with 400, as real systems do
    resources: tuple[Resource, ...] = ()
    version: str | None = None  # the field `since` is compared with; None: no `since`

    def __init__(self, world: World, as_of: dt.date, secret: str, **kw) -> None:
        super().__init__(**kw)
        self.secret = secret
        self.items: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for resource in self.resources:
            rows = world.as_of(resource.table, cal.day(as_of))
            order = [self.version, "_key"] if self.version else ["_key"]
            rows = rows.sort_values(order, kind="stable")
            served = rows[list(resource.fields)]
            body = [json.dumps(r, ensure_ascii=False) for r in _records(served)]
            versions = rows[self.version].to_numpy(dtype=object) if self.version else None
            self.items[resource.path] = (np.array(body, dtype=object), versions)

    def inventory(self) -> dict[str, int]:
        return {path: len(items) for path, (items, _) in self.items.items()}

    def credentials(self) -> dict[str, str]:
        return {"password": self.secret}

    def authenticate(self, client, path_and_query: str, headers: dict[str, str]) -> None:
        if self.auth == "bearer":
            headers.setdefault("Authorization", f"Bearer {self.secret}")
        else:
            headers.setdefault(self.key_header, self.secret)

    def _authorised(self, req: Request) -> bool:
        if self.auth == "bearer":
            given = req.headers.get("authorization", "").removeprefix("Bearer ").strip()
        else:
            given = req.headers.get(self.key_header.lower(), "")
        return hmac.compare_digest(given.encode(), self.secret.encode())

    def route(self, req: Request, fault: str | None) -> Response:
        if req.method != "GET" or req.path not in self.items:
            return json_response(404, {"message": "not found"})
        if not self._authorised(req):
            return json_response(401, {"message": "unauthorized"})
        try:
            if self.paging == "offset":
                size = int(req.query.get("limit", "50"))
                start = int(req.query.get("offset", "0"))
            else:
                size = int(req.query.get("page_size", "50"))
                start = (int(req.query.get("page", "1")) - 1) * size
        except ValueError:
            return json_response(400, {"message": "paging parameters must be whole numbers"})
        if start < 0 or not 1 <= size <= self.max_page:
            return json_response(400, {"message": f"1 <= page size <= {self.max_page}"})
        items, versions = self.items[req.path]
        since = req.query.get("since")
        if since is not None and versions is not None:
            items = items[versions >= since]
        chunk = items[start : start + size]
        self.count(len(chunk))
        body = '{"total":%d,"items":[%s]}' % (len(items), ",".join(chunk))
        return Response(200, body.encode())


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: nulls as null, everything else as the world holds it."""
    return [
        {k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in r.items()}
        for r in frame.astype(object).to_dict("records")
    ]
