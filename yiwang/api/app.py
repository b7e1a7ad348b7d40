"""The read API: the published dataset over HTTP, read-only, behind bearer tokens.

Tokens come from configuration as SHA-256 digests (`YIWANG_API_TOKEN_SHA256`, comma-separated),
never in clear. Every response is read inside one transaction, so it shows one snapshot. Money
is an exact decimal string, dates ISO. Queries are built with bound parameters only.

The data changes once a night, so responses are rendered once per snapshot: each request
serves the bytes rendered for the newest snapshot and that request, with an `ETag` (a matching
`If-None-Match` gets 304). On PostgreSQL the newest snapshot is announced (`yiwang.api.follower`);
otherwise, or while the announcements are not heard, the ledger's latest row is read.
"""

import asyncio
import contextlib
import datetime as dt
import gc
import hashlib
import hmac
import json
import logging
import os
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine, and_, literal, or_, select
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import QueryParams

from schemas.unified import RISK_FLAGS, TABLES
from yiwang.api.follower import Follower
from yiwang.settings import data_dir
from yiwang.store.db import is_postgres
from yiwang.store.tables import Money, published

P, S, U, C, L = (
    published[t]
    for t in ("project", "source_record", "unit_scorecard", "spot_check", "publish_run")
)
log = logging.getLogger(__name__)
Flag = StrEnum("Flag", {f: f for f in RISK_FLAGS})


Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
PRINTABLE = r"^[^\x00-\x1f]*$"  # PostgreSQL text holds no NUL: refuse control characters early
After = Annotated[
    str | None, Query(max_length=200, pattern=PRINTABLE, description="keyset: the last key seen")
]


class ListName(StrEnum):
    red = "red"
    black = "black"


# where each published figure of a project comes from: (source system, record type)
_BY_RECORD = {
    ("drc", "project"): (
        "project_code", "project_name", "region_code", "owner_unit_name", "owner_unit_code",
        "entrusted_unit_name", "entrusted_unit_code", "approval_type", "status",
        "funding_source", "approved_investment", "approval_date", "planned_start_date",
        "planned_end_date",
    ),
    ("housing", "permit"): ("permit_count", "contract_amount"),
    ("treasury", "voucher"): (
        "paid_amount", "payment_count", "first_payment_date", "last_payment_date",
    ),
    ("housing", "progress_report"): ("progress_rate", "progress_period"),
    ("housing", "inspection"): ("inspection_count", "open_stop_work_count"),
    ("housing", "acceptance"): ("completion_date",),
    ("audit", "finding"): ("finding_count", "open_finding_count", "finding_amount"),
}  # fmt: skip
FIGURE_SOURCES = {figure: source for source, figures in _BY_RECORD.items() for figure in figures}


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _row(mapping) -> dict[str, Any]:
    return {k: _json(v) for k, v in mapping.items() if k != "row_hash"}


