"""The docs render in a real browser that can reach loopback only: Swagger UI at /docs, ReDoc
at /redoc (the API served by uvicorn on loopback) and the gate's Data Docs (from disk), each
asking for nothing off the machine. Fails, never skips, without Chromium (`bin/dev test`
installs it)."""

from __future__ import annotations

import json

import pytest

from tests.api.test_docs import data_docs
from tests.browser import Chromium, served
from tests.conftest import eventually
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.store.db import engine_for


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The API on a free loopback port (the docs read no table: an empty store will do)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'empty.db'}"
    with served(create_app(engine_for(url), {digest("t")})) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with Chromium() as browser:
        yield browser


def _texts(selector: str) -> str:
    return f"Array.from(document.querySelectorAll({json.dumps(selector)}), e => e.textContent)"


def test_given_the_browser_then_nothing_off_loopback_answers_it(browser):
    """The harness's premise: an address off the machine fails in this browser."""
    page = browser.open("http://example.com/")
    assert eventually(lambda: any("example.com" in f for f in page.failed()), 30)
    assert page.off_loopback()  # and the harness sees that it was asked for


def test_given_docs_then_swagger_ui_renders_every_operation_from_loopback_only(base, browser):
    """Given /docs, when Chromium loads it, then Swagger UI lists the operations of /projects
    (and the rest), and every request the page made went to the API on 127.0.0.1."""
    page = browser.open(f"{base}/docs")
    paths = page.wait_for(f"(p => p.length >= 8 && p)({_texts('.opblock-summary-path')})", 90)
    assert {"/projects", "/projects/{project_id}", "/quarantine", "/ledger"} <= set(paths)
    assert page.evaluate(_texts(".info .title"))[0].startswith("Yiwang")
    assert f"{base}/openapi.json" in page.requests  # the document it rendered
    assert page.off_loopback() == [], page.requests
    assert page.failed() == []


def test_given_redoc_then_it_renders_every_operation_from_loopback_only(base, browser):
    """Given /redoc, when Chromium loads it, then ReDoc shows the operations of /projects
    and every request (its worker's too) went to 127.0.0.1 or stayed in the page."""
    page = browser.open(f"{base}/redoc")
    shown = page.wait_for(
        f"(t => t.some(s => s.includes('/projects/{{project_id}}')) && t)"
        f"({_texts('[data-section-id] h2, [data-section-id] div')})",
        90,
    )
    assert any("/quarantine" in s for s in shown)
    page.wait_for("document.readyState === 'complete'")
    assert f"{base}/openapi.json" in page.requests
    assert page.off_loopback() == [], page.requests
    assert page.failed() == []


def test_given_the_data_docs_then_they_render_from_disk_asking_for_nothing_else(
    published_small, browser
):
    """Given a night's Data Docs opened from disk, then their scripts and styles (jQuery,
    bootstrap-table, Font Awesome's fonts) load from the site's own copies and no request
    leaves the disk."""
    site = data_docs(published_small)
    for html in (site / "index.html", next(site.glob("validations/project/*/*/*.html"))):
        page = browser.open(html.as_uri())
        page.wait_for(
            "document.readyState === 'complete' && typeof jQuery === 'function' && "
            "typeof jQuery.fn.bootstrapTable === 'function' && typeof vegaEmbed === 'function'",
            90,
        )
        loaded = page.evaluate(
            "Promise.all([...document.fonts].map(f => f.load().then(() => f.status)))"
        )
        assert loaded and set(loaded) == {"loaded"}, loaded
        assert all(url.startswith(("file:", "data:")) for url in page.requests), page.requests
        # GX links a favicon one folder too shallow from its validation pages: its own slip
        assert [f for f in page.failed() if "favicon.ico" not in f] == []
