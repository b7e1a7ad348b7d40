"""The registered departments: every package under `departments/` exposing a `department`,
plus any installed distribution's `yiwang.departments` entry point. Registering is all a new
department needs: its CLI commands, conformance tests, DAG, validation, links, reconciliation,
dictionary entries and provenance follow from the declaration."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
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
from transforms.forecast import figures as forecast_figures
from transforms.links import Unregistered
from transforms.resolve import Linking


class RegistryError(Exception):
    """A department that cannot be registered: the message names it and what to fix."""


@cache
def all_departments() -> dict[str, Department]:
    """Every registered department by name, checked once per process."""
    return discover()


def discover() -> dict[str, Department]:
    found: dict[str, Department] = {}
    for module in pkgutil.iter_modules(departments.__path__):
        if not module.ispkg or module.name.startswith("_") or module.name == "templates":
            continue
        try:
            package = importlib.import_module(f"departments.{module.name}")
        except Exception as exc:
            raise RegistryError(
                f"departments/{module.name} cannot be imported ({type(exc).__name__}: {exc}); "
                "fix it, or move it out of departments/"
            ) from exc
        candidate = getattr(package, "department", None)
        if not isinstance(candidate, Department):
            continue
        if candidate.name != module.name:
            raise RegistryError(
                f"departments/{module.name} declares a department named {candidate.name!r}: "
                "a department's connector is named after its package"
            )
        found[candidate.name] = candidate
    for point in entry_points(group="yiwang.departments"):
        candidate = point.load()
        if isinstance(candidate, Department):
            if candidate.name in found:
                raise RegistryError(
                    f"the entry point {point.value} declares {candidate.name!r}, which "
                    f"departments/{candidate.name} declares too: rename one"
                )
            found[candidate.name] = candidate
    found = dict(sorted(found.items()))
    _check_apart(found)
    return found


def _check_apart(found: dict[str, Department]) -> None:
    """No two departments may declare one record type, project column or flag, and exactly
    one offers the registry: each is published under one name, computed once."""
    for what, names in (
        ("record type", lambda d: [r.name for r in d.records]),
        ("table", lambda d: [t.table for t in d.tables]),
        ("project column", lambda d: [c for f in d.figures for c in f.columns]),
        ("risk flag", lambda d: [f.code for f in d.flags]),
    ):
        owner: dict[str, str] = {}
        for d in found.values():
            for name in names(d):
                if owner.setdefault(name, d.name) != d.name:
                    raise RegistryError(
                        f"{d.name} and {owner[name]} both declare the {what} {name!r}: "
                        "rename one of them"
                    )
    registries = [d.name for d in found.values() if d.registry_record_type is not None]
    if found and len(registries) != 1:
        raise RegistryError(
            f"exactly one department must offer the registry (`Registry` evidence); "
            f"found {registries or 'none'}"
        )


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
    return f"{name}: skipped, its connection {conn_id} is not configured (set {env_var(conn_id)})"


def backbone() -> tuple[str, str]:
    """(department, record type) of the registry that issues project codes."""
    for d in all_departments().values():
        if d.registry_record_type is not None:
            return d.name, d.registry_record_type
    raise RegistryError("no department offers the registry (`Registry` evidence)")


def record(name: str) -> RecordType:
    for d in all_departments().values():
        for r in d.records:
            if r.name == name:
                return r
    raise KeyError(f"no department declares record type {name!r}")


def systems() -> tuple[str, ...]:
    return tuple(all_departments())


def record_types() -> tuple[str, ...]:
    """Every published record type (tombstones only remove records)."""
    return tuple(rt for d in all_departments().values() for rt in d.record_types)


def linking() -> list[Linking]:
    return [lk for d in all_departments().values() for lk in d.linking()]


# The hub's own figures, across departments: the forecasts (`transforms.forecast`). They
# take part once every record type they read is a taking-part department's.
HUB = "hub"
HUB_FIGURES: tuple[Figure, ...] = (forecast_figures.FIGURE,)
HUB_FLAGS: tuple[Flag, ...] = forecast_figures.FLAGS


def figures() -> dict[str, tuple[str, Figure]]:
    """Each declared `project` column -> (department, or the hub, its figure)."""
    found = {
        c: (d.name, f) for d in all_departments().values() for f in d.figures for c in f.columns
    }
    return found | {c: (HUB, f) for f in HUB_FIGURES for c in f.columns}


def flags() -> dict[str, tuple[str, Flag]]:
    """Each declared risk flag -> (department, or the hub, its declaration), in code order."""
    found = {f.code: (d.name, f) for d in all_departments().values() for f in d.flags}
    return dict(sorted((found | {f.code: (HUB, f) for f in HUB_FLAGS}).items()))


def taking_part(systems: Iterable[str]) -> set[str]:
    """The departments that take part in a snapshot whose records (accepted or quarantined)
    come from `systems`: every department of the contract's first version, and those that
    joined later once they have a record."""
    held = set(systems)
    return {n for n, d in all_departments().items() if d.since == "1.0" or n in held}


def plan(part: Iterable[str] | None = None) -> Plan:
    """How the project table is computed from the declarations of the departments taking
    part (`part`; None: those every snapshot has, the contract's first version's): the
    registry's figures first, then every other department's in order; the flags in code order;
    the departments' own tables."""
    part = taking_part(()) if part is None else set(part)
    ordered = sorted(
        (d for d in all_departments().values() if d.name in part),
        key=lambda d: d.registry_record_type is None,
    )
    held = {rt for d in ordered for rt in d.record_types}
    hub = [f for f in HUB_FIGURES if set(forecast_figures.NEEDS) <= held]
    return Plan(
        figures=[*(f for d in ordered for f in d.figures), *hub],
        flags=[f for name, f in flags().values() if name in part or (name == HUB and hub)],
        tables=[t for d in ordered for t in d.tables],
        anchors=[
            (lk.record_type, lk.key, e)
            for lk in linking()
            for e in lk.evidence
            if isinstance(e, Unregistered)
        ],
    )


