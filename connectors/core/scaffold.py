"""`yiwang connectors new NAME`: a connector package and its tests from the templates."""

from __future__ import annotations

from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"


def scaffold(name: str, title: str, root: Path) -> list[Path]:
    targets = {
        "connector.py.tmpl": root / "connectors" / name / "__init__.py",
        "test_connector.py.tmpl": root / "tests" / "connectors" / name / f"test_{name}.py",
    }
    existing = [t for t in targets.values() if t.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists: pick another name")
    for template, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        text = Template((TEMPLATES / template).read_text()).substitute(name=name, title=title)
        target.write_text(text)
    (root / "tests" / "connectors" / name / "__init__.py").touch()
    return list(targets.values())
