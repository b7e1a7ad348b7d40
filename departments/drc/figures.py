"""What the registry's records say of each project (null for `X-` projects)."""

from __future__ import annotations

from typing import Any

from transforms.unify import Projects

# project column -> registry field
IDENTITY = {
    "project_name": "xmmc", "region_code": "szqh", "owner_unit_name": "xmdw",
    "owner_unit_code": "xmdwdm", "entrusted_unit_name": "tgdw", "entrusted_unit_code": "tgdwdm",
    "approval_type": "xmlx", "status": "xmzt", "funding_source": "zjly",
    "approved_investment": "ztz", "approval_date": "pfrq", "planned_start_date": "jhkgsj",
    "planned_end_date": "jhjgsj",
}  # fmt: skip


def registry_fields(ps: Projects) -> dict[str, Any]:
    p = ps.table
    registry = ps.accepted["project"].set_index("xmdm")
    registered = p.index.isin(registry.index)
    out: dict[str, Any] = {
        "project_code": p["project_id"].where(~p.index.str.startswith("X-"), None)
    }
    for column, field in IDENTITY.items():
        out[column] = (
            registry[field].reindex(p.index).where(registered, None) if field in registry else None
        )
    return out
