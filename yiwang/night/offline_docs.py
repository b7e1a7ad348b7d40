"""The quality gate's Data Docs with no request leaving the machine.

Great Expectations writes pages that load their styles, scripts and fonts from CDNs, show a
logo from S3 whose address carries the data context's id (a beacon), and link to its website,
tutorials and newsletter. `make_offline` copies the vendored assets into the site and points
the pages at them, shows GX's own logo from the site, and drops the outside links: the docs
then open from disk, on a machine that may not call out.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

# one place for the web assets the project ships (the API's docs use it too); its README
# names each package's version and source. A folder, not an import: the night stays below
# the API.
VENDORED = Path(__file__).resolve().parents[1] / "api" / "static" / "data-docs"
VENDOR = Path("static", "vendor")  # where the assets go in the site

_CDNJS, _JSDELIVR = "https://cdnjs.cloudflare.com/ajax/libs", "https://cdn.jsdelivr.net/npm"
_TABLE, _FILTER = "https://unpkg.com/bootstrap-table@1.19.1/dist", "extensions/filter-control"
# what GX's pages load -> the vendored file (under VENDORED)
ASSETS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap/bootstrap.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    f"{_CDNJS}/popper.js/1.12.9/umd/popper.min.js": "popper.js/popper.min.js",
    f"{_TABLE}/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    f"{_TABLE}/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    f"{_TABLE}/{_FILTER}/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/bootstrap-table-filter-control.min.js"
    ),
    # GX names 1.19.0 of this stylesheet beside 1.19.1 of the rest: 1.19.1's is the same rules
    **{
        f"{_TABLE.replace('1.19.1', '1.19.0')}/{_FILTER}/bootstrap-table-filter-control{m}.css": (
            "bootstrap-table/bootstrap-table-filter-control.min.css"
        )
        for m in ("", ".min")
    },
    f"{_CDNJS}/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/bootstrap-datepicker.min.css"
    ),
    f"{_CDNJS}/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/bootstrap-datepicker.min.js"
    ),
    f"{_JSDELIVR}/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark/bootstrap-prefers-dark.min.css"
    ),
    f"{_CDNJS}/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    f"{_JSDELIVR}/vega@5": "vega/vega.min.js",
    f"{_JSDELIVR}/vega-lite@5": "vega-lite/vega-lite.min.js",
    f"{_JSDELIVR}/vega-embed@6": "vega-embed/vega-embed.min.js",
}
# GX's logos on S3 (the address names the data context): its own copy in the site instead
LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"'()\s]*")
SITE_LOGO = Path("static", "images", "logo-long.png")

URL = r"https?://(?!127\.0\.0\.1[:/]|localhost[:/])[^\"'()\s<>]+"  # not loopback
# a quoted address, and whether it names an XML namespace (a name, never fetched)
QUOTED = re.compile(rf"""(\bxmlns(?::[\w-]+)?=)?(["'])({URL})\2""")
# the newsletter and the tutorials' call to action: footers of outside links only
FOOTER = re.compile(r"<footer\b[^>]*>(?:(?!</footer>).)*?https?://.*?</footer>", re.S)
LINK = re.compile(rf"""<a\b[^>]*\bhref=["']{URL}["'][^>]*>(.*?)</a>""", re.S)
CDN_ONLY = re.compile(r"""\s(?:integrity|crossorigin)=["'][^"']*["']""")  # no CORS on file:
COMMENT = re.compile(r"<!--.*?-->", re.S)  # an SVG's editor credit names its website


def make_offline(site: Path) -> list[str]:
    """Point every page and stylesheet of the Data Docs `site` (the folder of its index.html)
    at copies in the site; returns the outside addresses it had no copy for and dropped (a
    GX upgrade that loads something new: vendor it and add it to ASSETS)."""
    shutil.copytree(VENDORED, site / VENDOR, dirs_exist_ok=True)
    dropped: list[str] = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".css", ".svg") or (site / VENDOR) in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        changed = _offline(text, os.path.relpath(site, path.parent), dropped)
        if changed != text:
            path.write_text(changed, encoding="utf-8")
    if dropped:
        log.warning("Data Docs: no local copy of %s; dropped", ", ".join(sorted(set(dropped))))
    return dropped


def _offline(text: str, root: str, dropped: list[str]) -> str:
    """`text` of a page or stylesheet `root` (relative) below the site's folder, offline."""
    text = FOOTER.sub("", text)
    text = COMMENT.sub("", text) if text.startswith("<?xml") else text
    text = LINK.sub(r"\1", text)  # the words stay, the way out goes

    def local(found: re.Match) -> str:
        namespace, quote, url = found.groups()
        if namespace:
            return found.group()
        if url in ASSETS:
            return f"{quote}{Path(root, VENDOR, ASSETS[url]).as_posix()}{quote}"
        if LOGO.fullmatch(url):
            return f"{quote}{Path(root, SITE_LOGO).as_posix()}{quote}"
        dropped.append(url)
        return f"{quote}{quote}"

    text = QUOTED.sub(local, text)
    return CDN_ONLY.sub("", text) if "<" in text else text
