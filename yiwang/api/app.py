"""The read API: the published dataset over HTTP, read-only, behind bearer tokens.

Tokens come from configuration as SHA-256 digests (`YIWANG_API_TOKEN_SHA256`, comma-separated),
never in clear. Every response is read inside one transaction, so it shows one snapshot. Money
is an exact decimal string, dates ISO. Queries are built with bound parameters only.

The data changes once a night, so responses are rendered once per snapshot (`cache`) and
served with an `ETag`; on PostgreSQL each new snapshot is heard of (`follower`) and its
projects rendered before they are asked for (`warm`).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine

from yiwang.api.auth import known
from yiwang.api.cache import CachedFirst, Rendered, Responses, cache_bytes
from yiwang.api.routes import ROUTERS
from yiwang.api.snapshot import Snapshots
from yiwang.api.warm import keep_warm
from yiwang.settings import from_environment
from yiwang.store.db import engine_for

# a served process's connections, so renders at once: enough to overlap the database's round
# trips on 2 cores; a render beyond them waits for a connection (no overflow to open and close)
RENDERS = 8


def create_app(
    engine: Engine,
    digests: Collection[str],
    docs_dir: Path | None = None,
    cache_mb: int = 256,
) -> FastAPI:
    """The API over `engine`'s published tables. `digests`: accepted tokens' SHA-256;
    `docs_dir`: the quality gate's folder (default `data/quality` in the working directory);
    `cache_mb`: rendered bodies kept."""
    snapshots = Snapshots(engine)
    rendered = Rendered(cache_bytes(cache_mb))
    responses = Responses(snapshots, rendered, partial(known, digests=digests))
    app = FastAPI(
        lifespan=_following,
        title="Yiwang (一张网) unified project dataset",
        version="1",
        description="Read-only access to the published snapshot. Money: exact decimal strings, 元.",
    )
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(CachedFirst, lookup=responses.cached)
    app.state.snapshots, app.state.responses, app.state.digests = snapshots, responses, digests
    app.state.docs_dir = docs_dir or Path("data", "quality").absolute()
    app.state.follower, app.state.warmed = snapshots.follower, None
    return app


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
    return create_app(engine, settings.token_digests, settings.quality_dir, settings.api_cache_mb)
