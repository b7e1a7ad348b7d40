"""The rendered-response cache: each request's body rendered once per snapshot, served with
an `ETag` (a matching `If-None-Match` gets 304), and a cached GET answered before routing
(the data changes once a night)."""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import QueryParams
from starlette.requests import cookie_parser

from yiwang.api.auth import COOKIE, Gate
from yiwang.api.snapshot import Render, Snapshots, once_more_if_dropped

JSON = b"application/json"


def cache_bytes(mb: int) -> int:
    """Rendered bodies kept per server process (`YIWANG_API_CACHE_MB`, 256 by default): at
    `medium` every project's body fits, so a warmed server renders none."""
    return mb * 2**20


class Rendered:
    """Response bodies per (snapshot, request), least recently used dropped beyond `max_bytes`.

    A body is immutable once its snapshot is published, so it never needs invalidating; a
    newer snapshot only makes the older bodies unreachable, and they are dropped at once.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size, self.seq = max_bytes, 0, -1
        self.bodies: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()

    def get(self, key: tuple) -> tuple[bytes, str] | None:
        found = self.bodies.get(key)
        if found is not None:
            self.bodies.move_to_end(key)
        return found

    def put(self, key: tuple, body: bytes) -> tuple[bytes, str]:
        seq = key[0]
        if seq > self.seq:  # a newer snapshot: the older bodies can no longer be asked for
            self.bodies.clear()
            self.size, self.seq = 0, seq
        entry = (body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
        if seq == self.seq and len(body) <= self.max_bytes:
            replaced = self.bodies.pop(key, None)
            self.size -= len(replaced[0]) if replaced else 0
            self.bodies[key] = entry
            self.size += len(body)
            while self.size > self.max_bytes:
                _, (dropped, _) = self.bodies.popitem(last=False)
                self.size -= len(dropped)
        return entry


def asked(scope: dict) -> tuple:
    """What a GET asks for, as the cache keys it: its path and its query's items, sorted."""
    return (scope["path"], *sorted(QueryParams(scope["query_string"]).multi_items()))


class Responses:
    """Bodies for the newest snapshot of `snapshots`, kept in `rendered`; `gate` tells who may
    read them."""

    def __init__(self, snapshots: Snapshots, rendered: Rendered, gate: Gate):
        self.snapshots, self.rendered, self.gate = snapshots, rendered, gate
        self._in_flight: dict[tuple, asyncio.Future] = {}

    async def _fill(self, wanted: tuple, render: Render) -> tuple[bytes, str]:
        seq, body = await run_in_threadpool(once_more_if_dropped, render)
        return self.rendered.put((seq, *wanted), body)

    async def served(self, request: Request, render: Render) -> Response:
        """The body `render` gives for the latest snapshot: rendered at its first request."""
        wanted = asked(request.scope)
        key = (self.snapshots.newest(), *wanted)
        entry = self.rendered.get(key)
        if entry is None:  # one rendering per key, however many clients ask at once
            filling = self._in_flight.get(key)
            if filling is None:
                filling = self._in_flight[key] = asyncio.ensure_future(self._fill(wanted, render))
                filling.add_done_callback(lambda _: self._in_flight.pop(key, None))
            entry = await asyncio.shield(filling)
        body, etag = entry
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    def cached(self, scope: dict) -> tuple[int, list, bytes] | None:
        """The response to a GET already rendered for the newest snapshot, if its bearer is
        allowed: served without FastAPI's routing, validation and dependencies (which cost
        more than the rest of a cached response). Anything else goes the whole way."""
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        cookie = headers.get(b"cookie")
        session = cookie_parser(cookie.decode("latin-1")).get(COOKIE) if cookie else None
        if not self.gate.admits(authorization, session):
            return None
        entry = self.rendered.get((self.snapshots.newest(), *asked(scope)))
        if entry is None:
            return None
        body, etag = entry
        sent = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
        if headers.get(b"if-none-match", b"").decode("latin-1") == etag:
            return 304, sent, b""
        length = str(len(body)).encode()
        return 200, [(b"content-length", length), (b"content-type", JSON), *sent], body


class CachedFirst:
    """ASGI middleware: a GET whose response `lookup` has is answered at once."""

    def __init__(self, app, lookup: Callable[[dict], tuple[int, list, bytes] | None]) -> None:
        self.app, self.lookup = app, lookup

    async def __call__(self, scope, receive, send) -> None:
        found = self.lookup(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = found
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
