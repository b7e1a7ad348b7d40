"""The registered departments: every package under `departments/` exposing a `department`,
plus any installed distribution's `yiwang.departments` entry point. Registering is all a new
department needs: its CLI commands, conformance tests, DAG, validation, links, reconciliation,
dictionary entries and provenance follow from the declaration."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points

import pandas as pd

import departments
from connectors.core import Connector
from connectors.core.connection import env_var
from departments.declare import Department
from schemas.records import RecordType
from simulators.world import World
from transforms.figures import Figure, Flag, Plan
from transforms.links import Registry, Unregistered
from transforms.resolve import Linking


@cache
def all_departments() -> dict[str, Department]:
    found: dict[str, Department] = {}
    for module in pkgutil.iter_modules(departments.__path__):
        if not module.ispkg or module.name.startswith("_"):
            continue
        candidate = getattr(
            importlib.import_module(f"departments.{module.name}"), "department", None
        )
        if isinstance(candidate, Department):
            found[candidate.name] = candidate
    for point in entry_points(group="yiwang.departments"):
        candidate = point.load()
        if isinstance(candidate, Department):
            found.setdefault(candidate.name, candidate)
    return dict(sorted(found.items()))


def department(name: str) -> Department:
    known = all_departments()
    if name not in known:
        raise KeyError(f"no department {name!r}; registered: {', '.join(known) or 'none'}")
    return known[name]


def registry() -> dict[str, Connector]:
    """Every department's connector, by name."""
    return {name: d.connector for name, d in all_departments().items()}


def get(name: str) -> Connector:
    return department(name).connector


def configured(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(departments whose connection `environ` configures, those it does not)."""
    names = list(all_departments())
    on = [n for n in names if environ.get(env_var(get(n).conn_id))]
    return on, [n for n in names if n not in on]


def skipped_line(name: str) -> str:
    """The one line an unconfigured department is skipped with."""
    conn_id = get(name).conn_id
    return (
        f"{name}: skipped, its connection {conn_id} is not configured "
        f"(set {env_var(conn_id)} or add the Airflow connection {conn_id})"
    )


def record(name: str) -> RecordType:
    for d in all_departments().values():
        for r in d.records:
            if r.name == name:
                return r
    raise KeyError(f"no department declares record type {name!r}")


def system_of(record_type: str) -> str:
    for d in all_departments().values():
        if any(r.name == record_type for r in d.records):
            return d.name
    raise KeyError(f"no department declares record type {record_type!r}")


def systems() -> tuple[str, ...]:
    return tuple(all_departments())


def record_types() -> tuple[str, ...]:
    """Every published record type (tombstones only remove records)."""
    return tuple(rt for d in all_departments().values() for rt in d.record_types)


def linking() -> list[Linking]:
    return [lk for d in all_departments().values() for lk in d.linking()]


def figures() -> dict[str, tuple[str, Figure]]:
    """Each declared `project` column -> (department, its figure)."""
    return {
        c: (d.name, f) for d in all_departments().values() for f in d.figures for c in f.columns
    }


def flags() -> dict[str, tuple[str, Flag]]:
    """Each declared risk flag -> (department, its declaration), in code order."""
    found = {f.code: (d.name, f) for d in all_departments().values() for f in d.flags}
    return dict(sorted(found.items()))


def plan() -> Plan:
    """How the project table is computed from the declarations: the registry's figures
    first, then every other department's in order; the flags in code order."""
    ordered = sorted(
        all_departments().values(),
        key=lambda d: not any(isinstance(e, Registry) for ev in d.links.values() for e in ev),
    )
    return Plan(
        figures=[f for d in ordered for f in d.figures if f.compute is not None],
        flags=[f for _, f in flags().values() if f.raises is not None],
        anchors=[
            (lk.record_type, lk.key, e)
            for lk in linking()
            for e in lk.evidence
            if isinstance(e, Unregistered)
        ],
    )


# ---- the simulated world -------------------------------------------------------------------------
def extend_world(world: World) -> World:
    """The world with every department's own tables added (once; the shared city's tables are
    the world generator's)."""
    for d in all_departments().values():
        if d.simulator is not None and d.simulator.tables is not None:
            for name, table in d.simulator.tables(world).items():
                world.tables.setdefault(name, table)
    return world


def ground_truth(world: World, day: int) -> pd.DataFrame:
    """For every record live at the end of `day`, served by any department's simulator: the
    project it belongs to (see `World.truth`)."""
    extend_world(world)
    served = [
        (s.table, d.name, s.record_type, s.deleted)
        for d in all_departments().values()
        if d.simulator is not None
        for s in d.simulator.served
    ]
    return world.truth(day, served)


# ---- the data dictionary -------------------------------------------------------------------------
def dictionary() -> str:
    """docs/data-dictionary.md: the published tables, and what the departments declare."""
    from schemas.dictionary import Declared, render
    from transforms.links import METHODS, evidence_words

    return render(
        Declared(
            departments=[
                (
                    d.name,
                    d.connector.title,
                    [(rt, d.record(rt).key, evidence_words(d.links[rt])) for rt in d.record_types],
                )
                for d in all_departments().values()
            ],
            figures={
                column: f"{name}: {', '.join(f'`{r}`' for r in f.records)}"
                for column, (name, f) in figures().items()
            },
            flags=[
                (code, f"{name}: {', '.join(f'`{r}`' for r in f.records)}", f.rule)
                for code, (name, f) in flags().items()
            ],
            methods=[(m.label, m.confidence, m.rule) for m in METHODS],
        )
    )
