"""The console in headless Chromium (Debian's) against the small world's published night, with
every address off loopback unreachable: a person signs in with a token, the map draws every
division and every parcel, the schedule draws planned and actual bars, a click on the map or
on a bar opens the project's page, and no page asks for anything off the machine."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.browser import Chromium, served
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.console.divisions import SHIPPED
from yiwang.store.db import engine_for
from yiwang.store.tables import published, stored

TOKEN = "browser-token"
READY = "window.yiwangConsole?.ready === true || window.yiwangConsole?.error"
P, G = published["project"], published["project_geometry"]


@pytest.fixture(scope="module")
def night(published_small):
    url, _ = published_small["sqlite"]
    engine = engine_for(url)
    with engine.connect() as conn:
        projects = conn.execute(select(P)).mappings().all()
        parcels = conn.execute(select(G.c.project_id)).scalars().all()
    yield engine, projects, parcels
    engine.dispose()


@pytest.fixture(scope="module")
def console(night):
    """(base URL, browser) with a person signed in through the form."""
    engine, _, _ = night
    with served(create_app(engine, {digest(TOKEN)})) as base, Chromium() as browser:
        sign_in(browser, base)
        yield base, browser


def sign_in(browser: Chromium, base: str):
    """A person opens the console, is sent to sign in, types the token: the map shows."""
    page = browser.open(f"{base}/console")
    page.wait_for("document.getElementById('token') !== null")
    assert page.evaluate("location.pathname") == "/console/login"
    page.evaluate(
        f"document.getElementById('token').value = {TOKEN!r}; document.forms[0].submit(); 1"
    )
    drawn(page)
    assert page.evaluate("location.pathname") == "/console"
    return page


def drawn(page) -> None:
    page.wait_for(READY, 90)
    assert page.evaluate("window.yiwangConsole.error || ''") == ""


def only_loopback(page) -> None:
    assert page.requests and page.off_loopback() == [], page.requests
    assert page.failed() == []


def test_given_the_map_then_every_division_parcel_and_project_is_drawn(console, night):
    base, browser = console
    _, projects, parcels = night
    page = browser.open(f"{base}/console")
    drawn(page)
    shipped = [f["id"] for f in json.loads(SHIPPED.read_text())["features"]]
    codes = page.evaluate(
        "Array.from(document.querySelectorAll('path.division'), p => p.dataset.code)"
    )
    assert sorted(codes) == sorted(shipped) and len(shipped) == 9
    # every parcel is a path with a shape on screen (the whole city is in view)
    shapes = page.evaluate(
        "Array.from(document.querySelectorAll('path.parcel'), p => p.getAttribute('d'))"
    )
    assert len(shapes) == len(parcels) > 0
    assert all(d and d != "M0 0" for d in shapes)
    state = page.evaluate("({p: yiwangConsole.points, c: yiwangConsole.complaints})")
    assert state["p"] == sum(p["longitude"] is not None for p in projects)
    assert state["c"] > 0
    assert "320571" in page.evaluate("document.querySelector('.note').textContent")
    only_loopback(page)


def test_given_a_click_on_a_project_on_the_map_then_its_page_opens(console, night):
    base, browser = console
    _, projects, parcels = night
    chosen = next(p for p in projects if p["project_id"] in set(parcels))
    page = browser.open(f"{base}/console")
    drawn(page)
    lat, lon = float(chosen["latitude"]), float(chosen["longitude"])
    page.evaluate(f"yiwangConsole.map.setView([{lat}, {lon}], 17, {{animate: false}}); 1")
    x, y = page.evaluate(
        f"(() => {{ const p = yiwangConsole.map.latLngToContainerPoint([{lat}, {lon}]);"
        " const r = document.getElementById('map').getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; })()"
    )
    page.click(x, y)
    page.wait_for("location.pathname.startsWith('/console/projects/')", 30)
    drawn(page)
    assert page.evaluate("decodeURIComponent(location.pathname)").endswith(chosen["project_id"])
    assert (
        page.evaluate("document.getElementById('project-name').textContent")
        == (chosen["project_name"])
    )
    # the project's page draws its timeline and its figures' sources
    assert page.evaluate("yiwangConsole.timelineBars") > 0
    assert page.evaluate("document.querySelectorAll('table').length") >= 3
    only_loopback(page)


def test_given_the_schedule_then_planned_and_actual_bars_are_drawn_and_open_projects(
    console, night
):
    base, browser = console
    _, projects, _ = night
    page = browser.open(f"{base}/console/schedule")
    drawn(page)
    rows = page.evaluate("yiwangConsole.rows")
    planned = page.evaluate("document.querySelectorAll('g.planned_marks path').length")
    actual = page.evaluate("document.querySelectorAll('g.actual_marks path').length")
    assert rows == len(projects)  # the small world fits on one chart
    with_plan = sum(
        p["planned_start_date"] is not None and p["planned_end_date"] is not None for p in projects
    )
    assert planned == with_plan > 0
    assert actual == rows
    # a real click on the first actual bar opens that project
    x, y = page.evaluate(
        "(() => { const r = document.querySelector('g.actual_marks path')"
        ".getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    page.click(x, y)
    page.wait_for("location.pathname.startsWith('/console/projects/')", 30)
    drawn(page)
    only_loopback(page)


def test_given_a_division_chosen_then_the_schedule_draws_only_its_projects(console, night):
    base, browser = console
    _, projects, _ = night
    division = projects[0]["region_code"]
    page = browser.open(f"{base}/console/schedule")
    drawn(page)
    page.evaluate(
        f"const d = document.getElementById('division'); d.value = {division!r};"
        " d.dispatchEvent(new Event('change')); 1"
    )
    page.wait_for(f"location.search === '?division={division}'", 30)
    drawn(page)
    theirs = [p for p in projects if p["region_code"] == division]
    assert page.evaluate("yiwangConsole.rows") == len(theirs) < len(projects)
    bars = page.evaluate("document.querySelectorAll('g.actual_marks path').length")
    assert bars == len(theirs)  # one actual bar a project of the division
    only_loopback(page)


def test_given_the_lists_then_units_and_verified_draws_show(console):
    base, browser = console
    page = browser.open(f"{base}/console/lists")
    drawn(page)
    assert page.evaluate("yiwangConsole.draws") >= 1
    assert "✓ verified" in page.evaluate("document.querySelector('.verification').textContent")
    only_loopback(page)


HOSTILE = '<img id="pwned" src="x" onerror="window.pwned = 1">'


def test_given_markup_in_names_and_titles_then_the_map_shows_it_as_text(night, tmp_path):
    """A citizen writes a work order's title, a clerk a project's name: on the map each is
    text, never markup the console would run."""
    engine, projects, _ = night
    copy = tmp_path / "hostile.db"
    shutil.copy(engine.url.database, copy)
    placed = next(p for p in projects if p["longitude"] is not None)
    hostile = engine_for(f"sqlite:///{copy}")
    project, work_order = stored["project"], stored["work_order"]  # the views' rows
    with hostile.begin() as conn:
        conn.execute(project.update().where(project.c.project_id == placed["project_id"])
                     .values(project_name=f"{HOSTILE}工程"))  # fmt: skip
        conn.execute(work_order.update().where(work_order.c.category.in_(["投诉", "举报"]))
                     .values(title=HOSTILE))  # fmt: skip
    with served(create_app(hostile, {digest(TOKEN)})) as base, Chromium() as browser:
        page = sign_in(browser, base)
        shown = page.evaluate(
            "(() => { const texts = []; yiwangConsole.map.eachLayer(l => {"
            f" if ((l.options.project && l.options.project[0] === {placed['project_id']!r})"
            " || (l.options.order && l.options.order[4])) {"
            " l.fire('mouseover', {latlng: l.getLatLng()}, true);"
            " texts.push(document.querySelector('.leaflet-tooltip-pane').textContent); } });"
            " return texts; })()"
        )
        assert shown and all(HOSTILE in text for text in shown), shown[:3]
        assert page.evaluate("document.getElementById('pwned') === null && !window.pwned")
        assert page.evaluate("document.querySelectorAll('.leaflet-tooltip-pane img').length") == 0
    hostile.dispose()


def test_given_a_session_then_signing_out_ends_it(console):
    base, browser = console
    page = browser.open(f"{base}/console/lists")
    drawn(page)
    page.evaluate("document.querySelector('header form').submit(); 1")
    page.wait_for("location.pathname === '/console/login'", 30)
    page.navigate(f"{base}/console/lists")
    page.wait_for("location.pathname === '/console/login'", 30)


@contextlib.contextmanager
def tile_server() -> Iterator[str]:
    """A tile server on loopback answering every tile with a 1×1 PNG."""

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PIXEL)))
            self.end_headers()
            self.wfile.write(PIXEL)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def test_given_a_tile_url_then_the_map_draws_tiles_from_it_beneath_the_layers(night):
    """No tile server is needed; one that is configured draws beneath the divisions."""
    engine, _, _ = night
    with tile_server() as tiles:
        app = create_app(engine, {digest(TOKEN)}, console_tiles=f"{tiles}/{{z}}/{{x}}/{{y}}.png")
        with served(app) as base, Chromium() as browser:
            page = sign_in(browser, base)
            page.wait_for("document.querySelectorAll('img.leaflet-tile-loaded').length > 0", 30)
            asked = [u for u in page.requests if u.startswith(tiles)]
            assert asked and all(re.search(r"/\d+/\d+/\d+\.png$", u) for u in asked), asked
            only_loopback(page)
