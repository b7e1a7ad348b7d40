"""The data dictionary of the unified dataset, rendered from the pandera models and from what
the departments declare (`departments.registry.dictionary` passes their declarations in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schemas.unified import TABLES

HEADER = """# Data dictionary of the unified dataset

Generated from `schemas/unified.py` and the departments' declarations (`departments/`) by
`yiwang schemas dictionary`; do not edit by hand.
The contract is docs/contracts/unified-dataset.md; `tests/schemas/test_dictionary.py` holds
the models to it. Money is `Decimal` in 元 (NUMERIC(18,2)); dates are dates.

Beyond the contract, every published table carries `row_hash` (SHA-256 of the row's canonical
line, so `yiwang verify` can name an edited row) and `publish_run` carries `seq` (publication
order); see yiwang/store/canonical.py.
"""


TYPES = {
    "object": "numeric (元)",
    "string[python]": "text",
    "str": "text",
    "int64": "int",
    "float64": "real",
    "datetime64[ns]": "date",
    "datetime64[us, UTC]": "timestamp with time zone",
}


def _type(column) -> str:
    return TYPES.get(str(column.dtype), str(column.dtype))


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|")


@dataclass(frozen=True)
class Declared:
    """What the departments declare, as the dictionary shows it."""

    departments: Sequence[tuple[str, str, Sequence[tuple[str, str, str]]]]
    # (name, title, [(record type, key, evidence in words)])
    figures: Mapping[str, str]  # project column -> "department: record types"
    computed: Sequence[tuple[str, str, str]]  # (columns, from, how), per declared figure
    flags: Sequence[tuple[str, str, str]]  # (code, from, rule)
    methods: Sequence[tuple[str, float, str]]  # (link_method, link_confidence, rule)


def render(declared: Declared) -> str:
    parts = [HEADER]
    parts.append("\n## Departments\n\n| system | title | record types (key): linking evidence |\n")
    parts.append("|---|---|---|\n")
    for name, title, records in declared.departments:
        said = "<br>".join(f"`{rt}` (`{key}`): {_cell(ev)}" for rt, key, ev in records)
        parts.append(f"| `{name}` | {_cell(title)} | {said} |\n")
    for name, model in TABLES.items():
        schema = model.to_schema()
        parts.append(f"\n## `{name}`\n\n{(model.__doc__ or '').strip()}\n")
        unique = schema.unique or []
        if unique:
            parts.append(f"\nKey: ({', '.join(f'`{c}`' for c in unique)}).\n")
        sourced = name == "project"
        parts.append(
            "\n| column | type | null | meaning | checks |"
            + (" from |\n|---|---|---|---|---|---|\n" if sourced else "\n|---|---|---|---|---|\n")
        )
        for col_name, col in schema.columns.items():
            checks = ", ".join(c.name for c in col.checks) or ""
            if col.unique:
                checks = ", ".join(filter(None, ["unique", checks]))
            null = "yes" if col.nullable else "no"
            row = [f"`{col_name}`", _type(col), null, _cell(col.description), checks]
            if sourced:
                row.append(_cell(declared.figures.get(col_name, "")))
            parts.append("| " + " | ".join(row) + " |\n")
    parts.append(
        "\n## Figures\n\nHow each department computes the `project` columns it declares.\n"
        "\n| columns | from | how |\n|---|---|---|\n"
    )
    for columns, source, how in declared.computed:
        parts.append(f"| {columns} | {_cell(source)} | {_cell(how)} |\n")
    parts.append("\n## Risk flags\n\n| code | from | when |\n|---|---|---|\n")
    for code, source, rule in declared.flags:
        parts.append(f"| `{code}` | {_cell(source)} | {_cell(rule)} |\n")
    parts.append(
        "\n## Link methods\n\n`source_record.link_method` and `link_confidence`, by rule.\n"
        "\n| link_method | link_confidence | when |\n|---|---|---|\n"
    )
    for label, confidence, rule in declared.methods:
        parts.append(f"| `{label}` | {confidence:g} | {_cell(rule)} |\n")
    return "".join(parts)
