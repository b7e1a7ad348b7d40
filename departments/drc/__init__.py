"""发改 project registry (contracts/departments/drc.md): the backbone that issues project codes."""

from __future__ import annotations

from departments.declare import Department
from departments.drc.connector import connector
from departments.drc.figures import registry_fields
from departments.drc.records import PROJECT
from departments.drc.simulator import DrcServer
from simulators.declare import Served, Simulator
from transforms.figures import Figure
from transforms.links import Registry

department = Department(
    connector=connector,
    records=(PROJECT,),
    links={
        "project": (
            Registry(
                code="xmdm",
                name="xmmc",
                owner_name="xmdw",
                owner_code="xmdwdm",
                entrusted_name="tgdw",
                entrusted_code="tgdwdm",
                region="szqh",
                status="xmzt",
                updated="gxsj",
                approved="pfrq",
            ),
        )
    },
    simulator=Simulator(
        server=DrcServer,
        credentials=("key",),
        served=(Served("projects", "drc", "project", version="gxsj"),),
    ),
    figures=(
        Figure(
            (
                "project_code",
                "project_name",
                "region_code",
                "owner_unit_name",
                "owner_unit_code",
                "entrusted_unit_name",
                "entrusted_unit_code",
                "approval_type",
                "status",
                "funding_source",
                "approved_investment",
                "approval_date",
                "planned_start_date",
                "planned_end_date",
            ),
            ("project",),
            "the registry record's own fields (null for `X-` projects, whose name, division "
            "and owner come from the anchoring permit)",
            registry_fields,
        ),
    ),
)
