"""The supervision console: the published dataset in a browser (map, schedule, project pages,
red and black lists), served by the API with every asset it needs (`static/`)."""

from pathlib import Path

from yiwang.console import data, pages

ROUTERS = (pages.router, data.router)
ASSETS = Path(__file__).parent / "static"  # served at `pages.ASSETS`
