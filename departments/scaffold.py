"""`yiwang departments new NAME`: a department package that works at once (a simulator, a
connector, a record schema, linking by project code) and its tests, from the templates."""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"[a-z][a-z0-9_]{1,30}")


def scaffold(name: str, title: str, root: Path) -> list[Path]:
    """Write the package under `root` and return the files written."""
    if not NAME.fullmatch(name) or keyword.iskeyword(name) or name in ("registry", "templates"):
        raise ValueError(
            f"{name!r} cannot name a department: use 2-31 lowercase letters, digits or _, "
            "starting with a letter (it names the package, the connection and the DAG)"
        )
    from departments.registry import all_departments

    if name in all_departments():
        raise FileExistsError(f"a department named {name!r} is registered: pick another name")
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
        "title": title,
    }
    for template, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text()).substitute(words))
    (tests / "__init__.py").touch()
    return [*targets.values(), tests / "__init__.py"]
