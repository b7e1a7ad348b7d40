"""hotline.md, "Personal data": after a whole night into the production store, no caller's
name or phone, and no phone or ID number a caller wrote, is anywhere the hub keeps things —
its raw landing, its staging, its logs, its quarantine, its published tables."""

from __future__ import annotations

import gzip
import logging
import re

import psycopg
import pytest

from connectors.core import Landing
from departments.registry import extend_world
from simulators.cluster import Cluster
from simulators.world.build import generate_world
from tests.conftest import AS_OF
from tests.connectors.kit import FAST
from yiwang.night.run import run_night
from yiwang.store.db import engine_for


def personal(world) -> set[str]:
    """Every personal datum the simulated hotline holds: names, phones, numbers in the text."""
    rows = world.tables["hotline_orders"]
    found = set(rows["callerName"].dropna()) | set(rows["callerPhone"].dropna())
    found |= set(rows["_id_number"].dropna())
    for text in rows["content"].dropna():
        found |= set(re.findall(r"1\d{10}", text))
    return {v for v in found if len(v) >= 3}  # a two-character name could be any two words


def everything_kept(url: str) -> str:
    """Every row of every table of the store (published, staging, state, feed) as text."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('unified', 'hub') ORDER BY 1, 2"
        ).fetchall()
        return "\n".join(
            str(row[0])
            for schema, table in tables
            for row in conn.execute(f'SELECT t::text FROM {schema}."{table}" t')
        )


def landed(root) -> str:
    return "\n".join(
        (gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()).decode(
            "utf-8", "replace"
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    )


@pytest.mark.timeout(600)
def test_given_a_whole_night_with_faults_then_no_personal_datum_is_kept_anywhere(
    pg_database, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    world = extend_world(generate_world("tiny", 7))  # ~1,200 orders: enough to find a leak
    values = personal(world)
    assert len(values) > 500
    engine = engine_for(pg_database)
    with Cluster(world, AS_OF, fault_rate=0.05, fault_seed=3, rate_limits=False) as cluster:
        result = run_night(
            engine, cluster.environment(), AS_OF, Landing(tmp_path / "landing", "night-1"),
            policy=FAST, rate_limits=False, quality_dir=tmp_path / "quality",
        )  # fmt: skip
    engine.dispose()
    assert result.published.status == "published"
    kept = everything_kept(pg_database)
    assert "hotline" in kept and "work_order" in kept  # the orders are there, masked
    assert re.search(r"h:[0-9a-f]{16}", kept)  # a keyed hash of the phone may stay
    places = {"store": kept, "landing": landed(tmp_path / "landing"), "logs": caplog.text}
    places["quality reports"] = landed(tmp_path / "quality")
    leaks = {where: sorted(v for v in values if v in text)[:5] for where, text in places.items()}
    assert leaks == {where: [] for where in places}, leaks
