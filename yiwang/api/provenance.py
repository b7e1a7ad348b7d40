"""Where each published figure of a project comes from: the department and record type its
declaration names (`Department.figures`), the contract's definition of the column and how the
department computes it, and the keys of the project's records of that type."""

from typing import Any

from departments.registry import figures as declared
from schemas.unified import TABLES

described = TABLES["project"].to_schema().columns  # the figures' rules, built once
# column -> (source system, the record type it is computed from first, how), in column order
_declared = declared()
FIGURE_SOURCES = {
    column: (_declared[column][0], _declared[column][1].records[0], _declared[column][1].rule)
    for column in described
    if column in _declared
}


def figures(out: dict[str, Any], keys: dict[str, list[str]]) -> dict[str, Any]:
    """Each figure of project `out`, its rule, and the keys of the records it came from."""
    return {
        name: {
            "value": out[name],
            "rule": described[name].description,
            "computed_as": computed_as,
            "source_system": system,
            "record_type": record_type,
            "record_keys": keys.get(record_type, []),
        }
        for name, (system, record_type, computed_as) in FIGURE_SOURCES.items()
    }
