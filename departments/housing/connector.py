"""住建 supervision platform (contracts/departments/housing.md): OAuth2, cursors, tombstones."""

from __future__ import annotations

from connectors.core import Connector, Cursor, JsonItems, OAuth2ClientCredentials, Stream

ITEMS = JsonItems(items=("items",))

# stream name -> (resource path, record type, key, fields, epoch-ms fields)
RESOURCES = {
    "permits": (
        "permits", "permit", "permitNo",
        ("permitNo", "projectCode", "projectName", "buildUnit", "buildUnitCreditCode",
         "contractor", "contractorCreditCode", "contractAmount", "area", "issueDate",
         "regionCode", "modifiedAt"),
        ("issueDate", "modifiedAt"),
    ),
    "progress_reports": (
        "progress-reports", "progress_report", "reportId",
        ("reportId", "permitNo", "period", "completionRate", "reportedAt", "modifiedAt"),
        ("reportedAt", "modifiedAt"),
    ),
    "inspections": (
        "inspections", "inspection", "inspectionId",
        ("inspectionId", "permitNo", "inspectDate", "category", "result", "hazardCount",
         "rectifiedAt", "modifiedAt"),
        ("inspectDate", "rectifiedAt", "modifiedAt"),
    ),
    "acceptances": (
        "acceptances", "acceptance", "filingNo",
        ("filingNo", "permitNo", "acceptDate", "result", "modifiedAt"),
        ("acceptDate", "modifiedAt"),
    ),
}  # fmt: skip


def _streams() -> tuple[Stream, ...]:
    records, tombstones = [], []
    for name, (resource, record_type, key, fields, stamps) in RESOURCES.items():
        common = {"paginator": Cursor(), "format": ITEMS, "version": "modifiedAt"}
        records.append(
            Stream(
                name, record_type, f"/openapi/v3/{resource}", key, fields, epoch_ms=stamps, **common
            )
        )
        tombstones.append(
            Stream(
                f"{name}_deleted",
                "deletion",
                "/openapi/v3/deleted",
                "key",
                ("key", "deletedAt", "modifiedAt"),
                epoch_ms=("deletedAt", "modifiedAt"),
                params={"resource": resource},
                deletes=name,
                **common,
            )
        )
    return (*records, *tombstones)


connector = Connector(
    name="housing",
    title="Housing and construction supervision (住建 工程建设监管平台)",
    conn_id="housing_api",
    auth=OAuth2ClientCredentials,
    rate_per_s=10,  # the contract's limit; its clients pace under it (`ARRIVAL_JITTER_S`)
    clients=2,  # two streams read at once under Airflow, each within half that limit
    streams=_streams(),
)
