"""One pandera model per table of the unified dataset (docs/contracts/unified-dataset.md).

The descriptions are the contract's definitions: `yiwang schemas dictionary` renders them as
docs/data-dictionary.md, and a test holds the columns to the contract's tables, so the
promise and the code cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

import schemas.checks  # noqa: F401 - registers the shared checks

Money = object  # Decimal, 元, NUMERIC(18,2)
Date = pa.DateTime
Timestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]

# Which systems, record types and risk flags exist is the departments' declaration
# (`departments.registry`); the quality gate holds the published values to it. The models
# hold what every value must look like whatever the departments are.
ROLES = ("contractor", "entrusted", "owner")


class _Table(pa.DataFrameModel):
    class Config:
        strict = True  # a published table holds exactly its columns
        coerce = False


def _f(description: str, nullable: bool = False, **checks) -> pa.Field:
    return pa.Field(nullable=nullable, description=description, **checks)


# numeric(p, s) other than money: exact `Decimal`s with `scale` places
Decimal6 = object  # numeric(9,6): degrees
Decimal2 = object  # numeric(5,2): a percentage


def _later(description: str, since: str = "1.1", scale: int | None = None, **checks) -> pa.Field:
    """A column the contract added in a later version: nullable (null while the department
    filling it takes no part in a snapshot), and marked, so the canonical form of a row that
    has none of them is its earlier version's (`yiwang.store.canonical`)."""
    metadata = {"since": since} | ({"scale": scale} if scale is not None else {})
    return pa.Field(nullable=True, description=description, metadata=metadata, **checks)


def _comma_list_of(series: pd.Series, allowed: tuple[str, ...] | re.Pattern) -> pd.Series:
    """Sorted, distinct, comma-separated values, each in `allowed` (or matching it)."""

    def known(part: str) -> bool:
        return bool(allowed.fullmatch(part)) if isinstance(allowed, re.Pattern) else part in allowed

    def ok(v) -> bool:
        if v == "":
            return True
        parts = v.split(",")
        return parts == sorted(set(parts)) and all(known(p) for p in parts)

    return series.map(ok).astype(bool)


