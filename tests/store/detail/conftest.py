"""The small world's night as the detail tables see it: accepted frames, links, its tables,
and a fresh store on either backend."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy import Engine, Table

from connectors.core import LocalSink
from departments.registry import record, record_types
from tests.conftest import AS_OF
from transforms.detail import KEY, detail_frames
from yiwang.night.steps import Night, unify_night, validated_streams
from yiwang.store import tables as store_tables
from yiwang.store.db import engine_for


@dataclass
class SmallNight:
    sink: LocalSink
    accepted: dict[str, pd.DataFrame]
    night: Night

    @property
    def links(self) -> pd.DataFrame:
        return self.night.tables["source_record"]

    def frames(self) -> dict[str, pd.DataFrame]:
        return detail_frames(self.accepted, self.links, [record(rt) for rt in record_types()])


@pytest.fixture(scope="session")
def small_night(world, tmp_path_factory) -> SmallNight:
    """The small world read by every connector as of AS_OF, validated and unified (the same
    accepted frames `unify_night` builds its tables from)."""
    from tests.connectors.kit import stage_all

    sink = stage_all(world, AS_OF, tmp_path_factory.mktemp("detail") / "sink")
    accepted = {s.record_type: checked.accepted for _, s, checked, _ in validated_streams(sink)}
    return SmallNight(sink, accepted, unify_night(sink, AS_OF))


@pytest.fixture
def fresh_store(backend, request, tmp_path) -> Engine:
    """An empty database on `backend`, with schema `unified` on PostgreSQL."""
    if backend == "sqlite":
        engine = engine_for(f"sqlite:///{tmp_path / 'detail.db'}")
    else:
        engine = engine_for(request.getfixturevalue("pg_database"))
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA unified")
    yield engine
    engine.dispose()


def wire(monkeypatch, details: dict[str, Table]) -> None:
    """The detail tables where the canonical renderer and publishing look a table up, keyed
    and sorted by `KEY`: what the wiring lines in yiwang/store/tables.py do."""
    held = [store_tables.published, getattr(store_tables, "stored", store_tables.published)]
    for name, table in details.items():
        for tables in held:
            monkeypatch.setitem(tables, name, table)
        monkeypatch.setitem(store_tables.KEYS, name, KEY)
        monkeypatch.setitem(store_tables.SORT, name, KEY)
