"""Housing and construction supervision (housing.md): OAuth2 client credentials with short
tokens, 10 requests/s per client, opaque expiring cursors, camelCase JSON, tombstones."""

from __future__ import annotations

import base64
import bisect
import collections
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from urllib.parse import parse_qs

from simulators.servers.base import Request, Response, SimServer, json_response
from simulators.servers.render import json_items
from simulators.world import World
from simulators.world import calendar as cal

SPECS = {
    "permits": (
        "permits",
        [
            ("permitNo", "str"),
            ("projectCode", "str"),
            ("projectName", "str"),
            ("buildUnit", "str"),
            ("buildUnitCreditCode", "str"),
            ("contractor", "str"),
            ("contractorCreditCode", "str"),
            ("contractAmount", "num"),
            ("area", "num"),
            ("issueDate", "int"),
            ("regionCode", "str"),
            ("modifiedAt", "int"),
        ],
    ),
    "progress-reports": (
        "reports",
        [
            ("reportId", "str"),
            ("permitNo", "str"),
            ("period", "str"),
            ("completionRate", "num"),
            ("reportedAt", "int"),
            ("modifiedAt", "int"),
        ],
    ),
    "inspections": (
        "inspections",
        [
            ("inspectionId", "str"),
            ("permitNo", "str"),
            ("inspectDate", "int"),
            ("category", "str"),
            ("result", "str"),
            ("hazardCount", "int"),
            ("rectifiedAt", "int"),
            ("modifiedAt", "int"),
        ],
    ),
    "acceptances": (
        "acceptances",
        [
            ("filingNo", "str"),
            ("permitNo", "str"),
            ("acceptDate", "int"),
            ("result", "str"),
            ("modifiedAt", "int"),
        ],
    ),
}
TOMBSTONE = [("key", "str"), ("deletedAt", "int"), ("modifiedAt", "int")]


class _Feed:
    """One resource's items as of the day, ordered by (modifiedAt, key)."""

    def __init__(self, frame, spec) -> None:
        frame = frame.sort_values(["modifiedAt", "_key"], kind="stable")
        self.order = list(zip(frame["modifiedAt"].astype(int), frame["_key"], strict=True))
        self.modified = [m for m, _ in self.order]
        self.items = json_items(frame, spec)


