"""Audit findings per project, and the flag an overdue one raises."""

from __future__ import annotations

from typing import Any

import numpy as np

from transforms.unify import Projects, count, day, money


def findings(ps: Projects) -> dict[str, Any]:
    rows, at = ps.linked("finding", "findingId")
    still_open = (rows["status"] != "已整改").to_numpy()
    return {
        "finding_count": count(at, ps.n),
        "open_finding_count": count(at[still_open], ps.n),
        "finding_amount": money(at, rows["amount"], ps.n),
    }


def overdue(ps: Projects) -> np.ndarray:
    rows, at = ps.linked("finding", "findingId")
    still_open = (rows["status"] != "已整改").to_numpy()
    late = (day(rows["deadline"][still_open]) < ps.today).to_numpy()
    return count(at[still_open][late], ps.n) > 0
