"""Figures and flags as declarations: which published project columns a department's records
fill, and which risk flags they raise, each with the rule in words.

`transforms.unify` computes them; the API answers "where does this figure come from" from
them, and the data dictionary lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    columns: tuple[str, ...]  # the `project` columns it fills
    records: tuple[str, ...]  # the record types it is computed from (its provenance)
    rule: str  # how, in words


@dataclass(frozen=True)
class Flag:
    code: str  # published in `project.risk_flags`
    records: tuple[str, ...]  # the record types whose facts raise it
    rule: str  # when, as of the snapshot's `as_of_date`
