"""Warming the response cache: when the follower hears of a snapshot, every project's body is
rendered before it is asked for, while half the cache lasts (PostgreSQL only)."""

import asyncio
import gc
import logging
from functools import partial

from starlette.datastructures import State

from yiwang.api.bodies import PROJECTS_IN_SQL, project_body
from yiwang.api.cache import Rendered
from yiwang.api.snapshot import Snapshots, once_more_if_dropped

WARM_CHUNK = 200  # projects per statement: a few ms of the database's time, then a pause
WARM_SHARE = 0.5  # of the cache that warming may fill; the rest is for what is asked
log = logging.getLogger(__name__)


def warm_chunk(snapshots: Snapshots, seq: int, after: str) -> dict[str, bytes]:
    """The bodies of snapshot `seq`'s next projects after id `after`, by id; none when
    there are no more, or a newer snapshot was published."""
    with snapshots.engine.connect() as conn, conn.begin():
        # the planner's estimate for a chunk passes jit_above_cost, and compiling the query
        # would cost more than running it
        conn.exec_driver_sql("SET LOCAL jit = off")
        rows = conn.exec_driver_sql(PROJECTS_IN_SQL, {"after": after, "n": WARM_CHUNK})
        rows = rows.all()
    if not rows or int(rows[0][0] or 0) != seq:
        return {}
    return {project_id: project_body(*parts) for _, project_id, *parts in rows}


async def warm(snapshots: Snapshots, rendered: Rendered, seq: int) -> None:
    """Every project's body of snapshot `seq` rendered before it is asked for, a chunk at
    a time (ids in order), while the budget lasts. Requests meanwhile are served as ever:
    a body asked for before its chunk is rendered on its own. Rendered in a thread, kept
    by the event loop's (the cache is the loop's alone)."""
    after = ""
    while rendered.size < rendered.max_bytes * WARM_SHARE:
        chunk = partial(warm_chunk, snapshots, seq, after)
        bodies = await asyncio.to_thread(once_more_if_dropped, chunk)
        if not bodies:
            return
        for project_id, body in bodies.items():
            rendered.put((seq, f"/projects/{project_id}"), body)
        after = project_id


async def keep_warm(snapshots: Snapshots, rendered: Rendered, state: State) -> None:
    """Warm the cache for each snapshot the follower hears of, then say so (`state.warmed`)."""
    while True:
        seq = snapshots.follower.seq
        if seq is not None and seq != state.warmed:
            try:
                await warm(snapshots, rendered, seq)
            except Exception:  # warming only saves time: its failure must cost no more
                log.exception("warming the cache for snapshot %s stopped", seq)
            # what lives until the next snapshot is out of the cyclic collector's way
            # (a full collection would walk all of it, pausing the response it falls in),
            # once what is garbage already is collected
            gc.collect()
            gc.freeze()
            state.warmed = seq
        await asyncio.sleep(0.2)
