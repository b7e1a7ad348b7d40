"""The data dictionary of the unified dataset, rendered from the pandera models."""

from __future__ import annotations

from schemas.unified import TABLES

HEADER = """# Data dictionary of the unified dataset

Generated from `schemas/unified.py` by `yiwang schemas dictionary`; do not edit by hand.
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


def render() -> str:
    parts = [HEADER]
    for name, model in TABLES.items():
        schema = model.to_schema()
        parts.append(f"\n## `{name}`\n\n{(model.__doc__ or '').strip()}\n")
        unique = schema.unique or []
        if unique:
            parts.append(f"\nKey: ({', '.join(f'`{c}`' for c in unique)}).\n")
        parts.append("\n| column | type | null | meaning | checks |\n|---|---|---|---|---|\n")
        for col_name, col in schema.columns.items():
            checks = ", ".join(c.name for c in col.checks) or ""
            if col.unique:
                checks = ", ".join(filter(None, ["unique", checks]))
            null = "yes" if col.nullable else "no"
            row = (f"`{col_name}`", _type(col), null, _cell(col.description), checks)
            parts.append("| " + " | ".join(row) + " |\n")
    return "".join(parts)
