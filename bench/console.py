"""The console in headless Chromium over loopback: how soon each page paints and has drawn
everything it fetched, on a published store; optionally a screenshot of each view.

    .venv/bin/python -m bench.console                      # data/yiwang.db (`yiwang demo`)
    .venv/bin/python -m bench.console --database-url sqlite:///… --runs 5
    .venv/bin/python -m bench.console --screenshots docs/console

Signs in through the login form with a token made for the run, then opens each page `--runs`
times (a fresh tab each time, the server's response cache warm after the first) and prints,
per page, the median and worst of: first contentful paint (the browser's own measure) and
"drawn" (the console's `yiwangConsole.readyAt`: every layer, bar and table in place).
Chromium is Debian's, with every request off loopback failing (`tests/browser.py`).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
from pathlib import Path

from tests.browser import Chromium, served
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.store.db import engine_for

PAINT = "performance.getEntriesByName('first-contentful-paint')[0]?.startTime"
SIZE = (1440, 960)


def sign_in(browser: Chromium, base: str, token: str):
    page = browser.open(f"{base}/console/login")
    page.wait_for("document.getElementById('token') !== null")
    page.evaluate(
        f"document.getElementById('token').value = {token!r}; document.forms[0].submit(); 1"
    )
    drawn(page, "sign-in")
    return page


def drawn(page, name: str) -> None:
    """Wait until the page has drawn; its error, if it failed, ends the bench."""
    page.wait_for("window.yiwangConsole?.ready === true || window.yiwangConsole?.error")
    if error := page.evaluate("window.yiwangConsole.error || ''"):
        raise SystemExit(f"{name}: {error}")


def pages(base: str, project_id: str) -> dict[str, str]:
    return {
        "map": f"{base}/console",
        "schedule": f"{base}/console/schedule",
        "project": f"{base}/console/projects/{project_id}",
        "lists": f"{base}/console/lists",
    }


def busiest_project(engine) -> str:
    """A project with much to show: the most permits, then payments, then complaints."""
    from sqlalchemy import select

    from yiwang.store.tables import published

    p = published["project"]
    order = (p.c.permit_count.desc(), p.c.payment_count.desc(), p.c.project_id)
    with engine.connect() as conn:
        return conn.execute(select(p.c.project_id).order_by(*order).limit(1)).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:///data/yiwang.db")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screenshots", type=Path, help="folder to write a PNG per view to")
    args = parser.parse_args()

    token = secrets.token_urlsafe(24)
    engine = engine_for(args.database_url)
    project_id = busiest_project(engine)
    app = create_app(engine, {digest(token)})
    with served(app) as base, Chromium() as browser:
        sign_in(browser, base, token)
        print(f"{'page':<10} {'first paint ms':>18} {'drawn ms':>18}")
        for name, url in pages(base, project_id).items():
            paints, done = [], []
            for _ in range(args.runs):
                page = browser.open(url)
                drawn(page, name)
                paints.append(page.evaluate(PAINT) or 0.0)
                done.append(page.evaluate("window.yiwangConsole.readyAt"))
            print(
                f"{name:<10} {statistics.median(paints):>8.0f} (max {max(paints):>5.0f}) "
                f"{statistics.median(done):>8.0f} (max {max(done):>5.0f})"
            )
            if name == "map":  # what drawing took, layer by layer, in the last run
                built = page.evaluate("yiwangConsole.timings")
                print("           layers built (ms): " + ", ".join(
                    f"{layer} {ms:.0f}" for layer, ms in built.items()
                ))  # fmt: skip
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                page = browser.open("about:blank")
                page.size(*SIZE)  # laid out at the screenshot's size from the start
                page.navigate(url)
                drawn(page, name)
                shot = args.screenshots / f"{name}.png"
                page.screenshot(shot)
                print(f"           {shot}")


if __name__ == "__main__":
    main()
