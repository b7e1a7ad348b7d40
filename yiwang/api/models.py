"""The API's response bodies as pydantic models: for the OpenAPI document, and for tests that
hold real bodies to them.

The handlers serve JSON bytes rendered once per snapshot (`cache`, `bodies`), which FastAPI
passes on without validating; these models describe those bytes, they do not build them.
A published table's row model is derived from the table (`yiwang.store.tables.published`,
itself from `schemas.unified`), so its columns, nullability, descriptions and checks follow
the contract and the departments' declarations: money is an exact decimal string, dates ISO.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import BigInteger, Date, DateTime, Double, Table

from departments.registry import flags, systems
from schemas.unified import ROLES, TABLES
from yiwang.api.provenance import FIGURE_SOURCES
from yiwang.store.tables import Money, published

MONEY = r"^-?\d+\.\d{2}$"  # 元, exact to the fen: `str(Decimal)` of NUMERIC(18,2)
MONEY_AT_LEAST_0 = r"^\d+\.\d{2}$"
DATE = r"^\d{4}-\d{2}-\d{2}$"
# SQLite hands back timestamps without their zone, PostgreSQL with it: both are served
DATE_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?$"


def comma_list(words) -> str:
    """Sorted, distinct, comma-separated `words` (or none): how the tables list codes."""
    one = "|".join(re.escape(w) for w in sorted(words))
    return rf"^(?:(?:{one})(?:,(?:{one}))*)?$"


# columns holding comma-separated codes, and the codes they may hold
COMMA_LISTS = {"risk_flags": flags(), "source_systems": systems(), "roles": ROLES}
# the shared checks' shapes (`schemas.checks`) as patterns
CHECK_PATTERNS = {"division_code": r"^\d{6}$", "month": r"^\d{4}-\d{2}$"}


class Row(BaseModel):
    """A published row as served: every column, no other field (no `row_hash`)."""

    model_config = ConfigDict(extra="forbid")


def _column(table: Table, name: str) -> tuple[Any, Any]:
    """The type and field of column `name` of `table` as `bodies.row` serves it."""
    column = table.c[name]
    spec = TABLES[table.name].to_schema().columns.get(name)
    stats = {check.name: check.statistics for check in (spec.checks if spec else ())}
    extra: dict[str, Any] = {}
    kind: Any = str
    if isinstance(column.type, Money) and column.type.scale != 2:  # degrees: numeric(9,6)
        places = column.type.scale
        extra = {
            "pattern": rf"^-?\d+\.\d{{{places}}}$",
            "json_schema_extra": {"format": "decimal"},
            "examples": [f"{120.5:.{places}f}"],
        }
    elif isinstance(column.type, Money):
        floor = stats.get("money_at_least", {}).get("minimum")
        extra = {
            "pattern": MONEY if floor is None or Decimal(str(floor)) < 0 else MONEY_AT_LEAST_0,
            "json_schema_extra": {"format": "decimal"},
            "examples": ["12345.60"],
        }
    elif isinstance(column.type, DateTime):
        extra = {"pattern": DATE_TIME, "json_schema_extra": {"format": "date-time"}}
    elif isinstance(column.type, Date):
        extra = {"pattern": DATE, "json_schema_extra": {"format": "date"}}
    elif isinstance(column.type, BigInteger):
        kind = int
        extra = {"ge": stats["at_least"]["minimum"]} if "at_least" in stats else {}
    elif isinstance(column.type, Double):
        kind = float
        if "within" in stats:
            extra = {"ge": stats["within"]["low"], "le": stats["within"]["high"]}
    elif "one_of" in stats:
        kind = Literal[tuple(stats["one_of"]["values"])]
    elif name in COMMA_LISTS:
        extra = {"pattern": comma_list(COMMA_LISTS[name])}
    elif "str_matches" in stats:
        extra = {"pattern": stats["str_matches"]["pattern"]}
    elif matched := next((p for check, p in CHECK_PATTERNS.items() if check in stats), None):
        extra = {"pattern": matched}
    if extra:  # on the value itself, so a null passes where the column allows one
        kind = Annotated[kind, Field(**extra)]
    return (kind | None if column.nullable else kind), Field(description=column.comment)


def row_model(table_name: str, name: str, doc: str, columns=None) -> type[Row]:
    """A model of the rows of published table `table_name` as served (`columns`: which,
    default all but `row_hash`)."""
    table = published[table_name]
    shown = columns or [c.name for c in table.columns if c.name != "row_hash"]
    fields = {c: _column(table, c) for c in shown}
    return create_model(name, __base__=Row, __doc__=doc, __module__=__name__, **fields)


Project = row_model("project", "Project", "One real-world project (`project`).")
SourceRecord = row_model(
    "source_record", "SourceRecord", "A live, valid source record and its project link."
)
QuarantinedRecord = row_model(
    "quarantine", "QuarantinedRecord", "A record received but not accepted."
)
PublishRun = row_model("publish_run", "PublishRun", "A publication in the ledger, `seq` its order.")
UnitScore = row_model("unit_scorecard", "UnitScore", "A unit on the 红黑榜 (`unit_scorecard`).")
SpotCheck = row_model("spot_check", "SpotCheck", "A 双随机 draw (`spot_check`).")
PublishedSnapshot = row_model(
    "publish_run",
    "PublishedSnapshot",
    "The latest publication.",
    ["run_id", "as_of_date", "content_hash"],
)

Next = Annotated[
    str | None, Field(description="the `after` of the next page; null on the last page")
]


class ProjectPage(BaseModel):
    """Projects in `project_id` order."""

    items: list[Project]  # type: ignore[valid-type]
    next: Next


class UnitPage(BaseModel):
    """Units in credit-code order."""

    items: list[UnitScore]  # type: ignore[valid-type]
    next: Next


class QuarantinePage(BaseModel):
    """Quarantined records in (source_system, record_type, record_key) order."""

    items: list[QuarantinedRecord]  # type: ignore[valid-type]
    next: Annotated[
        str | None,
        Field(description="an opaque cursor: the `after` of the next page; null on the last"),
    ]


class SpotChecks(BaseModel):
    """Draws in (period, draw_rank) order."""

    items: list[SpotCheck]  # type: ignore[valid-type]


class Ledger(BaseModel):
    """Every publication, oldest first."""

    items: list[PublishRun]  # type: ignore[valid-type]


class Change(BaseModel):
    """One row of one table changed by a publication."""

    model_config = ConfigDict(extra="forbid")
    seq: int = Field(description="the publication's `publish_run.seq`")
    ordinal: int = Field(description="order within the publication")
    run_id: str = Field(description="the publication's run")
    table_name: str = Field(description="the published table changed")
    change_type: Literal["insert", "update", "delete"]
    key: dict[str, str | None] = Field(description="the row's key columns")
    row_hash: str | None = Field(description="the new row's hash; null for a delete")
    previous_row_hash: str | None = Field(description="the replaced row's; null for an insert")
    row: dict[str, Any] | None = Field(
        description="the new row, columns as stored (money and dates as text, without the "
        "snapshot's own `as_of_date` / `last_seen_run`); null for a delete"
    )


class Publication(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int
    run_id: str
    as_of_date: Annotated[str, Field(pattern=DATE)]


class ChangePage(BaseModel):
    """Changes after run `since`, in (seq, ordinal) order."""

    since: str
    latest_run: str = Field(description="the `since` of the next visit, once `next` is null")
    publications: list[Publication] = Field(description="the publications after `since`")
    items: list[Change]
    next: Annotated[
        str | None, Field(description="the `after` of the next page (`seq:ordinal`); null last")
    ]


class Figure(BaseModel):
    """Where one figure of a project comes from."""

    model_config = ConfigDict(extra="forbid")
    value: str | int | float | None = Field(
        description="the project's column, as in `project` (money an exact decimal string)"
    )
    rule: str = Field(description="the contract's definition of the column")
    computed_as: str = Field(description="how the department computes it")
    source_system: str = Field(description="the department it comes from")
    record_type: str = Field(description="the record type it is computed from")
    record_keys: list[str] = Field(description="the keys of this project's records of that type")


Figures = create_model(
    "Figures",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Each figure of the project, by column name.",
    __module__=__name__,
    **{name: (Figure, ...) for name in FIGURE_SOURCES},
)


class ProjectDetail(BaseModel):
    """One project, every source record linked to it, and each figure's provenance."""

    project: Project  # type: ignore[valid-type]
    source_records: list[SourceRecord] = Field(  # type: ignore[valid-type]
        description="in (source_system, record_type, record_key) order"
    )
    figures: Figures  # type: ignore[valid-type]


