"""/quality: where the quality gate's Data Docs are."""

from typing import Any

from fastapi import APIRouter, Request

from yiwang.api.routes.shared import GUARDS

router = APIRouter(dependencies=GUARDS)


@router.get("/quality")
def quality(request: Request) -> dict[str, Any]:
    """Where the latest quality gate's Data Docs are."""
    where = request.app.state.docs_dir / "gx/uncommitted/data_docs/local_site/index.html"
    return {"data_docs": str(where), "exists": where.exists()}
