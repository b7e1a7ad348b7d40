"""Projects: pages of them, filtered, and one with its source records and each figure's
provenance."""

from collections import defaultdict
from enum import StrEnum
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, literal, or_, select

from departments.registry import flags
from yiwang.api.bodies import PROJECT_IN_SQL, P, S, project_body, row
from yiwang.api.models import ProjectDetail, ProjectPage, answers
from yiwang.api.provenance import figures
from yiwang.api.routes.shared import (
    GUARDS,
    PRINTABLE,
    After,
    Cache,
    Limit,
    ProjectId,
    Reader,
    no_project,
)
from yiwang.api.snapshot import Snapshots, read

Flag = StrEnum("Flag", {f: f for f in flags()})  # the risk flags the departments declare
router = APIRouter(dependencies=GUARDS)


@router.get("/projects", response_model=ProjectPage, responses=answers())
async def projects(
    request: Request,
    snapshots: Reader,
    responses: Cache,
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
        Query(max_length=18, pattern=PRINTABLE, description="owner or entrusted unit credit code"),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, pattern=PRINTABLE, description="name contains")
    ] = None,
) -> Response:
    """Projects in `project_id` order, filtered; `next` is the `after` of the next page."""
    where = []
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
    items = snapshots.keyset_page(P, "project_id", after, limit, where)
    return await responses.served(request, items)


@router.get("/projects/{project_id}", response_model=ProjectDetail, responses=answers(named=True))
async def project(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    project_id: ProjectId,
) -> Response:
    """One project, every source record linked to it, and where each figure came from."""
    if snapshots.postgres:
        render = partial(_in_sql, snapshots, project_id)
    else:
        render = snapshots.in_one_snapshot(partial(_built, project_id))
    return await responses.served(request, render)


def _built(project_id: str, conn: Connection) -> dict[str, Any]:
    found = conn.execute(select(P).where(P.c.project_id == project_id)).mappings().first()
    if found is None:
        raise no_project(project_id)
    records = read(
        conn,
        select(S)
        .where(S.c.project_id == project_id)
        .order_by(S.c.source_system, S.c.record_type, S.c.record_key),
    )
    out = row(found)
    linked = [row(r) for r in records]
    keys: dict[str, list[str]] = defaultdict(list)  # per record type, one pass
    for r in linked:
        keys[r["record_type"]].append(r["record_key"])
    return {"project": out, "source_records": linked, "figures": figures(out, keys)}


def _in_sql(snapshots: Snapshots, project_id: str) -> tuple[int, bytes]:
    """The same body as `_built`, its parts rendered by PostgreSQL in one statement."""
    with snapshots.plain.connect() as conn:
        found = conn.exec_driver_sql(PROJECT_IN_SQL, {"id": project_id}).first()
    if found is None:
        raise no_project(project_id)
    return int(found[0] or 0), project_body(*found[2:])
