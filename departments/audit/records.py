"""审计 findings (audit.md), typed."""

from __future__ import annotations

from pandera.typing import Series

from schemas.records import Date, Money, Record, RecordType, Timestamp, optional, required

ISSUE_TYPES = ("违规支付", "超概算", "未批先建", "工程款拖欠", "招投标违规", "资料不全")
FINDING_STATUS = ("未整改", "整改中", "已整改")


class FindingRecord(Record):
    """审计 audit finding (audit.md), key `findingId`."""

    findingId: Series[str] = required(description="finding id")
    auditReportNo: Series[str] = optional(description="audit report number")
    auditedEntity: Series[str] = required(description="audited unit name")
    auditedEntityCode: Series[str] = required(
        credit_code=(), description="audited unit credit code"
    )
    projectRef: Series[str] = optional(description="free text naming the project")
    issueType: Series[str] = required(one_of={"values": ISSUE_TYPES}, description="issue type")
    amount: Series[Money] = optional(
        money_at_least={"minimum": 0}, description="money involved, 元"
    )
    description: Series[str] = optional(description="free text")
    foundOn: Series[Date] = required(description="date found")
    status: Series[str] = required(
        one_of={"values": FINDING_STATUS}, description="未整改|整改中|已整改"
    )
    deadline: Series[Date] = optional(description="rectification deadline")
    lastModified: Series[Timestamp] = required(description="last modification")


FINDING = RecordType(
    "finding",
    FindingRecord,
    key="findingId",
    parsers={
        "findingId": "code", "auditedEntityCode": "code", "amount": "money_wan",
        "foundOn": "date_dashed", "deadline": "date_dashed", "lastModified": "time_iso",
    },
)  # fmt: skip
