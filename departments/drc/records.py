"""发改 project records (drc.md), typed."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.records import Date, Money, Record, RecordType, Timestamp, optional, required

PROJECT_TYPES = ("审批", "核准", "备案")
FUNDING = ("财政资金", "专项债券", "自筹资金", "PPP")
PROJECT_STATUS = ("已批复", "在建", "已竣工", "已撤销")


class ProjectRecord(Record):
    """发改 project (drc.md), key `xmdm`."""

    xmdm: Series[str] = required(project_code=(), description="project code (项目代码)")
    xmmc: Series[str] = required(description="project name")
    xmlx: Series[str] = required(one_of={"values": PROJECT_TYPES}, description="审批|核准|备案")
    xmdw: Series[str] = required(description="owner unit name")
    xmdwdm: Series[str] = required(credit_code=(), description="owner unit credit code")
    tgdw: Series[str] = optional(description="entrusted unit name; null when not entrusted")
    tgdwdm: Series[str] = optional(credit_code=(), description="entrusted unit credit code")
    szqh: Series[str] = required(division_code=(), description="division code (GB/T 2260)")
    ztz: Series[Money] = required(
        money_at_least={"minimum": 0}, description="approved investment, 元"
    )
    zjly: Series[str] = required(one_of={"values": FUNDING}, description="funding source")
    pfwh: Series[str] = optional(description="approval document number")
    pfrq: Series[Date] = optional(description="approval date")
    jhkgsj: Series[Date] = required(description="planned start date")
    jhjgsj: Series[Date] = required(description="planned completion date, not before the start")
    xmzt: Series[str] = required(one_of={"values": PROJECT_STATUS}, description="status")
    gxsj: Series[Timestamp] = required(description="last update")

    @pa.dataframe_check(name="not_before")
    def _end_after_start(cls, df: pd.DataFrame) -> pd.Series:
        return ~(df["jhjgsj"] < df["jhkgsj"])


PROJECT = RecordType(
    "project",
    ProjectRecord,
    key="xmdm",
    parsers={
        "xmdm": "code", "xmdwdm": "code", "tgdwdm": "code", "szqh": "code",
        "ztz": "money_wan", "pfrq": "date_compact", "jhkgsj": "date_compact",
        "jhjgsj": "date_compact", "gxsj": "time_local",
    },
    check_words={"not_before": "jhjgsj (planned completion) is before jhkgsj (planned start)"},
)  # fmt: skip
