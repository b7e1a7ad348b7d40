"""Audit findings (audit.md): static bearer token, offset paging over a list computed afresh
for every request, free-text project references."""

from __future__ import annotations

import datetime as dt
import hmac

import numpy as np

from simulators.servers.base import Request, Response, SimServer, json_response
from simulators.servers.render import json_items
from simulators.world import World
from simulators.world import calendar as cal

FIELDS = [
    (f, "str")
    for f in (
        "findingId",
        "auditReportNo",
        "auditedEntity",
        "auditedEntityCode",
        "projectRef",
        "issueType",
        "amount",
        "description",
        "foundOn",
        "status",
        "deadline",
        "lastModified",
    )
]


class AuditServer(SimServer):
    system = "audit"
    # "back_dated_insert": a finding with a lower id was entered while the client paged, so
    # every later item shifts by one and the page repeats the previous page's last item
    system_faults = ("back_dated_insert",)

    def __init__(self, world: World, as_of: dt.date, token: str, **kw) -> None:
        super().__init__(**kw)
        self.token = token
        rows = world.as_of("findings", cal.day(as_of)).sort_values("findingId", kind="stable")
        self.ts = rows["_ts"].to_numpy()
        self.items = np.array(json_items(rows, FIELDS), dtype=object)

    def inventory(self) -> dict[str, int]:
        return {"findings": len(self.items)}

    def credentials(self) -> dict[str, str]:
        return {"password": self.token}

    def authenticate(self, client, path_and_query: str, headers: dict[str, str]) -> None:
        headers.setdefault("Authorization", f"Bearer {self.token}")

    def route(self, req: Request, fault: str | None) -> Response:
        if req.method != "GET" or req.path != "/audit/api/findings":
            return json_response(404, {"message": "not found"})
        given = req.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given, self.token):
            return json_response(401, {"message": "unauthorized"})
        try:
            offset = int(req.query.get("offset", "0"))
            limit = int(req.query.get("limit", "50"))
            since = req.query.get("since")
            since_ms = (
                None
                if since is None
                else cal.epoch_ms(np.array([cal.day(dt.date.fromisoformat(since))]), np.array([0]))[
                    0
                ]
            )
        except ValueError:
            return json_response(400, {"message": "offset, limit and since must be well formed"})
        if offset < 0 or not 1 <= limit <= 200:
            return json_response(400, {"message": "offset >= 0 and 1 <= limit <= 200"})
        items = self.items if since_ms is None else self.items[self.ts >= since_ms]
        start = offset - 1 if fault == "back_dated_insert" and offset > 0 else offset
        chunk = items[start : start + limit]
        self.count(len(chunk))
        body = '{"total":%d,"items":[%s]}' % (len(items), ",".join(chunk))
        return Response(200, body.encode())
