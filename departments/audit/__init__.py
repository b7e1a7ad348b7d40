"""审计 findings (contracts/departments/audit.md): bearer token, offset paging over live data."""

from __future__ import annotations

from departments.audit.connector import connector
from departments.audit.figures import findings, overdue
from departments.audit.records import FINDING
from departments.audit.simulator import AuditServer
from departments.declare import Department
from simulators.declare import Served, Simulator
from transforms.figures import Figure, Flag
from transforms.links import CodeInText, NameInText, NameWithinUnit

department = Department(
    connector=connector,
    records=(FINDING,),
    links={
        "finding": (
            CodeInText("projectRef"),
            NameWithinUnit(
                "projectRef",
                blocks=("auditedEntityCode",),
                roles=("owner_code", "entrusted_code"),
                when="foundOn",
            ),
            NameInText(
                "description", blocks=("auditedEntityCode",), roles=("owner_code", "entrusted_code")
            ),
        )
    },
    simulator=Simulator(
        server=AuditServer,
        credentials=("token",),
        served=(Served("findings", "findings", "finding", version="lastModified"),),
    ),
    figures=(
        Figure(
            ("finding_count", "open_finding_count", "finding_amount"),
            ("finding",),
            "linked findings; those not `已整改`; the sum of their amounts",
            findings,
        ),
    ),
    flags=(
        Flag(
            "AUDIT_OVERDUE",
            ("finding",),
            "a linked finding not `已整改` whose `deadline` is before `as_of_date`",
            overdue,
        ),
    ),
)
