"""The registered connectors: every package under `connectors/` exposing a `connector`, plus
any installed distribution's `yiwang.connectors` entry point. Registering is all a new
connector needs to get its CLI command, its conformance tests and its Airflow DAG."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points

import connectors
from connectors.core import Connector

FRAMEWORK = {"core"}


@cache
def registry() -> dict[str, Connector]:
    found: dict[str, Connector] = {}
    for module in pkgutil.iter_modules(connectors.__path__):
        if not module.ispkg or module.name in FRAMEWORK or module.name.startswith("_"):
            continue
        candidate = getattr(importlib.import_module(f"connectors.{module.name}"), "connector", None)
        if isinstance(candidate, Connector):
            found[candidate.name] = candidate
    for point in entry_points(group="yiwang.connectors"):
        candidate = point.load()
        if isinstance(candidate, Connector):
            found.setdefault(candidate.name, candidate)
    return dict(sorted(found.items()))


def get(name: str) -> Connector:
    known = registry()
    if name not in known:
        raise KeyError(f"no connector {name!r}; registered: {', '.join(known) or 'none'}")
    return known[name]
