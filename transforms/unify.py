"""The unified tables, from accepted records and their links: pure DataFrame functions.

Every definition is the contract's (docs/contracts/unified-dataset.md); "today" is `as_of`.
The project table's figures and flags are the departments' declarations (`Plan`); the helpers
below (`count`, `money`, `extreme`, `day`) are what their computations are written with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from decimal import Decimal

import numpy as np
import pandas as pd

from schemas.unified import SINCE, TABLES
from transforms.figures import Plan


def _linked(links: pd.DataFrame, record_type: str, frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """`frame`'s records that are linked, with their `project_id`.

    `resolve` gives a record type's links in the order of its accepted records, so they are
    taken by position once the keys are seen to agree (millions of string lookups saved);
    links in any other order are looked up by key.
    """
    mine = links["record_type"].to_numpy() == record_type
    ids = links["project_id"].to_numpy(dtype=object)[mine]
    keys = links["record_key"].to_numpy(dtype=object)[mine]
    own = frame[key].to_numpy(dtype=object)
    if len(keys) != len(own) or not (keys == own).all():
        at = pd.Index(keys).get_indexer(own)
        ids = np.where(at >= 0, ids[at], None)
    linked = pd.notna(ids)
    return frame[linked].assign(project_id=ids[linked])


def _positions(links: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """The linked projects' ids in code-point order, and each link's place among them (-1:
    unlinked): one hashing pass over the links, and every per-project figure after it a sum
    over small integers rather than a group-by of millions of strings."""
    codes, uniques = pd.factorize(links["project_id"].to_numpy(dtype=object))
    order = np.array(sorted(range(len(uniques)), key=uniques.__getitem__), dtype=np.intp)
    place = np.zeros(len(uniques) + 1, dtype=np.intp)
    place[order] = np.arange(len(uniques))
    place[-1] = -1  # code -1 (unlinked) picks it
    return pd.Index(uniques[order], dtype=object, name="project_id"), place[codes]


def day(values: pd.Series) -> pd.Series:
    """Calendar dates (midnight, naive) from dates or Asia/Shanghai timestamps."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    return values.dt.normalize().astype("datetime64[ns]")


def count(at: np.ndarray, n: int) -> np.ndarray:
    """Rows per project, from each row's project place."""
    return np.bincount(at, minlength=n).astype("int64")


def money(at: np.ndarray, amounts: pd.Series, n: int) -> np.ndarray:
    """Exact sums in 元 per project: whole fen added as int64, one `Decimal` per project."""
    fen = np.fromiter(
        (int(v.scaleb(2)) if isinstance(v, Decimal) else 0 for v in amounts), "int64", len(at)
    )
    totals = np.zeros(n, dtype="int64")
    np.add.at(totals, at, fen)
    return np.array([Decimal(int(f)).scaleb(-2) for f in totals], dtype=object)


def extreme(at: np.ndarray, days: pd.Series, n: int, how: str) -> np.ndarray:
    """The earliest (`min`) or latest (`max`) day per project, NaT where it has none."""
    per = getattr(pd.Series(days.to_numpy()).groupby(at), how)()
    return per.reindex(range(n)).to_numpy(dtype="datetime64[ns]")


def _joined(flags: pd.DataFrame) -> pd.Series:
    """The names of the true columns, in column order, comma-separated ("" when none)."""
    text = pd.Series("", index=flags.index, dtype=object)
    for name in flags.columns:
        text = text + np.where(flags[name].to_numpy(dtype=bool), name + ",", "")
    return text.str.rstrip(",").astype(object)


