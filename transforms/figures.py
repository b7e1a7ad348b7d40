"""Figures and flags as declarations: which published project columns a department's records
fill and how, and which risk flags they raise and when, each with its rule in words.

`transforms.unify` computes the project table by calling them; the API answers "where does
this figure come from" from them, and the data dictionary lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from transforms.links import Unregistered

if TYPE_CHECKING:
    from transforms.unify import Projects


@dataclass(frozen=True)
class Figure:
    columns: tuple[str, ...]  # the `project` columns it fills
    records: tuple[str, ...]  # the record types it is computed from (its provenance)
    rule: str  # how, in words
    # each column's values, one per project in `Projects.ids` order
    compute: Callable[[Projects], Mapping[str, Any]]


@dataclass(frozen=True)
class Flag:
    code: str  # published in `project.risk_flags`
    records: tuple[str, ...]  # the record types whose facts raise it
    rule: str  # when, as of the snapshot's `as_of_date`
    # whether each project raises it, once every figure is computed
    raises: Callable[[Projects], np.ndarray]


@dataclass(frozen=True)
class Published:
    """A table of the contract a department fills on its own (`project_geometry`)."""

    table: str  # its name in `schemas.unified.TABLES`
    records: tuple[str, ...]  # the record types it is computed from
    rule: str  # how, in words
    compute: Callable[[Projects], pd.DataFrame]  # its rows, the model's columns


@dataclass(frozen=True)
class Plan:
    """Everything the project table is computed from, in the order it is computed."""

    figures: Sequence[Figure]  # the registry's first: the others may read its columns
    flags: Sequence[Flag]  # in code order, as `risk_flags` lists them
    # the record types that anchor `X-` projects (record type, key, what identifies the works)
    anchors: Sequence[tuple[str, str, Unregistered]] = ()
    tables: Sequence[Published] = ()  # the departments' own tables
