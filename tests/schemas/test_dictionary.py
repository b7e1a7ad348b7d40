"""The published tables' models match the contract (and the hub's own additions after it), and
the data dictionary matches the models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from departments.registry import HUB_FIGURES
from departments.registry import dictionary as render
from schemas.unified import TABLES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def contract_columns() -> dict[str, list[str]]:
    """Column names of every table in docs/contracts/unified-dataset.md, in order."""
    text = (DOCS / "contracts" / "unified-dataset.md").read_text()
    tables: dict[str, list[str]] = {}
    for section in re.split(r"\n## ", text)[1:]:
        name = re.match(r"`(\w+)`", section)
        if not name:
            continue
        body = section.split("\n### ")[0]  # sub-sections (risk flags) are not columns
        rows = [line.split("|")[1] for line in body.splitlines() if line.startswith("| `")]
        if not rows:  # prose: "...: `a`, `b` (`x` or null) and `c`." / "Columns: `a`, `b`."
            prose = body.split("Columns:")[-1] if "Columns:" in body else body.split(":\n", 1)[1]
            rows = [re.sub(r"\([^)]*\)", "", prose.split(". ")[0])]
        tables[name.group(1)] = [c for row in rows for c in re.findall(r"`(\w+)`", row)]
    # later versions' additions: "New `project` columns:" tables, and "New table `x` — …: `a`
    # (…), `b`." paragraphs
    for version in re.findall(r"\n## Version .*?(?=\n## |\Z)", text, re.S):
        for table, body in re.findall(r"New `(\w+)` columns:\n\n(.*?)\n\n", version, re.S):
            rows = [line.split("|")[1] for line in body.splitlines() if line.startswith("| `")]
            tables[table] += [c for row in rows for c in re.findall(r"`(\w+)`", row)]
        for table, prose in re.findall(r"New table `(\w+)` — [^:]*:\n?(.*?)\.\n", version, re.S):
            prose = re.sub(r"\([^)]*\)", "", prose)
            tables[table] = re.findall(r"`(\w+)`", prose)
    return tables


def hub_additions(table: str) -> list[str]:
    """The columns the hub publishes beyond the contract, after the contract's: those its own
    figures (the forecasts) declare."""
    return [c for f in HUB_FIGURES for c in f.columns] if table == "project" else []


@pytest.mark.parametrize("table", list(TABLES))
def test_given_the_contract_then_each_table_model_has_exactly_its_columns(table):
    expected = contract_columns()[table] + hub_additions(table)
    actual = list(TABLES[table].to_schema().columns)
    assert (
        actual == [c for c in expected if c not in ("red", "black", "null")] or actual == expected
    )


def test_given_the_models_then_the_committed_data_dictionary_is_current():
    assert (DOCS / "data-dictionary.md").read_text() == render(), (
        "run `yiwang schemas dictionary` and commit docs/data-dictionary.md"
    )


def test_given_the_cli_then_it_writes_the_committed_dictionary(tmp_path):
    from typer.testing import CliRunner

    from yiwang.cli.main import app

    out = tmp_path / "dictionary.md"
    done = CliRunner().invoke(app, ["schemas", "dictionary", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_text() == (DOCS / "data-dictionary.md").read_text()
