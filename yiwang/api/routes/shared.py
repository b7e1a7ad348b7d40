"""What the routes share: their guards, the query parameters' types, and the app's snapshots
and response cache as dependencies (`app.state`, set by `create_app`)."""

from collections import Counter
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from yiwang.api.auth import authorised
from yiwang.api.cache import Responses
from yiwang.api.snapshot import Snapshots

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
PRINTABLE = r"^[^\x00-\x1f]*$"  # PostgreSQL text holds no NUL: refuse control characters early
ProjectId = Annotated[str, Path(max_length=200, pattern=PRINTABLE)]
After = Annotated[
    str | None, Query(max_length=200, pattern=PRINTABLE, description="keyset: the last key seen")
]


async def each_once(request: Request) -> None:
    """422 for a query parameter given more than once. Each of ours takes one value, of which
    FastAPI would use the last while the client may have meant another (or all), and the
    response cache keys the query as sent (`cache.asked`): refused, no such request is ever
    cached."""
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


GUARDS = [Depends(authorised), Depends(each_once)]  # a token first, then the query


async def _snapshots(request: Request) -> Snapshots:
    return request.app.state.snapshots


async def _responses(request: Request) -> Responses:
    return request.app.state.responses


# async, so FastAPI calls them on the event loop rather than in a thread
Reader = Annotated[Snapshots, Depends(_snapshots)]
Cache = Annotated[Responses, Depends(_responses)]


def no_project(project_id: str) -> HTTPException:
    return HTTPException(404, f"no project {project_id!r} in the published snapshot")
