"""The hotline's published figures (unified-dataset.md, Version 1.1): complaints, the open
ones, satisfaction, COMPLAINT_BACKLOG and the `work_order` table, from the linked orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from departments.hotline.figures import backlog, complaints, orders_table
from transforms.unify import Projects

COLUMNS = ["orderNo", "project_id", "category", "title", "status", "satisfaction", "acceptedAt",
           "topic", "closedAt", "regionCode"]  # fmt: skip
NOISE = "城乡建设/建筑施工/夜间施工噪音"


def given(orders: list[tuple]) -> Projects:
    """(orderNo, project, category, title, status, satisfaction, accepted day) per order."""
    rows = pd.DataFrame([(*o, NOISE, None, "320508") for o in orders], columns=COLUMNS).assign(
        acceptedAt=lambda f: pd.to_datetime(f["acceptedAt"]).dt.tz_localize("Asia/Shanghai")
    )
    links = pd.DataFrame(
        {"source_system": "hotline", "record_type": "work_order", "record_key": rows["orderNo"],
         "project_id": rows["project_id"]}
    )  # fmt: skip
    return Projects({"work_order": rows.drop(columns="project_id")}, links, dt.date(2026, 11, 23))


ORDERS = [
    ("SZ1", "P-1", "投诉", "反映噪音", "已受理", None, "2026-11-01"),  # open 22 days: backlog
    ("SZ2", "P-1", "举报", "反映扬尘", "已回访", "满意", "2026-10-01"),
    ("SZ3", "P-1", "投诉", "【重复工单】反映噪音", "已办结", "不满意", "2026-11-02"),  # no count
    ("SZ4", "P-1", "咨询", "咨询工期", "已回访", "基本满意", "2026-09-01"),  # not a complaint
    ("SZ5", "P-2", "投诉", "反映占道", "办理中", None, "2026-11-20"),  # open 3 days: no backlog
    ("SZ6", None, "投诉", "家门口的工地", "已受理", None, "2026-01-01"),  # unlinked
]  # fmt: skip


def test_given_linked_orders_then_complaints_exclude_duplicates_and_enquiries():
    got = complaints(given(ORDERS))
    assert got["complaint_count"].tolist() == [2, 1]
    assert got["open_complaint_count"].tolist() == [1, 1]
    # 满意 + 基本满意 of the three linked orders with a satisfaction, duplicates included
    assert got["satisfaction_rate"].tolist() == [Decimal("66.67"), None]


def test_given_an_open_complaint_older_than_15_days_then_backlog_is_raised():
    assert backlog(given(ORDERS)).tolist() == [True, False]


def test_given_orders_then_the_table_holds_every_construction_order_linked_or_not():
    table = orders_table(given(ORDERS))
    assert table["order_no"].tolist() == ["SZ1", "SZ2", "SZ3", "SZ4", "SZ5", "SZ6"]
    assert table["project_id"].tolist() == ["P-1", "P-1", "P-1", "P-1", "P-2", None]
    assert str(table["accepted_at"].dtype) == "datetime64[us, UTC]"
    assert table["accepted_at"][0] == pd.Timestamp("2026-10-31 16:00", tz="UTC")
    assert not {"callerName", "callerPhone", "content"} & set(table.columns)
