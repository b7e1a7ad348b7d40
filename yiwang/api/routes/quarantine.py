"""/quarantine: the records the hub received but could not accept, filtered, in pages.

The table has no key (a record without a readable key is quarantined too), so pages follow
(source_system, record_type, record_key, row_hash), null keys first on both stores: row_hash
is the SHA-256 of the whole row, so the order is total but for rows equal in everything, and
the cursor counts how many of those it has passed.
"""

import base64
import binascii
import json
import re
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import and_, or_, select

from departments.registry import systems
from yiwang.api.bodies import row
from yiwang.api.models import QuarantinePage, answers
from yiwang.api.routes.shared import GUARDS, PRINTABLE, Cache, Limit, Reader
from yiwang.api.snapshot import read
from yiwang.store.tables import published

Q = published["quarantine"]
ORDER = (Q.c.source_system, Q.c.record_type, Q.c.record_key, Q.c.row_hash)
System = StrEnum("System", {s: s for s in systems()})  # the departments' systems
router = APIRouter(dependencies=GUARDS)

Cursor = Annotated[
    str | None,
    Query(
        max_length=4000,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="opaque cursor: the `next` of the previous page",
    ),
]


@router.get("/quarantine", response_model=QuarantinePage, responses=answers())
async def quarantine(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    limit: Limit = 50,
    after: Cursor = None,
    source_system: System | None = None,
    record_type: Annotated[str | None, Query(max_length=50, pattern=PRINTABLE)] = None,
    record_key: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
    reason: Annotated[
        str | None, Query(max_length=200, pattern=PRINTABLE, description="reasons contain")
    ] = None,
) -> Response:
    """Quarantined records with every rule each broke, in (source_system, record_type,
    record_key) order; `next` is the `after` of the next page."""
    where = []
    if source_system:
        where.append(Q.c.source_system == source_system.value)
    if record_type:
        where.append(Q.c.record_type == record_type)
    if record_key:
        where.append(Q.c.record_key == record_key)
    if reason:
        where.append(Q.c.reasons.contains(reason, autoescape=True))
    passed, seen = (None, 0) if after is None else _decoded(after)
    if passed is not None:
        where.append(_at_or_after(passed))
    query = (
        select(Q)
        .where(and_(True, *where))
        .order_by(*ORDER[:2], Q.c.record_key.asc().nulls_first(), ORDER[3])
        .offset(seen)
        .limit(limit + 1)
    )
    render = snapshots.in_one_snapshot(lambda conn: _page(read(conn, query), limit, passed, seen))
    return await responses.served(request, render)


def _page(rows, limit: int, passed: tuple | None, seen: int) -> dict[str, Any]:
    shown = rows[:limit]
    if len(rows) <= limit:
        return {"items": [row(r) for r in shown], "next": None}
    last = _key(shown[-1])
    same = sum(1 for r in shown if _key(r) == last) + (seen if last == passed else 0)
    return {"items": [row(r) for r in shown], "next": _encoded(last, same)}


def _key(found) -> tuple:
    return tuple(found[c.name] for c in ORDER)


def _at_or_after(key: tuple):
    """Rows at `key` or after it in page order (null record keys first)."""

    def eq(column, value):
        return column.is_(None) if value is None else column == value

    def gt(column, value):
        return column.is_not(None) if value is None else column > value

    later = [
        and_(*(eq(c, v) for c, v in zip(ORDER[:i], key[:i], strict=True)), gt(ORDER[i], key[i]))
        for i in range(len(ORDER))
    ]
    return or_(*later, and_(*(eq(c, v) for c, v in zip(ORDER, key, strict=True))))


def _encoded(key: tuple, seen: int) -> str:
    raw = json.dumps([*key, seen], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decoded(cursor: str) -> tuple[tuple, int]:
    """The key and count a cursor of `_encoded` holds; 422 for anything else."""
    try:
        *key, seen = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):  # not base64, not JSON, not a list
        key, seen = [], None
    texts = [v for i, v in enumerate(key) if v is not None or i != 2]  # a key may be null
    if (
        len(key) == len(ORDER)
        and all(isinstance(v, str) and re.fullmatch(PRINTABLE, v) for v in texts)
        and type(seen) is int
        and 1 <= seen <= 10**9  # an offset either store takes
    ):
        return tuple(key), seen
    raise RequestValidationError(
        [
            {
                "type": "cursor",
                "loc": ("query", "after"),
                "msg": "not a cursor of this API: give the `next` of the previous page",
                "input": cursor,
            }
        ]
    )
