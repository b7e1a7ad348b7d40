"""12345 work orders (hotline.md), typed. Personal data never reaches here in clear: the
connector masks it before anything is landed (`departments.hotline.connector`)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.records import Record, RecordType, Timestamp, optional, required

CHANNELS = ("电话", "网站", "微信", "APP")
CATEGORIES = ("投诉", "举报", "咨询", "求助", "建议")
STATUSES = ("已受理", "办理中", "已办结", "已回访")
SATISFACTION = ("满意", "基本满意", "不满意")
CONSTRUCTION = "城乡建设/建筑施工/"  # the topic prefix of construction matters
SENSITIVE = ("callerName", "callerPhone")


class WorkOrderRecord(Record):
    """12345 work order (hotline.md), key `orderNo`."""

    orderNo: Series[str] = required(description="SZ + acceptance date YYYYMMDD + 6 digits")
    acceptedAt: Series[Timestamp] = required(description="when accepted")
    channel: Series[str] = required(one_of={"values": CHANNELS}, description="电话|网站|微信|APP")
    category: Series[str] = required(
        one_of={"values": CATEGORIES}, description="投诉|举报|咨询|求助|建议"
    )
    topic: Series[str] = optional(description="classification path, e.g. 城乡建设/建筑施工/…")
    title: Series[str] = optional(description="short title (phone and ID numbers masked)")
    content: Series[str] = optional(description="the citizen's words (phone and ID masked)")
    address: Series[str] = optional(description="where it happened (free text)")
    regionCode: Series[str] = optional(
        digits={"count": 6}, description="division code, or 320571 (工业园区); may be empty"
    )
    longitude: Series[float] = optional(
        within={"low": 73, "high": 136}, description="APP orders: GCJ-02 longitude"
    )
    latitude: Series[float] = optional(
        within={"low": 3, "high": 54}, description="APP orders: GCJ-02 latitude"
    )
    handlingUnit: Series[str] = optional(description="unit dispatched to (承办单位)")
    status: Series[str] = required(
        one_of={"values": STATUSES}, description="已受理|办理中|已办结|已回访"
    )
    closedAt: Series[Timestamp] = optional(description="when closed")
    satisfaction: Series[str] = optional(
        one_of={"values": SATISFACTION}, description="满意|基本满意|不满意, once followed up"
    )
    callerName: Series[str] = optional(description="personal data: never kept (always null)")
    callerPhone: Series[str] = optional(description="keyed hash `h:<16 hex>` of the phone")
    updatedAt: Series[Timestamp] = required(description="last modification")

    @pa.dataframe_check(name="order_no_matches")
    def _order_no_matches(cls, df: pd.DataFrame) -> pd.Series:
        accepted = df["acceptedAt"].dt.strftime("%Y%m%d").astype(object)
        shaped = df["orderNo"].astype(object).str.fullmatch(r"SZ\d{14}").fillna(False)
        same_day = df["orderNo"].astype(object).str.slice(2, 10) == accepted
        unknown = df["orderNo"].isna() | df["acceptedAt"].isna()  # said by other checks
        return (shaped.astype(bool) & same_day.fillna(False).astype(bool)) | unknown


WORK_ORDER = RecordType(
    "work_order",
    WorkOrderRecord,
    key="orderNo",
    parsers={
        "orderNo": "code", "acceptedAt": "time_local", "regionCode": "code",
        "longitude": "number", "latitude": "number", "closedAt": "time_local",
        "updatedAt": "time_local",
    },
    sensitive=SENSITIVE,
    check_words={
        "order_no_matches": "orderNo is not SZ + the acceptance date YYYYMMDD + 6 digits"
    },
)  # fmt: skip