def _rendered(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def cache_bytes() -> int:
    """Rendered bodies kept per server process (`YIWANG_API_CACHE_MB`, 256 by default): at
    `medium` every project's body fits (about 115 MB), so a warmed server renders none."""
    return int(os.environ.get("YIWANG_API_CACHE_MB", "256")) * 2**20


class Rendered:
    """Response bodies per (snapshot, request), least recently used dropped beyond `max_bytes`.

    A body is immutable once its snapshot is published, so it never needs invalidating; a
    newer snapshot only makes the older bodies unreachable, and they are dropped at once.
    """

    def __init__(self, max_bytes: int | None = None) -> None:
        max_bytes = cache_bytes() if max_bytes is None else max_bytes
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


# a served process's connections, so renders at once: enough to overlap the database's round
# trips on 2 cores; a render beyond them waits for a connection (no overflow to open and close)
RENDERS = 8


def app_from_env():
    """The app over `YIWANG_DATABASE_URL`, for `yiwang serve --workers N` (uvicorn's factory).

    No ping before each checkout (a round trip per request): a connection the server dropped
    is retried once instead (`_once_more_if_dropped`).
    """
    from yiwang.store.db import engine_for

    return create_app(engine_for(pool_pre_ping=False, pool_size=RENDERS, max_overflow=0))


def _once_more_if_dropped(call: Callable[[], Any]) -> Any:
    """`call()`, once more if the database had dropped the connection (a restart, a failover):
    SQLAlchemy then discards every pooled connection, so the retry starts on a fresh one."""
    try:
        return call()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        return call()


def _as_shown(table) -> str:
    """`table`'s columns as the API shows them, for SQL: money as exact text, no row_hash."""
    return ", ".join(
        f"{c.name}::text AS {c.name}" if isinstance(c.type, Money) else c.name
        for c in table.columns
        if c.name != "row_hash"
    )


def _projects_in_sql(where: str) -> str:
    """Projects' bodies in one statement (one round trip, one snapshot): the latest
    publication, and per project its id, itself and its records as compact JSON, and its
    records' keys per record type. Driver SQL, which costs SQLAlchemy 0.25 ms less CPU per
    statement than a compiled `text()`."""
    return f"""
SELECT (SELECT seq FROM unified.publish_run ORDER BY seq DESC LIMIT 1), p.project_id,
       row_to_json(p)::text,
       (SELECT '[' || coalesce(string_agg(row_to_json(r)::text, ','
                   ORDER BY source_system, record_type, record_key), '') || ']'
          FROM (SELECT {_as_shown(S)} FROM unified.source_record s
                 WHERE s.project_id = p.project_id) r),
       (SELECT json_object_agg(record_type, record_keys)::text FROM (
            SELECT record_type, json_agg(record_key ORDER BY source_system, record_key)
                   AS record_keys
              FROM unified.source_record s WHERE s.project_id = p.project_id
             GROUP BY record_type) k)
  FROM (SELECT {_as_shown(P)} FROM unified.project WHERE {where}) p
 ORDER BY p.project_id
"""


PROJECT_IN_SQL = _projects_in_sql("project_id = %(id)s")
# a chunk of projects in id order after `after`, for warming the cache on a new snapshot
PROJECTS_IN_SQL = _projects_in_sql("project_id > %(after)s ORDER BY project_id LIMIT %(n)s")
WARM_CHUNK = 200  # projects per statement: a few ms of the database's time, then a pause
WARM_SHARE = 0.5  # of the cache that warming may fill; the rest is for what is asked


def token_digests() -> set[str]:
    raw = os.environ.get("YIWANG_API_TOKEN_SHA256", "")
    return {d.strip().lower() for d in raw.split(",") if d.strip()}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def each_once(request: Request) -> None:
    """422 for a query parameter given more than once. Each of ours takes one value, of which
    FastAPI would use the last while the client may have meant another (or all), and the
    response cache keys the query as sent (`_asked`): refused, no such request is ever cached."""
    counted = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [name for name, times in counted.items() if times > 1]
    if repeated:
        raise RequestValidationError(
            [
                {
                    "type": "repeated_parameter",
                    "loc": ("query", name),
                    "msg": f"query parameter {name!r} is given more than once; give it once",
                    "input": request.query_params.getlist(name),
                }
                for name in repeated
            ]
        )


def create_app(engine: Engine, digests: set[str] | None = None, docs_dir: FilePath | None = None):
    """The API over `engine`'s published tables; `digests`: accepted tokens' SHA-256."""
    allowed = digests if digests is not None else token_digests()
    postgres = is_postgres(engine)
    plain = engine  # for reads of one statement, such as the ledger row every request reads
    if postgres:  # one statement is one snapshot: no BEGIN or ROLLBACK round trips
        plain = engine.execution_options(isolation_level="AUTOCOMMIT")
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    bearer = HTTPBearer(auto_error=False)
    described = TABLES["project"].to_schema().columns  # the figures' rules, built once
    follower = None
    if postgres:  # told of each publication, instead of asking the ledger every request
        follower = Follower(engine.url.set(drivername="postgresql").render_as_string(False))

    @contextlib.asynccontextmanager
    async def following(_app: FastAPI):
        if follower is None:
            yield
            return
        follower.start()
        warming = asyncio.create_task(keep_warm())
        try:
            yield
        finally:
            warming.cancel()
            await asyncio.to_thread(follower.stop)

    app = FastAPI(
        lifespan=following,
        title="Yiwang (一张网) unified project dataset",
        version="1",
        description="Read-only access to the published snapshot. Money: exact decimal strings, 元.",
    )

    def known(token: str) -> bool:
        offered = digest(token)
        return any(hmac.compare_digest(offered, d) for d in allowed)

    async def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        if not known(credentials.credentials):
            raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})

    auth = [Depends(authorised), Depends(each_once)]  # a token first, then the query
    latest = select(L.c.seq, L.c.run_id, L.c.as_of_date, L.c.content_hash)
    latest = latest.order_by(L.c.seq.desc()).limit(1)
    rendered = Rendered()

    def head(conn: Connection | None = None) -> dict[str, Any] | None:
        if conn is None:

            def read_latest() -> dict[str, Any] | None:
                with plain.connect() as conn:
                    return head(conn)

            return _once_more_if_dropped(read_latest)
        found = conn.execute(latest).mappings().first()
        return dict(found) if found else None

    def snapshot_of(found: dict[str, Any] | None) -> int:
        return int(found["seq"]) if found else 0

    def newest() -> int:
        """The newest publication's seq: the follower's, or the ledger's when it has none."""
        known = follower.seq if follower else None
        return known if known is not None else snapshot_of(head())

    def in_one_snapshot(build: Callable[[Connection], Any]) -> Callable[[], tuple[int, bytes]]:
        """A renderer of `build`'s content and the snapshot it shows, read in one transaction."""

        def render() -> tuple[int, bytes]:
            with engine.connect() as conn, conn.begin():
                return snapshot_of(head(conn)), _rendered(build(conn))

        return render

    in_flight: dict[tuple, asyncio.Future] = {}

    async def fill(asked: tuple, render: Callable[[], tuple[int, bytes]]) -> tuple[bytes, str]:
        seq, body = await run_in_threadpool(_once_more_if_dropped, render)
        return rendered.put((seq, *asked), body)

    async def served(request: Request, render: Callable[[], tuple[int, bytes]]) -> Response:
        """The body `render` gives for the latest snapshot: rendered at its first request."""
        asked = _asked(request.scope)
        key = (newest(), *asked)
        entry = rendered.get(key)
        if entry is None:  # one rendering per key, however many clients ask at once
            filling = in_flight.get(key)
            if filling is None:
                filling = in_flight[key] = asyncio.ensure_future(fill(asked, render))
                filling.add_done_callback(lambda _: in_flight.pop(key, None))
            entry = await asyncio.shield(filling)
        body, etag = entry
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    def read(conn: Connection, query):
        return conn.execute(query).mappings().all()

    heads: dict[int, dict[str, Any]] = {}  # the ledger's latest row, by the seq it is of

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, which snapshot is published (no token needed), and whether this server
        process has warmed its cache for it (PostgreSQL; `cache_warm`: every project rendered,
        or as many as half the cache holds). While the
        listener is connected the database is live and the ledger row is read once a
        snapshot."""
        found = heads.get(follower.seq) if follower else None
        if found is None:  # no listener, or a snapshot it has not yet been read for
            found = head()
            if found and follower:
                heads.clear()
                heads[found["seq"]] = found
        seq = found["seq"] if found else None
        warm = seq is not None and app.state.warmed == seq
        shown = _row({k: v for k, v in found.items() if k != "seq"}) if found else None
        return {"status": "ok", "latest": shown, "cache_warm": warm}

    @app.get("/projects", dependencies=auth)
    async def projects(
        request: Request,
        limit: Limit = 50,
        after: After = None,
        division: Annotated[
            str | None, Query(pattern=r"^\d{6}$", description="6-digit division code")
        ] = None,
        status: Annotated[
            str | None, Query(max_length=20, pattern=PRINTABLE, description="registry status")
        ] = None,
        risk_flag: Flag | None = None,
        unit: Annotated[
            str | None,
            Query(
                max_length=18, pattern=PRINTABLE, description="owner or entrusted unit credit code"
            ),
        ] = None,
        q: Annotated[
            str | None, Query(max_length=100, pattern=PRINTABLE, description="name contains")
        ] = None,
    ) -> dict[str, Any]:
        """Projects in `project_id` order, filtered; `next` is the `after` of the next page."""
        where = []
        if after is not None:
            where.append(P.c.project_id > after)
        if division:
            where.append(P.c.region_code == division)
        if status:
            where.append(P.c.status == status)
        if risk_flag:
            where.append(
                (literal(",") + P.c.risk_flags + literal(",")).contains(f",{risk_flag.value},")
            )
        if unit:
            where.append(or_(P.c.owner_unit_code == unit, P.c.entrusted_unit_code == unit))
        if q:
            where.append(P.c.project_name.contains(q, autoescape=True))
        query = select(P).where(and_(True, *where)).order_by(P.c.project_id).limit(limit + 1)
        page = in_one_snapshot(lambda conn: _page(read(conn, query), limit, "project_id"))
        return await served(request, page)

    @app.get("/projects/{project_id}", dependencies=auth)
    async def project(
        request: Request,
        project_id: Annotated[str, Path(max_length=200, pattern=PRINTABLE)],
    ) -> dict[str, Any]:
        """One project, every source record linked to it, and where each figure came from."""

        def build(conn: Connection) -> dict[str, Any]:
            found = conn.execute(select(P).where(P.c.project_id == project_id)).mappings().first()
            if found is None:
                raise missing()
            records = read(
                conn,
                select(S)
                .where(S.c.project_id == project_id)
                .order_by(S.c.source_system, S.c.record_type, S.c.record_key),
            )
            out = _row(found)
            linked = [_row(r) for r in records]
            keys: dict[str, list[str]] = defaultdict(list)  # per record type, one pass
            for r in linked:
                keys[r["record_type"]].append(r["record_key"])
            return {"project": out, "source_records": linked, "figures": figures(out, keys)}

        def in_sql() -> tuple[int, bytes]:
            """The same body, its parts rendered by PostgreSQL in one statement."""
            with plain.connect() as conn:
                found = conn.exec_driver_sql(PROJECT_IN_SQL, {"id": project_id}).first()
            if found is None:
                raise missing()
            return int(found[0] or 0), project_body(*found[2:])

        def missing() -> HTTPException:
            return HTTPException(404, f"no project {project_id!r} in the published snapshot")

        return await served(request, in_sql if postgres else in_one_snapshot(build))

    @app.get("/units", dependencies=auth)
    async def units(
        request: Request,
        limit: Limit = 50,
        after: After = None,
        list_name: Annotated[ListName | None, Query(alias="list")] = None,
    ) -> dict[str, Any]:
        """红黑榜: units in credit-code order, optionally only the red or the black list."""
        where = []
        if after is not None:
            where.append(U.c.unit_code > after)
        if list_name:
            where.append(U.c.list == list_name.value)
        query = select(U).where(and_(True, *where)).order_by(U.c.unit_code).limit(limit + 1)
        page = in_one_snapshot(lambda conn: _page(read(conn, query), limit, "unit_code"))
        return await served(request, page)

    @app.get("/spot-checks", dependencies=auth)
    async def spot_checks(
        request: Request,
        period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    ) -> dict[str, Any]:
        """双随机 draws (all months, or one), with the seed that re-derives each draw."""
        query = select(C).order_by(C.c.period, C.c.draw_rank)
        if period:
            query = query.where(C.c.period == period)
        items = in_one_snapshot(lambda conn: {"items": [_row(r) for r in read(conn, query)]})
        return await served(request, items)

    @app.get("/ledger", dependencies=auth)
    async def ledger(request: Request) -> dict[str, Any]:
        """Every publication, oldest first, with its content and chain hashes."""
        query = select(L).order_by(L.c.seq)
        items = in_one_snapshot(lambda conn: {"items": [_row(r) for r in read(conn, query)]})
        return await served(request, items)

    @app.get("/quality", dependencies=auth)
    def quality() -> dict[str, Any]:
        """Where the latest quality gate's Data Docs are."""
        where = (
            docs_dir or data_dir() / "quality"
        ) / "gx/uncommitted/data_docs/local_site/index.html"
        return {"data_docs": str(where), "exists": where.exists()}

    def project_body(out: str, linked: str, keys: str | None) -> bytes:
        """A project's body from the JSON PostgreSQL rendered (`_projects_in_sql`)."""
        shown = figures(json.loads(out), json.loads(keys or "{}"))
        parts = (b'{"project":', out.encode(), b',"source_records":', linked.encode(),
                 b',"figures":', _rendered(shown), b"}")  # fmt: skip
        return b"".join(parts)

    def warm_chunk(seq: int, after: str) -> dict[str, bytes]:
        """The bodies of snapshot `seq`'s next projects after id `after`, by id; none when
        there are no more, or a newer snapshot was published."""
        with engine.connect() as conn, conn.begin():
            # the planner's estimate for a chunk passes jit_above_cost; compiling would cost
            # 0.35 s a chunk, ten times the query
            conn.exec_driver_sql("SET LOCAL jit = off")
            rows = conn.exec_driver_sql(PROJECTS_IN_SQL, {"after": after, "n": WARM_CHUNK})
            rows = rows.all()
        if not rows or int(rows[0][0] or 0) != seq:
            return {}
        return {project_id: project_body(*parts) for _, project_id, *parts in rows}

    async def warm(seq: int) -> None:
        """Every project's body of snapshot `seq` rendered before it is asked for, a chunk at
        a time (ids in order), while the budget lasts. Requests meanwhile are served as ever:
        a body asked for before its chunk is rendered on its own. Rendered in a thread, kept
        by the event loop's (the cache is the loop's alone)."""
        after = ""
        while rendered.size < rendered.max_bytes * WARM_SHARE:
            bodies = await asyncio.to_thread(_once_more_if_dropped, partial(warm_chunk, seq, after))
            if not bodies:
                return
            for project_id, body in bodies.items():
                rendered.put((seq, f"/projects/{project_id}"), body)
            after = project_id

    async def keep_warm() -> None:
        """Warm the cache for each snapshot the follower hears of (`app.state.warmed`)."""
        while True:
            seq = follower.seq
            if seq is not None and seq != app.state.warmed:
                try:
                    await warm(seq)
                except Exception:  # warming only saves time: its failure must cost no more
                    log.exception("warming the cache for snapshot %s stopped", seq)
                # what lives until the next snapshot is out of the cyclic collector's way
                # (a full collection over it is a pause of tens of ms in every response),
                # once what is garbage already is collected
                gc.collect()
                gc.freeze()
                app.state.warmed = seq
            await asyncio.sleep(0.2)

    def figures(out: dict[str, Any], keys: dict[str, list[str]]) -> dict[str, Any]:
        """Each figure of project `out`, its rule, and the keys of the records it came from."""
        return {
            name: {
                "value": out[name],
                "rule": described[name].description,
                "source_system": system,
                "record_type": record_type,
                "record_keys": keys.get(record_type, []),
            }
            for name, (system, record_type) in FIGURE_SOURCES.items()
        }

    def cached(scope: dict) -> tuple[int, list, bytes] | None:
        """The response to a GET already rendered for the newest snapshot, if its bearer is
        allowed: served without FastAPI's routing, validation and dependencies (which cost
        more than the rest of a cached response). Anything else goes the whole way."""
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not known(token):
            return None
        entry = rendered.get((newest(), *_asked(scope)))
        if entry is None:
            return None
        body, etag = entry
        sent = [(b"etag", etag.encode()), (b"cache-control", b"no-cache")]
        if headers.get(b"if-none-match", b"").decode("latin-1") == etag:
            return 304, sent, b""
        length = str(len(body)).encode()
        return 200, [(b"content-length", length), (b"content-type", JSON), *sent], body

    app.add_middleware(CachedFirst, lookup=cached)
    app.state.follower, app.state.warmed = follower, None
    return app


JSON = b"application/json"


def _asked(scope: dict) -> tuple:
    """What a GET asks for, as the cache keys it: its path and its query's items, sorted."""
    return (scope["path"], *sorted(QueryParams(scope["query_string"]).multi_items()))


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


def _page(rows, limit: int, key: str) -> dict[str, Any]:
    """A keyset page: `next` is the `after` of the next page (None on the last)."""
    items = [_row(r) for r in rows[:limit]]
    return {"items": items, "next": items[-1][key] if len(rows) > limit else None}
