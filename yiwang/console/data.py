"""What the console's pages draw, as JSON shaped for them: the map's layers, the schedule of a
list of projects, one project's timeline and what else is known of it, and the red and black
lists with the spot-check draws. Read from the published snapshot like every other route (one
transaction, rendered once per snapshot), behind the same guard: a token or a session.

These routes serve the console and are left out of the OpenAPI document: downstream systems
read the same facts through the documented routes and tables.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, and_, func, literal, or_, select

from departments.registry import flags
from transforms.gcj02 import to_wgs84
from transforms.unify import draw, draw_seed
from yiwang.api.bodies import as_json, row
from yiwang.api.routes.shared import GUARDS, PRINTABLE, Cache, ProjectId, Reader, no_project
from yiwang.api.snapshot import read
from yiwang.store.tables import published

P, G, W = published["project"], published["project_geometry"], published["work_order"]
Q, U, C = published["quarantine"], published["unit_scorecard"], published["spot_check"]
SNAPSHOT = published["snapshot"]
R = {name: published[f"record_{name}"] for name in (
    "permit", "progress_report", "inspection", "acceptance", "voucher", "finding", "work_order",
    "land_use_permit", "works_permit",
)}  # fmt: skip
COMPLAINTS = ("投诉", "举报")
BEIJING = dt.timezone(dt.timedelta(hours=8))
# one project's page: per section, the record type, its order and the columns shown
TIMELINE = {
    "permits": ("permit", "issueDate", ("permitNo", "issueDate", "contractAmount", "contractor")),
    "reports": ("progress_report", "period", ("reportId", "permitNo", "period", "completionRate")),
    "payments": ("voucher", "支付日期", ("凭证号", "支付日期", "金额", "摘要", "原凭证号")),
    "inspections": (
        "inspection", "inspectDate",
        ("inspectionId", "permitNo", "inspectDate", "category", "result", "rectifiedAt"),
    ),
    "acceptances": ("acceptance", "acceptDate", ("filingNo", "permitNo", "acceptDate", "result")),
    "findings": (
        "finding", "foundOn",
        ("findingId", "issueType", "amount", "foundOn", "status", "deadline", "description"),
    ),
}  # fmt: skip
SCHEDULE_ROWS = 300  # a Gantt chart is read row by row: more than this wants a filter
router = APIRouter(prefix="/console/data", dependencies=GUARDS, include_in_schema=False)


def _as_of(conn: Connection) -> str | None:
    found = conn.execute(select(SNAPSHOT.c.as_of_date)).scalar()
    return found.isoformat() if found is not None else None


def _day(value) -> dt.date | None:
    """The Beijing day of a moment (PostgreSQL hands it over in the session's time zone)."""
    if value is None or isinstance(value, str):  # SQLite: ISO text, local time as received
        return value and dt.date.fromisoformat(value[:10])
    return value.astimezone(BEIJING).date() if value.tzinfo else value.date()


def _degrees(value) -> float | None:
    return None if value is None else float(value)


# -- the map ---------------------------------------------------------------------------------
@router.get("/map")
async def map_layers(request: Request, snapshots: Reader, responses: Cache) -> Response:
    """The projects' points, their parcels and the complaints' positions (WGS 84)."""
    return await responses.served(request, snapshots.in_one_snapshot(_map, encode=bytes))


def _map(conn: Connection) -> bytes:
    points = conn.execute(
        select(
            P.c.project_id, P.c.project_name, P.c.region_code, P.c.status, P.c.risk_flags,
            P.c.longitude, P.c.latitude,
        ).order_by(P.c.project_id)
    ).all()  # fmt: skip
    projects = [
        [pid, name, region, status, flags_, _degrees(lon), _degrees(lat)]
        for pid, name, region, status, flags_, lon, lat in points
    ]
    # the parcels are GeoJSON text already: spliced in, not parsed and written again
    parcels = b",".join(
        b'{"type":"Feature","id":%s,"geometry":%s}' % (json.dumps(pid).encode(), geometry.encode())
        for pid, geometry in conn.execute(
            select(G.c.project_id, G.c.geometry).order_by(G.c.project_id)
        )
    )
    head = {"as_of": _as_of(conn), "projects": projects, "complaints": _complaints(conn)}
    return as_json(head)[:-1] + b',"parcels":{"type":"FeatureCollection","features":[%s]}}' % (
        parcels
    )


def _complaints(conn: Connection) -> list[list[Any]]:
    """Complaints and reports under 建筑施工 where the order has a position: the hotline
    gives GCJ-02 (a map app's), drawn here in WGS 84 like everything else on the map."""
    order = R["work_order"]
    found = conn.execute(
        select(W.c.order_no, W.c.project_id, W.c.category, W.c.status, W.c.title,
               order.c.longitude, order.c.latitude)
        .join(order, order.c.record_key == W.c.order_no)
        .where(W.c.category.in_(COMPLAINTS), order.c.longitude.is_not(None),
               order.c.latitude.is_not(None))
        .order_by(W.c.order_no)
    ).all()  # fmt: skip
    if not found:
        return []
    lon, lat = to_wgs84(np.array([r[5] for r in found]), np.array([r[6] for r in found]))
    return [
        [*r[:5], round(float(x), 5), round(float(y), 5)]
        for r, x, y in zip(found, lon, lat, strict=True)
    ]


# -- the schedule of a list of projects ------------------------------------------------------
@router.get("/schedule")
async def schedule(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    division: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    unit: Annotated[str | None, Query(max_length=18, pattern=PRINTABLE)] = None,
    risk_flag: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = SCHEDULE_ROWS,
) -> Response:
    """Per project: planned start and end, the first permit's issue (works began), progress,
    completion; the projects of a division or unit, in planned-start order."""
    where = [or_(P.c.planned_start_date.is_not(None), P.c.permit_count > 0)]
    if division:
        where.append(P.c.region_code == division)
    if unit:
        where.append(or_(P.c.owner_unit_code == unit, P.c.entrusted_unit_code == unit))
    if risk_flag:
        where.append((literal(",") + P.c.risk_flags + literal(",")).contains(f",{risk_flag},"))
    build = _schedule(and_(*where), limit)
    return await responses.served(request, snapshots.in_one_snapshot(build))


def _schedule(where, limit: int):
    permit = R["permit"]
    began = (
        select(permit.c.project_id, func.min(permit.c.issueDate).label("works_began"))
        .where(permit.c.project_id.is_not(None))
        .group_by(permit.c.project_id)
        .subquery()
    )
    columns = (
        P.c.project_id, P.c.project_name, P.c.region_code, P.c.status, P.c.risk_flags,
        P.c.planned_start_date, P.c.planned_end_date, P.c.progress_rate, P.c.progress_period,
        P.c.completion_date, P.c.paid_amount, P.c.approved_investment, began.c.works_began,
    )  # fmt: skip

    def build(conn: Connection) -> dict[str, Any]:
        total = conn.execute(select(func.count()).select_from(P).where(where)).scalar()
        query = (
            select(*columns)
            .outerjoin(began, began.c.project_id == P.c.project_id)
            .where(where)
            .order_by(
                func.coalesce(P.c.planned_start_date, func.date(began.c.works_began)),
                P.c.project_id,
            )
            .limit(limit)
        )
        rows = [row({**r, "works_began": _day(r["works_began"])}) for r in read(conn, query)]
        return {"as_of": _as_of(conn), "total": total, "items": rows}

    return build


# -- one project -----------------------------------------------------------------------------
@router.get("/projects/{project_id}")
async def project(
    request: Request,
    snapshots: Reader,
    responses: Cache,
    project_id: ProjectId,
) -> Response:
    """One project's timeline (permits, reports, payments, inspections, acceptances), its
    findings, complaints and planning permits, and the quarantined records that name it."""
    return await responses.served(request, snapshots.in_one_snapshot(_project(project_id)))


def _project(project_id: str):
    def build(conn: Connection) -> dict[str, Any]:
        found = conn.execute(select(P).where(P.c.project_id == project_id)).mappings().first()
        if found is None:
            raise no_project(project_id)

        def of(name: str, order: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
            t = R[name]
            query = select(*(t.c[n] for n in names)).where(t.c.project_id == project_id)
            return [row(r) for r in read(conn, query.order_by(t.c[order], t.c.record_key))]

        parts = {section: of(*how) for section, how in TIMELINE.items()}
        numbers = [p["permitNo"] for p in parts["permits"]]
        complaints = read(
            conn, select(W).where(W.c.project_id == project_id).order_by(W.c.accepted_at)
        )
        return {
            "as_of": _as_of(conn),
            "project": row(found),
            **parts,
            "planning": [
                {"kind": kind, **r}
                for kind in ("land_use_permit", "works_permit")
                for r in of(kind, "approvedOn", ("permitCode", "approvedOn", "status"))
            ],
            "complaints": [row(r) for r in complaints],
            "quarantined": _quarantined(conn, found["project_code"], numbers),
        }

    return build


def _quarantined(conn: Connection, code: str | None, permits: list[str]) -> list[dict]:
    """Quarantined records whose payload names the project's code or one of its permits: a
    record the hub could not accept cannot be linked, but a person can see it names the
    project (a voucher with a malformed amount, a report on one of its permits)."""
    names = [n for n in (code, *permits[:50]) if n]
    if not names:
        return []
    query = (
        select(Q.c.source_system, Q.c.record_type, Q.c.record_key, Q.c.reasons,
               Q.c.first_seen_run, Q.c.last_seen_run)
        .where(or_(*(Q.c.payload.contains(n, autoescape=True) for n in names)))
        .order_by(Q.c.source_system, Q.c.record_type, Q.c.record_key)
        .limit(200)
    )  # fmt: skip
    return [row(r) for r in read(conn, query)]


# -- the lists -------------------------------------------------------------------------------
@router.get("/lists")
async def lists(request: Request, snapshots: Reader, responses: Cache) -> Response:
    """红黑榜 and the 双随机 draws, each draw with what re-deriving it from this snapshot shows."""
    return await responses.served(request, snapshots.in_one_snapshot(_lists))


def _lists(conn: Connection) -> dict[str, Any]:
    listed = read(conn, select(U).where(U.c.list.is_not(None)).order_by(U.c.list, U.c.unit_code))
    draws: dict[str, dict[str, Any]] = {}
    for r in read(conn, select(C).order_by(C.c.period.desc(), C.c.draw_rank)):
        period = draws.setdefault(r["period"], {"period": r["period"], "seed": r["draw_seed"],
                                                "projects": []})  # fmt: skip
        period["projects"].append(r["project_id"])
    eligible = sorted(conn.execute(select(P.c.project_id).where(P.c.status == "在建")).scalars())
    for period in draws.values():
        period["verification"] = _verified(period, eligible)
    return {
        "as_of": _as_of(conn),
        "flags": {code: f.rule for code, (_, f) in flags().items()},
        "units": [row(r) for r in listed],
        "draws": list(draws.values()),
    }


def _verified(period: dict[str, Any], eligible: list[str]) -> dict[str, Any]:
    """Whether this snapshot's 在建 projects re-derive the period's seed and its draw. A draw
    is kept as first published all month, while statuses change: once the list has changed,
    the draw can only be checked against the list of the night that drew it."""
    seed = draw_seed(period["period"], eligible)
    if seed != period["seed"]:
        return {"eligible": len(eligible), "seed_matches": False, "draw_matches": None}
    again = list(draw(period["period"], eligible)["project_id"])
    return {"eligible": len(eligible), "seed_matches": True,
            "draw_matches": again == period["projects"]}  # fmt: skip
