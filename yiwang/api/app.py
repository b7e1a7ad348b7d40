"""The read API: the published dataset over HTTP, read-only, behind bearer tokens.

Tokens come from configuration as SHA-256 digests (`YIWANG_API_TOKEN_SHA256`, comma-separated),
never in clear. Every response is read inside one transaction, so it shows one snapshot. Money
is an exact decimal string, dates ISO. Queries are built with bound parameters only.

The data changes once a night, so responses are rendered once per snapshot (`cache`) and
served with an `ETag`; on PostgreSQL each new snapshot is heard of (`follower`) and its
projects rendered before they are asked for (`warm`).

/docs (Swagger UI) and /redoc are served from assets shipped in `static/`, with no request
leaving the server; they, /openapi.json and /health need no token.
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Collection
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from yiwang.api.auth import Gate, Sessions
from yiwang.api.cache import CachedFirst, Rendered, Responses, cache_bytes
from yiwang.api.routes import ROUTERS
from yiwang.api.snapshot import Snapshots
from yiwang.api.warm import keep_warm
from yiwang.console import ASSETS as CONSOLE_ASSETS
from yiwang.console import ROUTERS as CONSOLE
from yiwang.console.pages import ASSETS as CONSOLE_AT
from yiwang.settings import from_environment
from yiwang.store.db import engine_for

QUALITY_DIR = Path("data", "quality")  # the default `docs_dir`; exports are cached beside it

# a served process's connections, so renders at once: enough to overlap the database's round
# trips on 2 cores; a render beyond them waits for a connection (no overflow to open and close)
RENDERS = 8
# Swagger UI's and ReDoc's assets, shipped with the package (static/README.md): the docs
# work where nothing may call out
STATIC = Path(__file__).parent / "static"
NO_TOKEN = (
    "no API token is configured (YIWANG_API_TOKEN_SHA256 is empty): the API will refuse "
    "every request for data with 401. Set YIWANG_API_TOKEN_SHA256 to the SHA-256 digests of "
    "the accepted tokens, comma-separated, e.g. "
    "YIWANG_API_TOKEN_SHA256=$(printf %s \"$TOKEN\" | sha256sum | cut -d' ' -f1)"
)
log = logging.getLogger(__name__)


def create_app(
    engine: Engine,
    digests: Collection[str],
    docs_dir: Path | None = None,
    cache_mb: int = 256,
    session_secret: bytes | None = None,
    console_tiles: str | None = None,
) -> FastAPI:
    """The API over `engine`'s published tables. `digests`: accepted tokens' SHA-256;
    `docs_dir`: the quality gate's folder (default `data/quality` in the working directory);
    `cache_mb`: rendered bodies kept; `session_secret`: signs the console's session cookies
    (default a random one, good for this process only); `console_tiles`: a tile URL template
    the console's map draws beneath its layers (none by default: nothing is fetched)."""
    snapshots = Snapshots(engine)
    rendered = Rendered(cache_bytes(cache_mb))
    gate = Gate(digests, Sessions(session_secret or secrets.token_bytes(32)))
    responses = Responses(snapshots, rendered, gate)
    app = FastAPI(
        lifespan=_following,
        title="Yiwang (一张网) unified project dataset",
        version="1",
        description="Read-only access to the published snapshot. Money: exact decimal strings, 元.",
        docs_url=None,  # served below from the shipped assets, not a CDN
        redoc_url=None,
    )
    _documented(app)
    for router in (*ROUTERS, *CONSOLE):
        app.include_router(router)
    app.add_middleware(CachedFirst, lookup=responses.cached)
    app.state.snapshots, app.state.responses, app.state.gate = snapshots, responses, gate
    app.state.docs_dir = docs_dir or QUALITY_DIR.absolute()
    app.state.follower, app.state.warmed = snapshots.follower, None
    app.state.console_tiles = console_tiles
    if not digests:
        log.warning(NO_TOKEN)
    return app


def _documented(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from the assets under `static/`, like /openapi.json
    without a token: they document the API, they serve no data."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(CONSOLE_AT, StaticFiles(directory=CONSOLE_ASSETS), name="console-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{root}/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{root}/static/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}/static/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,  # ReDoc falls back to the system's fonts
        )


@contextlib.asynccontextmanager
async def _following(app: FastAPI) -> AsyncIterator[None]:
    """On PostgreSQL, follow publications and keep the cache warm while the app serves."""
    state = app.state
    if state.follower is None:
        yield
        return
    state.follower.start()
    warming = asyncio.create_task(keep_warm(state.snapshots, state.responses.rendered, state))
    try:
        yield
    finally:
        warming.cancel()
        await asyncio.to_thread(state.follower.stop)


def app_from_env() -> FastAPI:
    """The app as the environment configures it, for `yiwang serve --workers N` (uvicorn's
    factory): the only place the API reads settings.

    No ping before each checkout (a round trip per request): a connection the server dropped
    is retried once instead (`snapshot.once_more_if_dropped`).
    """
    settings = from_environment()
    engine = engine_for(settings.store_url, pool_pre_ping=False, pool_size=RENDERS, max_overflow=0)
    secret = settings.session_secret.get_secret_value() if settings.session_secret else ""
    return create_app(
        engine, settings.token_digests, settings.quality_dir, settings.api_cache_mb,
        secret.encode() or None, settings.console_tiles,
    )  # fmt: skip
