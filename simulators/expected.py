"""What a correct connector must end up holding, per stream, straight from the world.

The conformance kit compares a connector's stored records (latest version per key) with this;
each department's simulator declares which world table a stream serves (`Served`).
"""

from __future__ import annotations

import pandas as pd

from departments.registry import department, extend_world
from simulators.declare import Served
from simulators.world import World
from simulators.world import calendar as cal


def served(system: str, stream: str) -> Served:
    sim = department(system).simulator
    found = [s for s in (sim.served if sim else ()) if s.stream == stream]
    if not found:
        raise KeyError(f"{system}'s simulator serves no stream {stream!r}")
    return found[0]


def expected_records(world: World, system: str, stream: str, day: int) -> pd.DataFrame:
    """`_key` and `_version` (as the framework renders versions) of every record served."""
    extend_world(world)
    deletes = department(system).connector.stream(stream).deletes
    if deletes is not None:  # a tombstone stream: the keys deleted from the stream it names
        resource = served(system, deletes).deleted
        gone = world.tables["deleted"]
        gone = gone[(gone["resource"] == resource) & (gone["_ts"] <= cal.end_of_day_ms(day))]
        gone = gone.drop_duplicates("key", keep="last")
        return pd.DataFrame({"_key": gone["key"], "_version": gone["modifiedAt"].map(_ms)})
    spec = served(system, stream)
    rows = world.as_of(spec.table, day)
    if spec.deleted is not None:
        rows = rows[~rows["_key"].isin(world.deleted_keys(spec.deleted, day))]
    if spec.serves is not None:
        rows = rows[spec.serves(rows)]
    versions = "" if spec.version is None else rows[spec.version]
    if spec.epoch_ms:
        versions = rows[spec.version].map(_ms)
    return pd.DataFrame({"_key": rows["_key"], "_version": versions}).reset_index(drop=True)


def _ms(v) -> str:
    return f"{int(v):015d}"
