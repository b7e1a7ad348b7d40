"""住建 supervision platform (contracts/departments/housing.md): OAuth2, cursors, tombstones."""

from __future__ import annotations

from departments.declare import Department
from departments.housing.connector import RESOURCES, connector
from departments.housing.figures import (
    completion,
    inspections,
    permits,
    progress,
    schedule_slip,
    stop_work_open,
    unapproved,
)
from departments.housing.records import (
    ACCEPTANCE,
    DELETION,
    INSPECTION,
    PERMIT,
    PROGRESS_REPORT,
)
from departments.housing.simulator import HousingServer
from simulators.declare import Served, Simulator
from transforms.figures import Figure, Flag
from transforms.links import Follows, NameWithinUnit, ProjectCode, Unregistered

# stream -> the world table that holds its records
TABLES = {
    "permits": "permits",
    "progress_reports": "reports",
    "inspections": "inspections",
    "acceptances": "acceptances",
}
FOLLOWS_PERMIT = (Follows("permitNo", "permit"),)

department = Department(
    connector=connector,
    records=(PERMIT, PROGRESS_REPORT, INSPECTION, ACCEPTANCE, DELETION),
    links={
        "permit": (
            ProjectCode("projectCode"),
            NameWithinUnit(
                "projectName",
                blocks=("buildUnitCreditCode", "buildUnit"),
                roles=("owner_code", "owner_name"),
                region="regionCode",
                when="issueDate",
                construction_permit=True,
            ),
            Unregistered(
                name="projectName",
                owner_name="buildUnit",
                owner_code="buildUnitCreditCode",
                region="regionCode",
                permit_day="issueDate",
            ),
        ),
        "progress_report": FOLLOWS_PERMIT,
        "inspection": FOLLOWS_PERMIT,
        "acceptance": FOLLOWS_PERMIT,
    },
    simulator=Simulator(
        server=HousingServer,
        credentials=("client", "secret"),
        served=tuple(
            Served(
                stream,
                table,
                RESOURCES[stream][1],
                version="modifiedAt",
                epoch_ms=True,
                deleted=RESOURCES[stream][0],
            )
            for stream, table in TABLES.items()
        ),
    ),
    figures=(
        Figure(
            ("permit_count", "contract_amount"),
            ("permit",),
            "live construction permits linked, and the sum of their contract amounts",
            permits,
        ),
        Figure(
            ("progress_rate", "progress_period"),
            ("progress_report", "permit"),
            "contract-amount-weighted mean of each live permit's latest reported completion "
            "rate, and the latest period among those reports",
            progress,
        ),
        Figure(
            ("inspection_count", "open_stop_work_count"),
            ("inspection",),
            "inspections on linked permits; of those, `停工整改` with no `rectifiedAt`",
            inspections,
        ),
        Figure(
            ("completion_date",),
            ("acceptance",),
            "latest `合格` acceptance date when every live permit has a `合格` acceptance",
            completion,
        ),
    ),
    flags=(
        Flag(
            "NO_APPROVAL",
            ("permit",),
            "the project has permits or payments but no registry record (未批先建)",
            unapproved,
        ),
        Flag(
            "SCHEDULE_SLIP",
            ("progress_report", "acceptance", "project"),
            "`as_of_date` is after `planned_end_date` and `completion_date` is null; or "
            "`progress_rate` is more than 20 points below the planned rate",
            schedule_slip,
        ),
        Flag("STOP_WORK_OPEN", ("inspection",), "`open_stop_work_count` > 0", stop_work_open),
    ),
)
