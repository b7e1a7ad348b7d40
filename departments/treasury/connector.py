"""财政 treasury payments (contracts/departments/treasury.md): one GBK CSV per pay date."""

from __future__ import annotations

import datetime as dt

from connectors.core import Connector, DayPartitions, GbkCsv, HmacSignature, Stream

FIELDS = (
    "凭证号", "支付日期", "预算单位", "预算单位编码", "功能分类科目", "项目代码", "项目名称",
    "收款人全称", "收款人统一社会信用代码", "收款人账号", "金额", "支付方式", "原凭证号", "摘要",
)  # fmt: skip

connector = Connector(
    name="treasury",
    title="Finance treasury centralized payment (财政 国库集中支付)",
    conn_id="treasury_api",
    auth=HmacSignature,
    streams=(
        Stream(
            name="vouchers",
            record_type="voucher",
            path="/treasury/v2/vouchers",
            key="凭证号",
            fields=FIELDS,
            # vouchers are never edited; late ones (补录) arrive within 3 days of their date
            paginator=DayPartitions(start=dt.date(2024, 1, 1), settle_days=3),
            format=GbkCsv(),
            sensitive=("收款人账号",),
            request_context=("pay_date",),  # a row's 支付日期 must equal the day asked for
        ),
    ),
)
