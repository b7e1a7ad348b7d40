"""What a correct connector must end up holding, per stream, straight from the world.

The conformance kit compares a connector's stored records (latest version per key) with this.
"""

from __future__ import annotations

import pandas as pd

from simulators.world import World
from simulators.world import calendar as cal

# (system, stream) -> (world table, version field, housing resource or None)
STREAMS: dict[tuple[str, str], tuple[str, str | None, str | None]] = {
    ("drc", "projects"): ("drc", "gxsj", None),
    ("treasury", "vouchers"): ("vouchers", None, None),
    ("housing", "permits"): ("permits", "modifiedAt", "permits"),
    ("housing", "progress_reports"): ("reports", "modifiedAt", "progress-reports"),
    ("housing", "inspections"): ("inspections", "modifiedAt", "inspections"),
    ("housing", "acceptances"): ("acceptances", "modifiedAt", "acceptances"),
    ("audit", "findings"): ("findings", "lastModified", None),
}


def expected_records(world: World, system: str, stream: str, day: int) -> pd.DataFrame:
    """`_key` and `_version` (as the framework renders versions) of every record served."""
    if stream.endswith("_deleted"):
        table, _, resource = STREAMS[(system, stream.removesuffix("_deleted"))]
        gone = world.tables["deleted"]
        gone = gone[(gone["resource"] == resource) & (gone["_ts"] <= cal.end_of_day_ms(day))]
        gone = gone.drop_duplicates("key", keep="last")
        return pd.DataFrame({"_key": gone["key"], "_version": gone["modifiedAt"].map(_ms)})
    table, version, resource = STREAMS[(system, stream)]
    rows = world.as_of(table, day)
    if resource is not None:
        rows = rows[~rows["_key"].isin(world.deleted_keys(resource, day))]
    if table == "vouchers":
        rows = rows[rows["_pay_day"] >= cal.day(cal.TREASURY_FIRST_DAY)]
    versions = "" if version is None else rows[version]
    if version == "modifiedAt":
        versions = rows[version].map(_ms)
    return pd.DataFrame({"_key": rows["_key"], "_version": versions}).reset_index(drop=True)


def _ms(v) -> str:
    return f"{int(v):015d}"