class Health(BaseModel):
    """Liveness and the published snapshot."""

    status: Literal["ok"]
    latest: PublishedSnapshot | None = Field(  # type: ignore[valid-type]
        description="the latest publication; null before the first"
    )
    cache_warm: bool = Field(description="this process has rendered the snapshot's projects")


class Quality(BaseModel):
    """Where the latest quality gate's Data Docs are."""

    data_docs: str = Field(description="path of the Data Docs' index.html on the server")
    exists: bool


class Problem(BaseModel):
    """A refusal: what was wrong, in words."""

    detail: str


class ValidationIssue(BaseModel):
    """One thing wrong with the request."""

    loc: list[str | int] = Field(description="where: `query` or `path`, then the parameter")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationProblem(BaseModel):
    """A request the API cannot answer as asked (a parameter malformed, or given twice)."""

    detail: list[ValidationIssue]


def answers(*, named: bool = False) -> dict[int | str, dict[str, Any]]:
    """The refusals a guarded route declares: 401 (no or an unknown token), 422 (a parameter
    malformed or repeated), 404 when its path names a thing; and 304 for an `If-None-Match`
    that still matches (`cache`)."""
    found: dict[int | str, dict[str, Any]] = {
        304: {"description": "Not Modified: the `ETag` given in `If-None-Match` still holds"},
        401: {"model": Problem, "description": "no bearer token, or one the API does not know"},
        422: {"model": ValidationProblem, "description": "a query parameter malformed or repeated"},
    }
    if named:
        found[404] = {"model": Problem, "description": "not in the published snapshot"}
    return found


GONE = {410: {"model": Problem, "description": "the change feed no longer reaches that run"}}
