"""The published tables beside the projects: units (红黑榜), spot checks (双随机), the ledger."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from yiwang.api.bodies import row
from yiwang.api.models import Ledger, SpotChecks, UnitPage, answers
from yiwang.api.routes.shared import GUARDS, After, Cache, Limit, Reader
from yiwang.api.snapshot import read
from yiwang.store.tables import published

U, C, L = (published[t] for t in ("unit_scorecard", "spot_check", "publish_run"))
router = APIRouter(dependencies=GUARDS)


class ListName(StrEnum):
    red = "red"
    black = "black"


@router.get("/units", response_model=UnitPage, responses=answers())
async def units(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    limit: Limit = 50,
    after: After = None,
    list_name: Annotated[ListName | None, Query(alias="list")] = None,
) -> Response:
    """红黑榜: units in credit-code order, optionally only the red or the black list."""
    where = [U.c.list == list_name.value] if list_name else []
    items = snapshots.keyset_page(U, "unit_code", after, limit, where)
    return await responses.served(request, items)


@router.get("/spot-checks", response_model=SpotChecks, responses=answers())
async def spot_checks(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> Response:
    """双随机 draws (all months, or one), with the seed that re-derives each draw."""
    query = select(C).order_by(C.c.period, C.c.draw_rank)
    if period:
        query = query.where(C.c.period == period)
    items = snapshots.in_one_snapshot(lambda conn: {"items": [row(r) for r in read(conn, query)]})
    return await responses.served(request, items)


@router.get("/ledger", response_model=Ledger, responses=answers())
async def ledger(request: Request, snapshots: Reader, responses: Cache) -> Response:
    """Every publication, oldest first, with its content and chain hashes."""
    query = select(L).order_by(L.c.seq)
    items = snapshots.in_one_snapshot(lambda conn: {"items": [row(r) for r in read(conn, query)]})
    return await responses.served(request, items)
