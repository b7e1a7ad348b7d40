"""/health: liveness and the published snapshot, no token needed."""

from fastapi import APIRouter, Request

from yiwang.api.bodies import row
from yiwang.api.models import Health
from yiwang.api.routes.shared import Reader

router = APIRouter()


@router.get("/health", response_model=Health)
async def health(request: Request, snapshots: Reader) -> dict:
    """Liveness, which snapshot is published (no token needed), and whether this server
    process has warmed its cache for it (PostgreSQL; `cache_warm`: every project rendered,
    or as many as half the cache holds). While the
    listener is connected the database is live and the ledger row is read once a
    snapshot."""
    found = snapshots.latest()
    seq = found["seq"] if found else None
    warm = seq is not None and request.app.state.warmed == seq
    shown = row({k: v for k, v in found.items() if k != "seq"}) if found else None
    return {"status": "ok", "latest": shown, "cache_warm": warm}
