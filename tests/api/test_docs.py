"""The API's docs and the gate's Data Docs work offline, the docs need no token, and an API
configured without one says so at start-up."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from yiwang.api.app import NO_TOKEN, STATIC, app_from_env, create_app
from yiwang.api.auth import digest
from yiwang.night.offline_docs import VENDOR, VENDORED, make_offline
from yiwang.store.db import engine_for

URL = re.compile(r"""https?://[^\s"'()<>]+""")
NAMESPACE = re.compile(r"""\bxmlns(?::[\w-]+)?=["']$""")  # a name, never fetched
LOOPBACK = re.compile(r"https?://(127\.0\.0\.1|localhost)[:/]")


@pytest.fixture
def client(tmp_path) -> TestClient:
    return TestClient(create_app(engine_for(f"sqlite:///{tmp_path / 'empty.db'}"), {digest("t")}))


def test_given_no_token_then_the_docs_and_their_assets_are_served(client):
    """Given no token, then /docs, /redoc and /openapi.json answer (they document, they serve no
    data) and their pages load only the API's own /static assets, which answer too."""
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 200, path
    for path in ("/docs", "/redoc"):
        page = client.get(path).text
        assert URL.findall(page) == [], path  # no CDN, no Google Fonts, no favicon from afar
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
        assert assets and all(a.startswith("/static/") for a in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
    assert client.get("/projects").status_code == 401  # the data still needs one
    assert b"cdn.redoc.ly" not in (STATIC / "redoc" / "redoc.standalone.js").read_bytes()
    documented = client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc", "/static"} & set(documented)  # pages, not operations


def test_given_no_token_configured_then_start_up_says_every_request_is_refused(
    tmp_path, caplog, monkeypatch
):
    """Given YIWANG_API_TOKEN_SHA256 empty, when the served app is built, then one warning
    says the API refuses every request and how to set a token; with a token, none."""
    monkeypatch.setenv("YIWANG_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("YIWANG_API_TOKEN_SHA256", "")
    with caplog.at_level(logging.WARNING, logger="yiwang.api.app"):
        app_from_env()
    said = [r.getMessage() for r in caplog.records if r.name == "yiwang.api.app"]
    assert said == [NO_TOKEN]
    assert "refuse every request" in NO_TOKEN and "YIWANG_API_TOKEN_SHA256=" in NO_TOKEN
    caplog.clear()
    monkeypatch.setenv("YIWANG_API_TOKEN_SHA256", digest("a-token"))
    with caplog.at_level(logging.WARNING, logger="yiwang.api.app"):
        app_from_env()
    assert [r for r in caplog.records if r.name == "yiwang.api.app"] == []


def data_docs(published_small) -> Path:
    """The Data Docs the small night's gate wrote (tests/conftest.py `published_small`)."""
    url, _ = published_small["sqlite"]
    root = Path(url.removeprefix("sqlite:///")).parent / "quality-sqlite"
    return root / "gx" / "uncommitted" / "data_docs" / "local_site"


def _outside(text: str) -> list[str]:
    """The addresses in `text` off loopback, but XML namespaces' names."""
    return [
        m.group()
        for m in URL.finditer(text)
        if not LOOPBACK.match(m.group()) and not NAMESPACE.search(text[: m.start()][-40:])
    ]


def test_given_a_nights_data_docs_then_no_file_names_an_outside_address(published_small):
    """Given the Data Docs a night's gate wrote, then no file of GX's names an address off
    loopback but XML namespaces, every copy under static/vendor is the repository's vendored
    file byte for byte (their licence headers name their websites; the browser test shows
    they ask for nothing), and every address the rewrite gave resolves to a file."""
    site = data_docs(published_small)
    assert (site / "index.html").exists()
    vendor, found = site / VENDOR, []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        if vendor in path.parents:
            assert path.read_bytes() == (VENDORED / path.relative_to(vendor)).read_bytes()
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # an image or a font: it cannot ask for anything
        found += [f"{path.relative_to(site)}: {url}" for url in _outside(text)]
        rewritten = r"""["']([./]*static/(?:vendor/[^"']+|images/logo-long\.png))["']"""
        for local in re.findall(rewritten, text):
            assert (path.parent / local).resolve().is_file(), (path, local)
    assert found == []
    assert {p.relative_to(VENDORED) for p in VENDORED.rglob("*") if p.is_file()} <= {
        p.relative_to(vendor) for p in vendor.rglob("*") if p.is_file()
    }
    pages = list(site.rglob("*.html"))
    assert len(pages) > 5 and all("static/vendor/jquery" in p.read_text() for p in pages)


def test_given_gx_pages_then_assets_are_local_and_outside_links_gone(tmp_path):
    """Given a page as GX writes it (CDN assets with SRI, the S3 logo beacon, the newsletter
    footer, a link home, an SVG's credit) and one asset nobody vendored, when made offline,
    then the assets are the vendored copies, the rest is gone, the unknown one is named, and
    a second pass changes nothing."""
    page = tmp_path / "validations" / "t" / "run" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha384-x" '
        'crossorigin="anonymous"></script>\n'
        '<script src="https://cdn.example.org/new-thing.js"></script>\n'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
        'logo-long.png?d=1&dataContextId=abc"/>\n'
        '<p>made with <a href="https://greatexpectations.io">Great Expectations</a>.</p>\n'
        '<footer><p>newsletter <a href="https://greatexpectations.io/newsletter">Go</a></p>'
        "</footer>\n<footer>ours</footer>\n"
    )
    svg = tmp_path / "static" / "images" / "logo.svg"
    svg.parent.mkdir(parents=True)
    svg.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
        "<!-- Generator: Sketch - https://sketch.com --></svg>"
    )
    assert make_offline(tmp_path) == ["https://cdn.example.org/new-thing.js"]
    text = page.read_text()
    assert 'href="../../../static/vendor/bootstrap/bootstrap.min.css"' in text
    assert '<script src="../../../static/vendor/jquery/jquery.min.js"></script>' in text
    assert 'src="../../../static/images/logo-long.png"' in text
    assert "made with Great Expectations." in text and "<footer>ours</footer>" in text
    assert _outside(text) == [] and "newsletter" not in text
    assert _outside(svg.read_text()) == [] and "xmlns=" in svg.read_text()
    assert (tmp_path / VENDOR / "jquery" / "jquery.min.js").is_file()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert make_offline(tmp_path) == []
    assert before == {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
