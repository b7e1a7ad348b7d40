"""发改 project registry (contracts/departments/drc.md): the backbone that issues project codes."""

from __future__ import annotations

import re

from connectors.core import BusinessCode, Connector, HeaderKey, JsonItems, PageNumber, Stream

FIELDS = (
    "xmdm", "xmmc", "xmlx", "xmdw", "xmdwdm", "tgdw", "tgdwdm", "szqh",
    "ztz", "zjly", "pfwh", "pfrq", "jhkgsj", "jhjgsj", "xmzt", "gxsj",
)  # fmt: skip

GXSJ = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _updated_since(gxsj: str) -> str:
    """The last `gxsj` read (Beijing time) as the ISO form `updated_since` wants."""
    return gxsj.replace(" ", "T") + "+08:00"


connector = Connector(
    name="drc",
    title="Development and reform project registry (发改 投资项目在线审批监管平台)",
    conn_id="drc_api",
    auth=HeaderKey,
    streams=(
        Stream(
            name="projects",
            record_type="project",
            path="/api/v1/projects",
            key="xmdm",
            fields=FIELDS,
            version="gxsj",
            paginator=PageNumber(
                since_param="updated_since",
                since_format=_updated_since,
                version_pattern=GXSJ,
                total=("data", "total"),
            ),
            format=JsonItems(
                items=("data", "records"),
                business=BusinessCode(transient=frozenset({5001, 5002})),
            ),
        ),
    ),
)
