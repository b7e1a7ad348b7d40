"""An Airflow pool per department, sized from its connector's declaration: a contract's request
limit is per client, and every task of a department reads with the same client's credentials,
so at most `connector.parallel` of its extract tasks run at once, each at its share of the
rate, wherever they run (Celery workers included)."""

from __future__ import annotations

import json
from pathlib import Path

from departments.registry import registry


def pool(source: str) -> str:
    return f"yiwang_{source}"


def declared() -> dict[str, dict]:
    """Every department's pool in the form `airflow pools import` reads."""
    pools = {}
    for name, connector in registry().items():
        rate = connector.rate_per_s
        share = f", each within {rate / connector.parallel:g} requests/s" if rate else ""
        pools[pool(name)] = {
            "slots": connector.parallel,
            "description": f"{connector.title}: {connector.parallel} extract task(s) at once"
            f"{share}",
            "include_deferred": False,
        }
    return pools


def write(path: Path) -> Path:
    path.write_text(json.dumps(declared(), ensure_ascii=False, indent=2), encoding="utf-8")
    return path
