"""/changes: the change feed since a run, in order, a keyset page at a time."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import Connection, select, tuple_

from yiwang.api.bodies import row
from yiwang.api.models import GONE, ChangePage, answers
from yiwang.api.routes.shared import GUARDS, Cache, Reader
from yiwang.api.snapshot import read
from yiwang.store.changes import TooOld, since_seq
from yiwang.store.tables import change, published

L = published["publish_run"]
router = APIRouter(dependencies=GUARDS)


@router.get("/changes", response_model=ChangePage, responses={**answers(), **GONE})
async def changes(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    since: Annotated[
        str,
        Query(max_length=200, pattern=r"^[^\x00-\x1f]+$", description="the run last read"),
    ],
    after: Annotated[
        str | None, Query(pattern=r"^\d{1,18}:\d{1,18}$", description="keyset: `next`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="page size")] = 1000,
) -> Response:
    """Every change published after run `since`, in publication order: `insert`, `update`
    (with the previous row hash) or `delete`, each with the row's key and the new row. Follow
    `next` until it is null; `latest_run` is then the `since` of the next visit. 410 when the
    feed no longer reaches back to `since`: read the snapshot again (an export, or the
    listings), then follow from its run."""

    def build(conn: Connection) -> dict[str, Any]:
        try:
            start = since_seq(conn, since)
        except TooOld as gone:
            raise HTTPException(410, str(gone)) from None
        where = [change.c.seq > start]
        if after:
            seq, ordinal = (int(part) for part in after.split(":"))
            where.append(tuple_(change.c.seq, change.c.ordinal) > tuple_(seq, ordinal))
        query = (
            select(change).where(*where).order_by(change.c.seq, change.c.ordinal).limit(limit + 1)
        )
        rows = read(conn, query)
        runs = read(conn, select(L.c.seq, L.c.run_id, L.c.as_of_date).where(L.c.seq > start))
        items = [_item(r) for r in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        head = conn.execute(select(L.c.run_id).order_by(L.c.seq.desc()).limit(1)).scalar()
        return {
            "since": since,
            "latest_run": head,
            "publications": [row(r) for r in runs],
            "items": items,
            "next": f"{last['seq']}:{last['ordinal']}" if last else None,
        }

    return await responses.served(request, snapshots.in_one_snapshot(build))


def _item(r) -> dict[str, Any]:
    out = {k: r[k] for k in ("seq", "ordinal", "run_id", "table_name", "change_type")}
    out["key"] = json.loads(r["key"])
    out["row_hash"], out["previous_row_hash"] = r["row_hash"], r["previous_row_hash"]
    out["row"] = json.loads(r["row"]) if r["row"] is not None else None
    return out