FLAG_CODE = re.compile(r"[A-Z][A-Z_]*")
SYSTEM_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Project(_Table):
    """`project` — one row per real-world project."""

    project_id: Series[str] = _f(
        "the project code when the registry knows the project; otherwise `X-` followed by an id derived from the anchoring record (e.g. `X-320506202305120101` from a permit number); stable from run to run while the source records behind it stay",
        unique=True,
    )
    project_code: Series[str] = _f("registry project code; null for `X-` projects", True)
    project_name: Series[str] = _f(
        "registry name; for `X-` projects the name from the anchoring record", True
    )
    region_code: Series[str] = _f("6-digit division code", True, division_code=())
    owner_unit_name: Series[str] = _f("owner unit (建设单位)", True)
    owner_unit_code: Series[str] = _f("owner unit credit code", True)
    entrusted_unit_name: Series[str] = _f(
        "entrusted management unit (托管单位), null when not entrusted", True
    )
    entrusted_unit_code: Series[str] = _f(
        "entrusted unit credit code, null when not entrusted", True
    )
    approval_type: Series[str] = _f(
        "`审批` | `核准` | `备案`", True, one_of={"values": ("审批", "核准", "备案")}
    )
    status: Series[str] = _f(
        "registry status; null for `X-` projects",
        True,
        one_of={"values": ("已批复", "在建", "已竣工", "已撤销")},
    )
    funding_source: Series[str] = _f("registry funding source", True)
    approved_investment: Series[Money] = _f(
        "latest approved total investment, 元", True, money_at_least={"minimum": 0}
    )
    approval_date: Series[Date] = _f("approval date, from the registry", True)
    planned_start_date: Series[Date] = _f("planned start date, from the registry", True)
    planned_end_date: Series[Date] = _f("planned completion date, from the registry", True)
    permit_count: Series[int] = _f("live construction permits linked", at_least={"minimum": 0})
    contract_amount: Series[Money] = _f(
        "sum of those permits' contract amounts, 元", money_at_least={"minimum": 0}
    )
    paid_amount: Series[Money] = _f("sum of linked treasury vouchers, reversals included (net), 元")
    payment_count: Series[int] = _f("linked vouchers, reversals included", at_least={"minimum": 0})
    first_payment_date: Series[Date] = _f("first pay date over linked vouchers", True)
    last_payment_date: Series[Date] = _f("last pay date over linked vouchers", True)
    progress_rate: Series[float] = _f(
        "contract-amount-weighted mean, over live permits with a report, of each permit's latest reported completion rate (latest `period`, then latest `reportedAt`); null without reports",
        True,
        within={"low": 0, "high": 100},
    )
    progress_period: Series[str] = _f("latest `period` among those reports", True, month=())
    inspection_count: Series[int] = _f("inspections on linked permits", at_least={"minimum": 0})
    open_stop_work_count: Series[int] = _f(
        "of those, `停工整改` with no `rectifiedAt`", at_least={"minimum": 0}
    )
    completion_date: Series[Date] = _f(
        "latest `合格` acceptance date when every live permit has a `合格` acceptance; else null",
        True,
    )
    finding_count: Series[int] = _f("linked audit findings", at_least={"minimum": 0})
    open_finding_count: Series[int] = _f("linked findings not `已整改`", at_least={"minimum": 0})
    finding_amount: Series[Money] = _f(
        "sum of linked findings' amounts, 元", money_at_least={"minimum": 0}
    )
    risk_flags: Series[str] = _f(
        "sorted, comma-separated risk codes (NO_APPROVAL, OVER_BUDGET, PAID_BEFORE_PERMIT, SCHEDULE_SLIP, STOP_WORK_OPEN, AUDIT_OVERDUE; since 1.1 NO_PLANNING_PERMIT, COMPLAINT_BACKLOG; since 1.2 FORECAST_OVERRUN, FORECAST_SLIP) as of `as_of_date`; empty string when none"
    )
    source_systems: Series[str] = _f(
        "sorted, comma-separated: `audit`, `drc`, `housing`, `treasury` (since 1.1 `hotline`, `planning`) — which systems have a live record linked"
    )
    as_of_date: Series[Date] = _f("the business date the snapshot describes")
    # Version 1.1 (planning and the hotline): null while the department takes no part
    planning_permit_count: Series[pd.Int64Dtype] = _later(
        "linked planning permits (land-use and works) with `status` `有效`",
        at_least={"minimum": 0},
    )
    land_area: Series[Money] = _later(
        "sum of the `landArea` of those land-use permits, m²", money_at_least={"minimum": 0}
    )
    longitude: Series[Decimal6] = _later(
        "a point inside the project's parcels (the union of its valid land-use permits' "
        "geometries in CRS84; a representative point, not a centroid), longitude; null when "
        "none has a geometry",
        scale=6,
    )
    latitude: Series[Decimal6] = _later("that point's latitude", scale=6)
    complaint_count: Series[pd.Int64Dtype] = _later(
        "linked work orders of category `投诉` or `举报`, duplicates (`【重复工单】`) excluded",
        at_least={"minimum": 0},
    )
    open_complaint_count: Series[pd.Int64Dtype] = _later(
        "of those, `status` `已受理` or `办理中`", at_least={"minimum": 0}
    )
    satisfaction_rate: Series[Decimal2] = _later(
        "100 × (`满意` + `基本满意`) ÷ linked orders with a `satisfaction`; null when none",
        scale=2,
    )

    # Version 1.2 (the hub's forecasts, additions of its own): null for a project whose
    # works have not begun or are complete, and while the registry or housing takes no part
    forecast_completion_p50: Series[Date] = _later(
        "P50 (median) forecast of the completion date, for a project whose works have begun "
        "and are not complete",
        since="1.2",
    )
    forecast_completion_p80: Series[Date] = _later(
        "P80 forecast of the completion date: four in five projects complete by it",
        since="1.2",
    )
    forecast_completion_method: Series[str] = _later(
        "the method behind the completion forecasts: `earned schedule`, `reference class` or "
        "`quantile model`",
        since="1.2",
        one_of={"values": ("earned schedule", "reference class", "quantile model")},
    )
    forecast_cost_p50: Series[Money] = _later(
        "P50 forecast of the final cost (what the project will have paid 120 days after its "
        "completion), rounded up to whole 元",
        since="1.2",
        money_at_least={"minimum": 0},
    )
    forecast_cost_p80: Series[Money] = _later(
        "P80 forecast of the final cost, rounded up to whole 元",
        since="1.2",
        money_at_least={"minimum": 0},
    )
    forecast_cost_method: Series[str] = _later(
        "the method behind the cost forecasts: `earned value`, `reference class` or "
        "`quantile model`",
        since="1.2",
        one_of={"values": ("earned value", "reference class", "quantile model")},
    )

    @pa.check("risk_flags", name="flags_from_the_contract")
    def _flags(cls, s: pd.Series) -> pd.Series:
        return _comma_list_of(s, FLAG_CODE)

    @pa.check("source_systems", name="systems_from_the_contract")
    def _systems(cls, s: pd.Series) -> pd.Series:
        return _comma_list_of(s, SYSTEM_NAME)


