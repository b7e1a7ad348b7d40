"""The console's sign-in and the data its pages draw, against the small world's published night
on both stores: what each page is given is what the published tables hold."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from transforms.gcj02 import to_wgs84
from yiwang.api.app import create_app
from yiwang.api.auth import COOKIE, digest
from yiwang.store.db import engine_for
from yiwang.store.tables import published

TOKEN = "console-token"
P, G, W, Q = (published[t] for t in ("project", "project_geometry", "work_order", "quarantine"))
U, PERMIT = published["unit_scorecard"], published["record_permit"]
ORDER = published["record_work_order"]
BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, published_small):
    url, _ = published_small[request.param]
    engine = engine_for(url)
    yield engine
    engine.dispose()


def signed_in(engine) -> TestClient:
    client = TestClient(create_app(engine, {digest(TOKEN)}))
    answer = client.post("/console/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture(scope="module")
def client(store):
    return signed_in(store)


def rows(engine, query) -> list:
    with engine.connect() as conn:
        return conn.execute(query).all()


# -- signing in ------------------------------------------------------------------------------
def test_given_no_session_then_pages_lead_to_sign_in_and_data_is_refused(store):
    client = TestClient(create_app(store, {digest(TOKEN)}))
    page = client.get("/console/schedule?division=320505", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/schedule%3Fdivision%3D320505"
    for path in ("/console/data/map", "/console/data/lists", "/projects"):
        assert client.get(path).status_code == 401
    assert client.get("/console/login").status_code == 200


def test_given_a_wrong_token_then_no_session_is_given(store):
    client = TestClient(create_app(store, {digest(TOKEN)}))
    answer = client.post("/console/login", data={"token": "nope"}, follow_redirects=False)
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
    assert "not a token this server accepts" in answer.text


def test_given_the_right_token_then_a_strict_http_only_session_opens_pages_and_the_api(store):
    client = TestClient(create_app(store, {digest(TOKEN)}))
    answer = client.post(
        "/console/login", data={"token": TOKEN, "next": "/console/lists"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/lists"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and TOKEN not in cookie
    assert {"httponly", "samesite=strict", "path=/"} <= {
        part.strip().lower() for part in cookie.split(";")
    }
    for path in ("/console", "/console/lists", "/console/data/lists", "/projects?limit=2"):
        assert client.get(path, follow_redirects=False).status_code == 200, path
    # served again from the response cache, still only to a session
    assert client.get("/projects?limit=2").status_code == 200
    anonymous = TestClient(client.app)
    assert anonymous.get("/projects?limit=2").status_code == 401
    anonymous.cookies.set(COOKIE, client.cookies[COOKIE][:-2] + "00")
    assert anonymous.get("/projects?limit=2").status_code == 401
    signed_out = client.post("/console/logout", follow_redirects=False)
    assert signed_out.status_code == 303 and f'{COOKIE}=""' in signed_out.headers["set-cookie"]


@pytest.mark.parametrize("elsewhere", ["https://example.com/", "//example.com/x", "/docs"])
def test_given_a_next_page_off_the_console_then_sign_in_leads_to_the_console(store, elsewhere):
    client = TestClient(create_app(store, {digest(TOKEN)}))
    answer = client.post(
        "/console/login", data={"token": TOKEN, "next": elsewhere}, follow_redirects=False
    )
    assert answer.headers["location"] == "/console"


# -- the map ---------------------------------------------------------------------------------
def test_given_the_map_then_it_has_every_project_parcel_and_positioned_complaint(client, store):
    layers = client.get("/console/data/map").json()
    projects = rows(store, select(P.c.project_id, P.c.longitude, P.c.latitude))
    assert len(layers["projects"]) == len(projects)
    placed = {p[0]: (p[5], p[6]) for p in layers["projects"]}
    assert all(
        (lon is None) == (placed[pid][0] is None) for pid, lon, _ in projects
    )  # a point exactly where the project has one
    parcels = rows(store, select(G.c.project_id, G.c.geometry))
    features = {f["id"]: f["geometry"] for f in layers["parcels"]["features"]}
    assert features == {pid: json.loads(text) for pid, text in parcels}
    assert parcels, "the small world's night publishes parcels"
    positioned = rows(
        store,
        select(W.c.order_no, ORDER.c.longitude, ORDER.c.latitude)
        .join(ORDER, ORDER.c.record_key == W.c.order_no)
        .where(W.c.category.in_(["投诉", "举报"]), ORDER.c.longitude.is_not(None)),
    )
    assert sorted(c[0] for c in layers["complaints"]) == sorted(r[0] for r in positioned)
    assert positioned, "the small world's night publishes complaints with a position"


def test_given_complaints_then_their_gcj02_positions_are_drawn_in_wgs84(client, store):
    """The hotline's positions are a map app's (GCJ-02, some 500 m off in Suzhou): the map
    draws them where the parcels are, in WGS 84."""
    drawn = {c[0]: (c[5], c[6]) for c in client.get("/console/data/map").json()["complaints"]}
    received = rows(
        store, select(ORDER.c.record_key, ORDER.c.longitude, ORDER.c.latitude)
    )  # fmt: skip
    received = [r for r in received if r[0] in drawn]
    lon, lat = to_wgs84(np.array([r[1] for r in received]), np.array([r[2] for r in received]))
    got = np.array([drawn[r[0]] for r in received])
    assert np.abs(got - np.column_stack([lon, lat])).max() <= 0.000006  # 5 decimals
    moved = np.hypot(np.array([r[1] for r in received]) - got[:, 0],
                     np.array([r[2] for r in received]) - got[:, 1])  # fmt: skip
    assert (moved > 0.002).all() and (moved < 0.01).all()  # 200 m–1 km: the GCJ-02 offset


# -- schedules -------------------------------------------------------------------------------
def test_given_a_division_then_the_schedule_lists_its_projects_with_when_works_began(client, store):
    division = Counter(r[0] for r in rows(store, select(P.c.region_code))).most_common(1)[0][0]
    got = client.get(f"/console/data/schedule?division={division}").json()
    expected = rows(store, select(P.c.project_id).where(P.c.region_code == division))
    assert got["total"] == len(got["items"]) == len(expected)
    assert {r["region_code"] for r in got["items"]} == {division}
    permits = rows(store, select(PERMIT.c.project_id, PERMIT.c.issueDate))
    for item in got["items"]:
        issued = [i for pid, i in permits if pid == item["project_id"]]
        if issued:
            first = min(issued)
            first = first.astimezone(BEIJING) if hasattr(first, "astimezone") else first
            assert item["works_began"] == str(first)[:10]
        else:
            assert item["works_began"] is None
    starts = [r["planned_start_date"] or r["works_began"] for r in got["items"]]
    assert starts == sorted(starts)


def test_given_a_unit_or_a_flag_then_the_schedule_lists_exactly_its_projects(client, store):
    owners = Counter(r[0] for r in rows(store, select(P.c.entrusted_unit_code)) if r[0])
    unit = owners.most_common(1)[0][0]  # an entrusted unit: it also owns none of them
    got = client.get(f"/console/data/schedule?unit={unit}&limit=2000").json()
    expected = rows(
        store,
        select(P.c.project_id).where(
            (P.c.owner_unit_code == unit) | (P.c.entrusted_unit_code == unit)
        ),
    )
    assert sorted(r["project_id"] for r in got["items"]) == sorted(r[0] for r in expected)
    assert got["total"] == len(expected) > 1
    flagged = client.get("/console/data/schedule?risk_flag=SCHEDULE_SLIP&limit=2000").json()
    assert flagged["items"] and all(
        "SCHEDULE_SLIP" in r["risk_flags"].split(",") for r in flagged["items"]
    )


def test_given_a_limit_then_the_schedule_says_how_many_it_left_out(client, store):
    got = client.get("/console/data/schedule?limit=5").json()
    assert len(got["items"]) == 5 and got["total"] > 5


# -- one project -----------------------------------------------------------------------------
def test_given_a_project_then_its_page_has_each_of_its_records(client, store):
    pid = rows(store, select(P.c.project_id).order_by(P.c.permit_count.desc()).limit(1))[0][0]
    got = client.get(f"/console/data/projects/{pid}").json()
    assert got["project"]["project_id"] == pid
    for section, table in (
        ("permits", "record_permit"), ("reports", "record_progress_report"),
        ("payments", "record_voucher"), ("inspections", "record_inspection"),
        ("acceptances", "record_acceptance"), ("findings", "record_finding"),
    ):  # fmt: skip
        t = published[table]
        assert len(got[section]) == len(rows(store, select(t).where(t.c.project_id == pid)))
    assert got["permits"], "the busiest project has permits"
    complaints = rows(store, select(W.c.order_no).where(W.c.project_id == pid))
    assert sorted(c["order_no"] for c in got["complaints"]) == sorted(r[0] for r in complaints)
    assert client.get("/console/data/projects/nope").status_code == 404


def test_given_a_quarantined_record_naming_a_project_then_the_project_page_shows_it(client, store):
    codes = {r[0] for r in rows(store, select(P.c.project_code)) if r[0]}
    quarantined = rows(store, select(Q.c.record_key, Q.c.payload, Q.c.reasons))
    naming = [(key, code) for key, payload, _ in quarantined for code in codes if code in payload]
    assert naming, "the small world quarantines records that name registered projects"
    key, code = naming[0]
    got = client.get(f"/console/data/projects/{code}").json()["quarantined"]
    assert key in {q["record_key"] for q in got}
    assert all(q["reasons"] for q in got)


# -- the lists -------------------------------------------------------------------------------
def test_given_the_lists_then_red_and_black_units_and_a_verified_draw_are_shown(client, store):
    got = client.get("/console/data/lists").json()
    listed = rows(store, select(U.c.unit_code, U.c.list).where(U.c.list.is_not(None)))
    assert sorted((u["unit_code"], u["list"]) for u in got["units"]) == sorted(listed)
    this_month = got["draws"][0]
    assert this_month["period"] == got["as_of"][:7]
    # the night drew this month's projects itself: this snapshot re-derives seed and draw
    assert this_month["verification"]["seed_matches"] is True
    assert this_month["verification"]["draw_matches"] is True
    assert set(got["flags"]) >= {"NO_APPROVAL", "COMPLAINT_BACKLOG"}


def test_given_a_draw_whose_projects_were_altered_then_it_does_not_verify():
    from transforms.unify import draw
    from yiwang.console.data import _verified

    eligible = [f"P{i:03}" for i in range(60)]
    drawn = draw("2026-11", eligible)
    period = {"period": "2026-11", "seed": drawn["draw_seed"][0],
              "projects": list(drawn["project_id"])}  # fmt: skip
    assert _verified(period, eligible) == {
        "eligible": 60, "seed_matches": True, "draw_matches": True,
    }  # fmt: skip
    swapped = {**period, "projects": [*period["projects"][:-1], "P999"]}
    assert _verified(swapped, eligible)["draw_matches"] is False
    assert _verified(period, eligible[:-1])["seed_matches"] is False
