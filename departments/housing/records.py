"""住建 permits, progress reports, inspections, acceptances and tombstones (housing.md), typed."""

from __future__ import annotations

import pandas as pd
from pandera.typing import Series

from schemas.records import Money, Record, RecordType, Timestamp, optional, required

INSPECTION_CATEGORIES = ("质量", "安全", "文明施工")
INSPECTION_RESULTS = ("合格", "限期整改", "停工整改")
ACCEPTANCE_RESULTS = ("合格", "不合格")


class PermitRecord(Record):
    """住建 construction permit (housing.md), key `permitNo`."""

    permitNo: Series[str] = required(permit_no=(), description="permit number (18 digits)")
    projectCode: Series[str] = optional(description="project code as entered; may be malformed")
    projectName: Series[str] = required(description="project name at permit time")
    buildUnit: Series[str] = required(description="owner unit name")
    buildUnitCreditCode: Series[str] = required(
        credit_code=(), description="owner unit credit code"
    )
    contractor: Series[str] = required(description="contractor name")
    contractorCreditCode: Series[str] = required(
        credit_code=(), description="contractor credit code"
    )
    contractAmount: Series[Money] = required(
        money_above={"minimum": 0}, description="contract amount, 元, > 0"
    )
    area: Series[float] = optional(within={"low": 0, "high": 1e9}, description="floor area m²")
    issueDate: Series[Timestamp] = required(description="issue date")
    regionCode: Series[str] = required(division_code=(), description="division code")
    modifiedAt: Series[Timestamp] = required(description="last modification")


class ProgressReportRecord(Record):
    """住建 monthly progress report, key `reportId`."""

    reportId: Series[str] = required(description="report id")
    permitNo: Series[str] = required(description="the permit reported on")
    period: Series[str] = required(month=(), description="month YYYY-MM")
    completionRate: Series[float] = required(
        within={"low": 0, "high": 100}, description="share of the permit's work done, 0..100"
    )
    reportedAt: Series[Timestamp] = required(description="when reported")
    modifiedAt: Series[Timestamp] = required(description="last modification")


class InspectionRecord(Record):
    """住建 quality/safety inspection, key `inspectionId`."""

    inspectionId: Series[str] = required(description="inspection id")
    permitNo: Series[str] = required(description="the permit inspected")
    inspectDate: Series[Timestamp] = required(description="inspection date")
    category: Series[str] = required(
        one_of={"values": INSPECTION_CATEGORIES}, description="质量|安全|文明施工"
    )
    result: Series[str] = required(
        one_of={"values": INSPECTION_RESULTS}, description="合格|限期整改|停工整改"
    )
    hazardCount: Series[pd.Int64Dtype] = required(
        at_least={"minimum": 0}, description="hazards found, ≥ 0"
    )
    rectifiedAt: Series[Timestamp] = optional(description="when the required fix was confirmed")
    modifiedAt: Series[Timestamp] = required(description="last modification")


class AcceptanceRecord(Record):
    """住建 completion acceptance filing, key `filingNo`."""

    filingNo: Series[str] = required(description="filing number")
    permitNo: Series[str] = required(description="the permit accepted")
    acceptDate: Series[Timestamp] = required(description="acceptance date")
    result: Series[str] = required(one_of={"values": ACCEPTANCE_RESULTS}, description="合格|不合格")
    modifiedAt: Series[Timestamp] = required(description="last modification")


class DeletionRecord(Record):
    """住建 tombstone, key `key`: the record of the named resource was deleted."""

    key: Series[str] = required(description="key of the deleted record")
    deletedAt: Series[Timestamp] = required(description="when deleted")
    modifiedAt: Series[Timestamp] = required(description="last modification")


PERMIT = RecordType(
    "permit",
    PermitRecord,
    key="permitNo",
    parsers={
        "permitNo": "code",
        "projectCode": "code",
        "buildUnitCreditCode": "code",
        "contractorCreditCode": "code",
        "contractAmount": "money_wan",
        "area": "number",
        "regionCode": "code",
        "issueDate": "epoch",
        "modifiedAt": "epoch",
    },
)
PROGRESS_REPORT = RecordType(
    "progress_report",
    ProgressReportRecord,
    key="reportId",
    parsers={
        "reportId": "code",
        "permitNo": "code",
        "completionRate": "number",
        "reportedAt": "epoch",
        "modifiedAt": "epoch",
    },
)
INSPECTION = RecordType(
    "inspection",
    InspectionRecord,
    key="inspectionId",
    parsers={
        "inspectionId": "code",
        "permitNo": "code",
        "hazardCount": "integer",
        "inspectDate": "epoch",
        "rectifiedAt": "epoch",
        "modifiedAt": "epoch",
    },
)
ACCEPTANCE = RecordType(
    "acceptance",
    AcceptanceRecord,
    key="filingNo",
    parsers={"filingNo": "code", "permitNo": "code", "acceptDate": "epoch", "modifiedAt": "epoch"},
)
DELETION = RecordType(
    "deletion",
    DeletionRecord,
    key="key",
    parsers={"key": "code", "deletedAt": "epoch", "modifiedAt": "epoch"},
)  # fmt: skip