class HousingServer(SimServer):
    system = "housing"
    system_faults = ("rate_limited", "token_invalidated", "cursor_expired")

    def __init__(
        self,
        world: World,
        as_of: dt.date,
        client_id: str,
        client_secret: str,
        token_ttl_s: int = 600,
        cursor_ttl_s: int = 600,
        rate_per_s: float = 10,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl_s, self.cursor_ttl_s, self.rate_per_s = token_ttl_s, cursor_ttl_s, rate_per_s
        self._key = secrets.token_bytes(16)  # signs cursors; a restart invalidates them
        self._tokens: dict[str, float] = {}
        self._calls: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        day = cal.day(as_of)
        self.feeds = {}
        for resource, (table, spec) in SPECS.items():
            # a deleted record leaves its resource; only its tombstone says it was there
            live = world.as_of(table, day)
            live = live[~live["_key"].isin(world.deleted_keys(resource, day))]
            self.feeds[resource] = _Feed(live, spec)
            gone = world.tables["deleted"]
            gone = gone[(gone["resource"] == resource) & (gone["_ts"] <= cal.end_of_day_ms(day))]
            self.feeds[f"deleted:{resource}"] = _Feed(gone, TOMBSTONE)

    def inventory(self) -> dict[str, int]:
        return {name: len(feed.items) for name, feed in self.feeds.items()}

    def credentials(self) -> dict[str, str]:
        return {"login": self.client_id, "password": self.client_secret}

    def authenticate(self, client, path_and_query: str, headers: dict[str, str]) -> None:
        if client.token is None:  # OAuth2 client credentials, once per client
            answer = client.session.post(
                f"{self.url}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
                timeout=30,
            )
            answer.raise_for_status()
            client.token = answer.json()["access_token"]
        headers.setdefault("Authorization", f"Bearer {client.token}")

    def invalidate_tokens(self) -> None:
        """What a server restart does to every token."""
        with self._lock:
            self._tokens.clear()

    # ---- routing ------------------------------------------------------------------------
    def route(self, req: Request, fault: str | None) -> Response:
        if req.path == "/oauth/token" and req.method == "POST":
            return self._token(req)
        if fault == "token_invalidated":
            self.invalidate_tokens()
        token = req.headers.get("authorization", "").removeprefix("Bearer ").strip()
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None or expiry < time.time():
            return json_response(401, {"error": "invalid_token"})
        wait = self._rate_wait() if fault != "rate_limited" else 0.5
        if wait:
            return Response(
                429,
                b'{"error":"rate_limited"}',
                headers={"Retry-After": f"{wait:.2f}".rstrip("0").rstrip(".")},
            )
        if req.method != "GET" or not req.path.startswith("/openapi/v3/"):
            return json_response(404, {"error": "not_found"})
        resource = req.path.removeprefix("/openapi/v3/")
        if resource == "deleted":
            resource = f"deleted:{req.query.get('resource', '')}"
        feed = self.feeds.get(resource)
        if feed is None:
            return json_response(404, {"error": "not_found"})
        return self._page(feed, resource, req.query, fault)

    def _token(self, req: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(req.body.decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or not hmac.compare_digest(form.get("client_secret", ""), self.client_secret)
        ):
            return json_response(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.time() + self.token_ttl_s
        return json_response(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl_s}
        )

    def _rate_wait(self) -> float:
        """Seconds until another request is allowed (0: allowed now, and counted)."""
        if not self.rate_per_s:
            return 0.0
        now = time.monotonic()
        with self._lock:
            while self._calls and self._calls[0] <= now - 1.0:
                self._calls.popleft()
            if len(self._calls) >= self.rate_per_s:
                return max(0.01, self._calls[0] + 1.0 - now)
            self._calls.append(now)
        return 0.0

    def _page(self, feed: _Feed, resource: str, query: dict, fault: str | None) -> Response:
        try:
            limit = int(query.get("limit", "200"))
            after = int(query["modifiedAfter"]) if query.get("modifiedAfter") else None
        except ValueError:
            return json_response(400, {"error": "invalid_request"})
        if not 1 <= limit <= 1000:
            return json_response(400, {"error": "invalid_request"})
        if "cursor" in query:
            state = self._open_cursor(query["cursor"], resource)
            if state is None or fault == "cursor_expired":
                return json_response(400, {"error": "invalid_cursor"})
            after, last = state["after"], (state["m"], state["k"])
            start = bisect.bisect_right(feed.order, last)
        else:
            start = 0
        if after is not None:
            start = max(start, bisect.bisect_right(feed.modified, after))
        chunk = feed.items[start : start + limit]
        end = start + len(chunk)
        cursor = None
        if end < len(feed.items):
            m, k = feed.order[end - 1]
            cursor = self._make_cursor({"r": resource, "after": after, "m": m, "k": k})
        self.count(len(chunk))
        body = '{"items":[%s],"nextCursor":%s}' % (",".join(chunk), json.dumps(cursor))
        return Response(200, body.encode())

    # cursors: signed, self-contained, stamped with their issue time
    def _make_cursor(self, state: dict) -> str:
        state = {**state, "t": time.time()}
        raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    def _open_cursor(self, cursor: str, resource: str) -> dict | None:
        try:
            blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            mac, raw = blob[:12], blob[12:]
            if not hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()[:12]):
                return None
            state = json.loads(raw)
        except (ValueError, TypeError):
            return None
        if state.get("r") != resource or time.time() - state["t"] > self.cursor_ttl_s:
            return None
        return state