class SourceRecord(_Table):
    """`source_record` — lineage: every live, valid source record and the project it belongs to."""

    source_system: Series[str] = _f("`drc` | `treasury` | `housing` | `audit`")
    record_type: Series[str] = _f(
        "`project` (drc) | `voucher` (treasury) | `permit`, `progress_report`, `inspection`, `acceptance` (housing) | `finding` (audit)"
    )
    record_key: Series[str] = _f(
        "the source's own key (`xmdm`, `凭证号`, `permitNo`, `reportId`, `inspectionId`, `filingNo`, `findingId`)"
    )
    project_id: Series[str] = _f(
        "the project it belongs to; null when the evidence does not single out one project — a wrong link is worse than none",
        True,
    )
    link_method: Series[str] = _f(
        "how it was linked, in words a data engineer can read (e.g. `project_code`, `permit`, `name+unit`)"
    )
    link_confidence: Series[float] = _f("0..1", within={"low": 0, "high": 1})

    class Config:
        unique = ("source_system", "record_type", "record_key")


class Quarantine(_Table):
    """`quarantine` — every record the hub received but could not accept."""

    source_system: Series[str] = _f("as in `source_record`")
    record_type: Series[str] = _f("as in `source_record`")
    record_key: Series[str] = _f("the key, when one could be read; else null", True)
    reasons: Series[str] = _f("every rule it broke, in words a data engineer can act on")
    payload: Series[str] = _f(
        "the record as received (JSON, or the CSV line), with sensitive fields masked"
    )
    first_seen_run: Series[str] = _f("run id of the first run that quarantined this key")
    last_seen_run: Series[str] = _f("run id of the latest run that quarantined it")


class PublishRun(_Table):
    """`publish_run` — the ledger of publications."""

    run_id: Series[str] = _f("the run", unique=True)
    as_of_date: Series[Date] = _f("the business date published")
    published_at: Series[Timestamp] = _f(
        "when the snapshot was committed (timestamp with time zone)"
    )
    record_counts: Series[str] = _f(
        "JSON: received, accepted, quarantined, linked, per source and record type"
    )
    content_hash: Series[str] = _f(
        "SHA-256 over a canonical serialisation of this snapshot's tables",
        str_matches=r"^[0-9a-f]{64}$",
    )
    chain_hash: Series[str] = _f(
        "SHA-256 of (previous run's `chain_hash` + this `content_hash`)",
        str_matches=r"^[0-9a-f]{64}$",
    )


