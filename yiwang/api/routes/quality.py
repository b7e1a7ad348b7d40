"""/quality: where the quality gate's Data Docs are."""

from fastapi import APIRouter, Request

from yiwang.api.models import Quality, answers
from yiwang.api.routes.shared import GUARDS

router = APIRouter(dependencies=GUARDS)


@router.get("/quality", response_model=Quality, responses=answers())
def quality(request: Request) -> dict:
    """Where the latest quality gate's Data Docs are."""
    where = request.app.state.docs_dir / "gx/uncommitted/data_docs/local_site/index.html"
    return {"data_docs": str(where), "exists": where.exists()}
