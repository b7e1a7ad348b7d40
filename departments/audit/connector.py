"""审计 findings (contracts/departments/audit.md): bearer token, offset paging over live data."""

from __future__ import annotations

import re

from connectors.core import Connector, JsonItems, Offset, StaticBearer, Stream

FIELDS = (
    "findingId", "auditReportNo", "auditedEntity", "auditedEntityCode", "projectRef",
    "issueType", "amount", "description", "foundOn", "status", "deadline", "lastModified",
)  # fmt: skip

LAST_MODIFIED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")

connector = Connector(
    name="audit",
    title="Audit findings (审计 审计管理系统)",
    conn_id="audit_api",
    auth=StaticBearer,
    streams=(
        Stream(
            name="findings",
            record_type="finding",
            path="/audit/api/findings",
            key="findingId",
            fields=FIELDS,
            version="lastModified",
            paginator=Offset(version_pattern=LAST_MODIFIED),
            format=JsonItems(items=("items",)),
        ),
    ),
)