# ---- the simulated world -------------------------------------------------------------------------
def extend_world(world: World) -> World:
    """The world with every department's own tables added, once (the shared city's tables are
    the world generator's). A department may not replace a table another one serves."""
    for d in all_departments().values():
        if d.simulator is None or d.simulator.tables is None or d.name in world.extended:
            continue
        for name, table in d.simulator.tables(world).items():
            if name in world.tables:
                raise RegistryError(
                    f"{d.name}'s simulator adds a world table {name!r}, which the world holds "
                    "already: name its table after the department"
                )
            world.tables[name] = table
        world.extended.add(d.name)
    return world


def ground_truth(world: World, day: int) -> pd.DataFrame:
    """For every record live at the end of `day`, served by any department's simulator: the
    project it belongs to (see `World.truth`)."""
    extend_world(world)
    served = [
        (s.table, d.name, s.record_type, s.deleted, s.serves)
        for d in all_departments().values()
        if d.simulator is not None
        for s in d.simulator.served
    ]
    return world.truth(day, served)


# ---- the data dictionary -------------------------------------------------------------------------
def dictionary() -> str:
    """docs/data-dictionary.md: the published tables, and what the departments declare."""
    from schemas.dictionary import Declared, render
    from transforms.links import METHODS, evidence_words, follow_methods

    return render(
        Declared(
            departments=[
                (
                    d.name,
                    d.connector.title,
                    [
                        (rt, d.record(rt).key, evidence_words(d.links[rt], rt))
                        for rt in d.record_types
                    ],
                )
                for d in all_departments().values()
            ],
            figures={
                column: f"{name}: {', '.join(f'`{r}`' for r in f.records)}"
                for column, (name, f) in figures().items()
            },
            computed=[
                (
                    ", ".join(f"`{c}`" for c in f.columns),
                    f"{d.name}: {', '.join(f'`{r}`' for r in f.records)}",
                    f.rule,
                )
                for d in all_departments().values()
                for f in d.figures
            ]
            + [
                (", ".join(f"`{c}`" for c in f.columns), f"{HUB}: all", f.rule) for f in HUB_FIGURES
            ],
            flags=[
                (code, f"{name}: {', '.join(f'`{r}`' for r in f.records)}", f.rule)
                for code, (name, f) in flags().items()
            ],
            methods=[
                (m.label, m.confidence, m.rule)
                for m in (
                    *METHODS,
                    *follow_methods((lk.record_type, lk.evidence) for lk in linking()),
                )
            ],
        )
    )