class UnitScorecard(_Table):
    """`unit_scorecard` — 红黑榜 of the units that run projects."""

    unit_code: Series[str] = _f(
        "credit code of a unit appearing as owner, entrusted unit or contractor on a live record",
        unique=True,
    )
    unit_name: Series[str] = _f("the unit's name")
    roles: Series[str] = _f("sorted, comma-separated: `contractor`, `entrusted`, `owner`")
    project_count: Series[int] = _f("projects the unit has a role in", at_least={"minimum": 0})
    open_stop_work_count: Series[int] = _f(
        "open `停工整改` inspections on its projects", at_least={"minimum": 0}
    )
    overdue_finding_count: Series[int] = _f(
        "`AUDIT_OVERDUE` findings on its projects", at_least={"minimum": 0}
    )
    slipped_project_count: Series[int] = _f(
        "its projects flagged `SCHEDULE_SLIP`", at_least={"minimum": 0}
    )
    list: Series[str] = _f(
        "`red`, `black` or null. Black: an open `停工整改` older than 30 days, or an `AUDIT_OVERDUE` finding of type `违规支付` or `招投标违规`. Red: at least 2 projects, none with a risk flag, no inspection other than `合格` in the 365 days before `as_of_date`, no findings",
        True,
        one_of={"values": ("red", "black")},
    )
    list_reasons: Series[str] = _f("why the unit is on its list", True)

    @pa.check("roles", name="roles_from_the_contract")
    def _roles(cls, s: pd.Series) -> pd.Series:
        return _comma_list_of(s, ROLES) & (s != "")


class SpotCheck(_Table):
    """`spot_check` — 双随机一公开 draws: each month 5% (rounded up, at least one) of the `在建` projects."""

    period: Series[str] = _f("the month drawn for, `YYYY-MM`", month=())
    project_id: Series[str] = _f("a drawn project")
    draw_rank: Series[int] = _f("order of the draw, from 1", at_least={"minimum": 1})
    draw_seed: Series[str] = _f(
        "SHA-256 of the period and the sorted list of eligible `project_id`s: anyone holding the list can re-draw",
        str_matches=r"^[0-9a-f]{64}$",
    )

    class Config:
        unique = ("period", "project_id")


class ProjectGeometry(_Table):
    """`project_geometry` — one row per project with at least one valid parcel (Version 1.1)."""

    project_id: Series[str] = _f("the project (`project.project_id`)", unique=True)
    geometry: Series[str] = _f(
        "GeoJSON `MultiPolygon` text in CRS84: the union of its valid land-use parcels, "
        "repaired, coordinates rounded to 6 decimals"
    )
    parcel_count: Series[int] = _f("its valid land-use parcels", at_least={"minimum": 1})


class WorkOrder(_Table):
    """`work_order` — every valid, live 12345 work order under `城乡建设/建筑施工/`, linked or
    not (Version 1.1). No personal data, ever."""

    order_no: Series[str] = _f("the order's `orderNo`", unique=True)
    project_id: Series[str] = _f("the project it is about; null when unlinked", True)
    category: Series[str] = _f("`投诉` | `举报` | `咨询` | `求助` | `建议`")
    topic: Series[str] = _f("classification path, under `城乡建设/建筑施工/`")
    accepted_at: Series[Timestamp] = _f("when the hotline accepted it")
    status: Series[str] = _f("`已受理` | `办理中` | `已办结` | `已回访`")
    closed_at: Series[Timestamp] = _f("when it was closed", True)
    satisfaction: Series[str] = _f("`满意` | `基本满意` | `不满意`; null until followed up", True)
    region_code: Series[str] = _f("6-digit division code (`320571`: 苏州工业园区)", True)
    title: Series[str] = _f("short title", True)


TABLES: dict[str, type[_Table]] = {
    "project": Project,
    "source_record": SourceRecord,
    "quarantine": Quarantine,
    "publish_run": PublishRun,
    "unit_scorecard": UnitScorecard,
    "spot_check": SpotCheck,
    "project_geometry": ProjectGeometry,
    "work_order": WorkOrder,
}
# the tables a later version of the contract added: left out of a snapshot's content hash
# while empty, so a store without those departments keeps its earlier hash
SINCE = {"project_geometry": "1.1", "work_order": "1.1"}