class Projects:
    """The projects being built, in `ids` order, and every department's linked records placed
    on them: what a figure's `compute` and a flag's `raises` read."""

    def __init__(
        self, accepted: dict[str, pd.DataFrame], links: pd.DataFrame, as_of: dt.date
    ) -> None:
        self.accepted, self.links = accepted, links
        self.today = pd.Timestamp(as_of)
        self.ids, self.place = _positions(links)
        self.n = len(self.ids)
        self.table = pd.DataFrame({"project_id": self.ids}, index=self.ids)
        self._linked: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
        self._keys: dict[str, pd.Index] = {}  # linked records' keys, for `through`

    def linked(self, record_type: str, key: str) -> tuple[pd.DataFrame, np.ndarray]:
        """The linked records of a type, with their `project_id`, and each one's project place."""
        if record_type not in self._linked:
            rows = _linked(self.links, record_type, self.accepted[record_type], key)
            self._linked[record_type] = rows, self.ids.get_indexer(rows["project_id"])
        return self._linked[record_type]

    def through(
        self, frame: pd.DataFrame, field: str, record_type: str, key: str
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The rows of `frame` whose `field` names a linked record of `record_type` (a report
        its permit): those rows, each one's place among those records, and its project place."""
        named, at = self.linked(record_type, key)
        if record_type not in self._keys:
            self._keys[record_type] = pd.Index(named[key].to_numpy(dtype=object))
        found = self._keys[record_type].get_indexer(frame[field].to_numpy(dtype=object))
        return frame[found >= 0], found[found >= 0], at[found[found >= 0]]


def unified(
    accepted: dict[str, pd.DataFrame], links: pd.DataFrame, as_of: dt.date, plan: Plan
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The project table and the tables the departments fill on their own, from one
    `Projects`: what both read (planning's united parcels, the linked records of each type) is
    worked out once a night."""
    ps = Projects(accepted, links, as_of)
    return _project_table(ps, plan), _own_tables(ps, plan)


def project_table(
    accepted: dict[str, pd.DataFrame], links: pd.DataFrame, as_of: dt.date, plan: Plan
) -> pd.DataFrame:
    """The project table alone (`unified` gives it with the departments' own tables)."""
    return _project_table(Projects(accepted, links, as_of), plan)


def _project_table(ps: Projects, plan: Plan) -> pd.DataFrame:
    """One row per linked project: each declared figure's columns, `X-` projects named after
    the record anchoring them, the declared flags, and which systems have a record linked."""
    accepted, links = ps.accepted, ps.links
    p = ps.table  # each figure's columns land here: later figures and the flags read them
    for figure in plan.figures:
        for column, values in figure.compute(ps).items():
            p[column] = values
    is_x = p.index.str.startswith("X-")
    for record_type, key, works in plan.anchors:  # what the anchoring record says
        anchors = accepted[record_type].set_index(key)
        anchor = p.index[is_x].str[2:]
        for out, src in (
            ("project_name", works.name),
            ("region_code", works.region),
            ("owner_unit_name", works.owner_name),
            ("owner_unit_code", works.owner_code),
        ):
            p.loc[is_x, out] = anchors[src].reindex(anchor).to_numpy()
    raised = pd.DataFrame({f.code: np.asarray(f.raises(ps), dtype=bool) for f in plan.flags})
    p["risk_flags"] = _joined(raised.set_axis(p.index))
    systems = links["source_system"].to_numpy(dtype=object)
    present = {}
    for system in sorted(set(systems)):
        where = ps.place[(systems == system) & (ps.place >= 0)]
        present[system] = np.bincount(where, minlength=ps.n) > 0
    p["source_systems"] = _joined(pd.DataFrame(present, index=p.index))
    p["as_of_date"] = ps.today
    columns = TABLES["project"].to_schema().columns
    p = p.reindex(columns=list(columns))  # a department taking no part: its columns null
    for col, spec in columns.items():
        if str(spec.dtype) == "Int64":
            p[col] = p[col].astype("Int64")
        elif str(spec.dtype) == "object":
            p[col] = p[col].astype(object).where(p[col].notna(), None)
        elif str(spec.dtype) == "datetime64[ns]":
            p[col] = pd.to_datetime(p[col]).astype("datetime64[ns]")
        elif str(spec.dtype) == "string[python]":
            p[col] = p[col].astype("string[python]")
    return p.reset_index(drop=True)[list(columns)]


def _own_tables(ps: Projects, plan: Plan) -> dict[str, pd.DataFrame]:
    """Every table the departments fill on their own; a table of a department taking no part
    is published empty."""
    computed = {t.table: t.compute(ps) for t in plan.tables}
    out = {}
    for name in SINCE:
        columns = TABLES[name].to_schema().columns
        frame = computed.get(name)
        if frame is None:
            frame = pd.DataFrame(
                {c: pd.Series([], dtype=_empty(spec.dtype)) for c, spec in columns.items()}
            )
        out[name] = frame.reset_index(drop=True)[list(columns)]
    return out


def _empty(dtype) -> str:
    kind = str(dtype)
    return "string[python]" if kind.startswith("str") else kind


def spot_check_table(
    projects: pd.DataFrame, as_of: dt.date, published: pd.DataFrame | None = None
) -> pd.DataFrame:
    """This month's 双随机 draw (kept as published if it exists) and every earlier one."""
    period = f"{as_of:%Y-%m}"
    done = (
        published
        if published is not None
        else pd.DataFrame(columns=["period", "project_id", "draw_rank", "draw_seed"])
    )
    if (done["period"] == period).any():
        return done.reset_index(drop=True)
    eligible = sorted(projects.loc[projects["status"] == "在建", "project_id"])
    drawn = draw(period, eligible)
    return pd.concat([done, drawn], ignore_index=True).astype({"draw_rank": "int64"})


def draw_seed(period: str, eligible: list[str]) -> str:
    """SHA-256 of the period and the sorted eligible ids, one per line after the period."""
    return hashlib.sha256("\n".join([period, *sorted(eligible)]).encode()).hexdigest()


def draw(period: str, eligible: list[str]) -> pd.DataFrame:
    """5% of `eligible` (rounded up, at least one), drawn with the published seed.

    Re-draw: `random.Random(int(seed, 16)).sample(sorted(eligible), n)`; rank = draw order.
    """
    if not eligible:
        return pd.DataFrame(columns=["period", "project_id", "draw_rank", "draw_seed"])
    seed = draw_seed(period, eligible)
    n = max(1, math.ceil(0.05 * len(eligible)))
    chosen = random.Random(int(seed, 16)).sample(sorted(eligible), n)
    return pd.DataFrame(
        {
            "period": period,
            "project_id": chosen,
            "draw_rank": np.arange(1, n + 1),
            "draw_seed": seed,
        }
    )


def unit_scorecard(
    accepted: dict[str, pd.DataFrame], links: pd.DataFrame, projects: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """红黑榜: every unit that is owner, entrusted unit or contractor on a live record."""
    today = pd.Timestamp(as_of)
    reg = accepted["project"]
    permits = _linked(links, "permit", accepted["permit"], "permitNo")
    roles = pd.concat(
        [
            pd.DataFrame(
                {
                    "unit_code": reg["xmdwdm"],
                    "unit_name": reg["xmdw"],
                    "role": "owner",
                    "project_id": reg["xmdm"],
                }
            ),
            pd.DataFrame(
                {
                    "unit_code": reg["tgdwdm"],
                    "unit_name": reg["tgdw"],
                    "role": "entrusted",
                    "project_id": reg["xmdm"],
                }
            ),
            pd.DataFrame(
                {
                    "unit_code": accepted["permit"]["buildUnitCreditCode"],
                    "unit_name": accepted["permit"]["buildUnit"],
                    "role": "owner",
                    "project_id": accepted["permit"]["permitNo"].map(
                        permits.set_index("permitNo")["project_id"]
                    ),
                }
            ),
            pd.DataFrame(
                {
                    "unit_code": accepted["permit"]["contractorCreditCode"],
                    "unit_name": accepted["permit"]["contractor"],
                    "role": "contractor",
                    "project_id": accepted["permit"]["permitNo"].map(
                        permits.set_index("permitNo")["project_id"]
                    ),
                }
            ),
        ],
        ignore_index=True,
    ).dropna(subset=["unit_code"])
    roles = roles.astype({"unit_code": object, "unit_name": object, "project_id": object})
    # one name per unit: the most frequent, ties to the smallest (deterministic)
    names = (
        roles.groupby(["unit_code", "unit_name"])
        .size()
        .reset_index(name="n")
        .sort_values(["unit_code", "n", "unit_name"], ascending=[True, False, True])
    )
    card = names.drop_duplicates("unit_code").set_index("unit_code")[["unit_name"]]
    card["roles"] = roles.groupby("unit_code")["role"].agg(lambda s: ",".join(sorted(set(s))))
    unit_projects = roles.dropna(subset=["project_id"])[
        ["unit_code", "project_id"]
    ].drop_duplicates()
    card["project_count"] = (
        unit_projects.groupby("unit_code").size().reindex(card.index).fillna(0).astype("int64")
    )

    inspections = accepted["inspection"].merge(permits[["permitNo", "project_id"]], on="permitNo")
    inspections = inspections.assign(day=day(inspections["inspectDate"]))
    open_stop = inspections[
        (inspections["result"] == "停工整改") & inspections["rectifiedAt"].isna()
    ]
    findings = _linked(links, "finding", accepted["finding"], "findingId")
    overdue = findings[(findings["status"] != "已整改") & (day(findings["deadline"]) < today)]
    flagged = projects.set_index("project_id")["risk_flags"]

    def per_unit(frame: pd.DataFrame) -> pd.Series:
        """Rows of `frame` over each unit's projects: its rows counted a project, then summed
        over the unit's projects, rather than every row joined to every unit."""
        rows = unit_projects["project_id"].map(frame["project_id"].value_counts()).fillna(0)
        per = rows.groupby(unit_projects["unit_code"]).sum()
        return per.reindex(card.index).fillna(0).astype("int64")

    card["open_stop_work_count"] = per_unit(open_stop)
    card["overdue_finding_count"] = per_unit(overdue)
    slipped = flagged[flagged.str.contains("SCHEDULE_SLIP")].index.to_frame(
        index=False, name="project_id"
    )
    card["slipped_project_count"] = per_unit(slipped)

    black_stop = per_unit(open_stop[open_stop["day"] < today - pd.Timedelta(days=30)]) > 0
    black_finding = per_unit(overdue[overdue["issueType"].isin(["违规支付", "招投标违规"])]) > 0
    any_flag = per_unit(flagged[flagged != ""].index.to_frame(index=False, name="project_id")) > 0
    recent = inspections[
        (inspections["day"] >= today - pd.Timedelta(days=365)) & (inspections["day"] < today)
    ]
    not_passed = per_unit(recent[recent["result"] != "合格"]) > 0
    any_finding = per_unit(findings) > 0
    red = (card["project_count"] >= 2) & ~any_flag & ~not_passed & ~any_finding
    black = black_stop | black_finding
    card["list"] = np.where(black, "black", np.where(red, "red", None))
    reasons = []
    for b_stop, b_find, is_red in zip(black_stop, black_finding, red & ~black, strict=True):
        said = [
            w
            for w, on in (
                ("open 停工整改 older than 30 days", b_stop),
                ("overdue 违规支付/招投标违规 finding", b_find),
            )
            if on
        ]
        if is_red:
            said = ["≥2 projects, no risk flag, only 合格 inspections in 365 days, no findings"]
        reasons.append("; ".join(said) or None)
    card["list_reasons"] = reasons
    card = card.reset_index()
    for col in ("unit_code", "unit_name", "roles", "list", "list_reasons"):
        card[col] = card[col].astype("string[python]")
    return card[list(TABLES["unit_scorecard"].to_schema().columns)]
