"""The layout holds: each module imports only from its own room and the rooms below it.

Rooms, top to bottom (README, "The layout"): the edges (CLI, Airflow, the API's app factory,
DAG files, bench) build the settings and call the runtime; the API (and its console) reads the
store; the night runs on the store; the store keeps what the assembly and the departments
declare; the departments declare on the frameworks (connectors, schemas, transforms,
simulators), which know no department. Imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "bench",
    "connectors",
    "dags",
    "departments",
    "schemas",
    "simulators",
    "transforms",
    "yiwang",
)

# top to bottom; a module belongs to the room of its longest matching prefix
ROOMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("edge", (
        "bench", "dags", "yiwang.cli", "yiwang.airflow", "yiwang.api.app", "yiwang.settings",
    )),
    ("api", ("yiwang.api", "yiwang.console")),
    ("night", ("yiwang.night",)),
    ("store", ("yiwang.store",)),
    ("assembly", (
        "departments.registry", "departments.scaffold", "simulators.cluster",
        "simulators.expected",
    )),
    ("departments", ("departments",)),
    ("framework", ("connectors", "schemas", "transforms", "simulators")),
)  # fmt: skip
LEVEL = {room: i for i, (room, _) in enumerate(ROOMS)}
SHARED_BY_DEPARTMENTS = "departments.declare"  # the one module departments share
# the frameworks know only themselves, but for schemas and transforms, which use each other
# (validation normalises with transforms; unify builds the published models of schemas)
FRAMEWORK_USES = {
    "connectors": {"connectors"},
    "simulators": {"simulators"},
    "schemas": {"schemas", "transforms"},
    "transforms": {"transforms", "schemas"},
}


def room_of(module: str) -> str | None:
    best, found = -1, None
    for room, prefixes in ROOMS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, found = len(p), room
    return found


def department_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "departments" and len(parts) > 1 else None


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    here, there = room_of(importer), room_of(imported)
    if here is None or there is None:
        return None  # the standard library and third parties
    if LEVEL[there] < LEVEL[here]:
        return f"{importer} ({here}) imports {imported} ({there}), a room above it"
    mine, theirs = department_of(importer), department_of(imported)
    if here == there == "departments" and mine != theirs and imported != SHARED_BY_DEPARTMENTS:
        return f"{importer} imports another department's {imported}"
    top, other = importer.split(".")[0], imported.split(".")[0]
    if here == there == "framework" and other not in FRAMEWORK_USES[top]:
        return f"{importer} ({top}) imports {imported}: the frameworks know only themselves"
    return None


def imports_of(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = absolute(module, path.name == "__init__.py", node.level, node.module)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if room_of(name) is not None and _is_module(name)}


def absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """What `from <level dots><name> import ...` in `module` names."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - level + 1]
    return ".".join([*base, *(name or "").split(".")]).strip(".")


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "templates" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def test_every_import_follows_the_declared_direction():
    problems = [
        said
        for module, path in sorted(modules().items())
        for imported in sorted(imports_of(path, module))
        if (said := violation(module, imported))
    ]
    assert problems == [], "\n".join(problems)


def test_the_settings_are_read_only_at_the_edges():
    readers = sorted(
        module
        for module, path in modules().items()
        if "yiwang.settings" in imports_of(path, module) and room_of(module) != "edge"
    )
    assert readers == []


def test_an_import_against_the_direction_is_caught():
    assert violation("yiwang.store.publish", "yiwang.night.run")
    assert violation("transforms.resolve", "departments.registry")
    assert violation("departments.audit.records", "departments.drc.records")
    assert violation("yiwang.night.steps", "yiwang.settings")
    assert violation("yiwang.api.routes", "yiwang.cli.main")
    assert violation("yiwang.night.run", "yiwang.store.publish") is None
    assert violation("departments.drc", "departments.declare") is None
    assert violation("departments.drc", "departments.drc.records") is None
    assert violation("departments.declare", "departments.drc.records")  # shared one way only
    assert violation("connectors.core.sync", "schemas.validate")
    assert violation("simulators.world.model", "transforms.unify")
    assert violation("schemas.validate", "transforms.normalise") is None


def test_relative_imports_are_resolved_from_their_package():
    assert absolute("departments.drc", True, 1, "records") == "departments.drc.records"
    assert absolute("departments.drc.figures", False, 1, "records") == "departments.drc.records"
    assert absolute("departments.drc.figures", False, 2, None) == "departments"
    assert absolute("departments.drc", True, 2, "declare") == "departments.declare"
