"""`yiwang departments new NAME`: a department package that works at once (a simulator, a
connector, a record schema, linking by project code) and its tests, from the templates."""

from __future__ import annotations

import ast
import keyword
import re
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"[a-z][a-z0-9_]{1,30}")


def scaffold(name: str, title: str, root: Path) -> list[Path]:
    """Write the package under `root` and return the files written."""
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ValueError(
            f"{name!r} cannot name a department: use 2-31 lowercase letters, digits or _, "
            "starting with a letter (it names the package, the connection and the DAG)"
        )
    from departments.registry import all_departments

    taken = {p.stem for p in Path(__file__).parent.iterdir()}  # declare, registry, templates…
    if name in all_departments() or name in taken:
        raise FileExistsError(f"{name!r} is taken in departments/: pick another name")
    package, tests = root / "departments" / name, root / "tests" / "departments" / name
    targets = {
        TEMPLATES / "package" / f"{module}.py.tmpl": package / f"{module}.py"
        for module in ("__init__", "connector", "records", "simulator", "world")
    }
    targets[TEMPLATES / "tests" / "test_department.py.tmpl"] = tests / f"test_{name}.py"
    existing = [t for t in (package, tests) if t.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists: pick another name")
    words = {
        "name": name,
        "NAME": name.upper(),
        "Name": "".join(part.title() for part in name.split("_")),
        "title": " ".join(title.replace('"', "'").replace("\\", "/").split()),  # in docstrings
        "title_literal": repr(title),  # a string literal, whatever the title holds
    }
    written = {t: Template(t.read_text()).substitute(words) for t in targets}
    for template, text in written.items():
        ast.parse(text, str(targets[template]))  # never write a package that cannot import
    for template, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(written[template])
    (tests / "__init__.py").touch()
    return [*targets.values(), tests / "__init__.py"]
