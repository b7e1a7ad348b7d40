"""自然资源和规划 国土空间规划“一张图” (contracts/departments/planning.md): OGC API – Features,
the key in the query string, `next` links without it, GeoJSON with legacy EPSG:4549 parcels."""

from __future__ import annotations

from departments.declare import Department
from departments.planning.connector import connector
from departments.planning.figures import geometry_table, no_planning_permit, permits, position
from departments.planning.records import LAND_USE_PERMIT, WORKS_PERMIT
from departments.planning.simulator import PlanningServer
from departments.planning.world import LAND_USE_TABLE, WORKS_TABLE, tables
from simulators.declare import Served, Simulator
from transforms.figures import Figure, Flag, Published
from transforms.links import Follows, NameWithinUnit, ProjectCode

department = Department(
    connector=connector,
    records=(LAND_USE_PERMIT, WORKS_PERMIT),
    links={
        "land_use_permit": (
            ProjectCode("projectCode"),
            NameWithinUnit(
                "projectName",
                blocks=("landUserCreditCode", "landUser"),
                roles=("owner_code", "owner_name"),
                region="regionCode",
                when="approvedOn",
            ),
        ),
        "works_permit": (
            ProjectCode("projectCode"),
            Follows("landPermitCode", "land_use_permit"),
            NameWithinUnit(
                "projectName",
                blocks=("builderCreditCode", "builder"),
                roles=("owner_code", "owner_name"),
                region="regionCode",
                when="approvedOn",
            ),
        ),
    },
    simulator=Simulator(
        server=PlanningServer,
        credentials=("key",),
        served=(
            Served("land_use_permits", LAND_USE_TABLE, "land_use_permit", version="updated"),
            Served("works_permits", WORKS_TABLE, "works_permit", version="updated"),
        ),
        tables=tables,
    ),
    figures=(
        Figure(
            ("planning_permit_count", "land_area"),
            ("land_use_permit", "works_permit"),
            "linked planning permits with `status` `有效`; the sum of those land-use permits' "
            "`landArea`, m²",
            permits,
        ),
        Figure(
            ("longitude", "latitude"),
            ("land_use_permit",),
            "a point inside the union of its valid land-use parcels (shapely's representative "
            "point, not a centroid), CRS84, 6 decimals",
            position,
        ),
    ),
    flags=(
        Flag(
            "NO_PLANNING_PERMIT",
            ("permit", "works_permit"),
            "a live construction permit and either no valid works planning permit, or the "
            "earliest construction permit issued before the earliest valid works planning "
            "permit's `approvedOn` (施工许可 before 规划许可)",
            no_planning_permit,
        ),
    ),
    tables=(
        Published(
            "project_geometry",
            ("land_use_permit",),
            "per project with a valid parcel: the union of its valid land-use parcels, repaired, "
            "GeoJSON MultiPolygon in CRS84, 6 decimals",
            geometry_table,
        ),
    ),
    since="1.1",
)
