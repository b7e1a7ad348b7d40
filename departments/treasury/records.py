"""财政 payment vouchers (treasury.md), typed; `收款人账号` is masked."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.records import Date, Money, Record, RecordType, optional, required

PAY_METHODS = ("直接支付", "授权支付")


class VoucherRecord(Record):
    """财政 payment voucher (treasury.md), key `凭证号`; `收款人账号` is masked."""

    凭证号: Series[str] = required(description="voucher number")
    支付日期: Series[Date] = required(description="pay date; equals the requested pay_date")
    预算单位: Series[str] = required(description="budget unit (paying agency)")
    预算单位编码: Series[str] = required(
        digits={"count": 6}, description="treasury budget unit code"
    )
    功能分类科目: Series[str] = optional(description="functional classification")
    项目代码: Series[str] = optional(
        description="project code as entered (may be legacy or mistyped)"
    )
    项目名称: Series[str] = optional(description="project name as typed")
    收款人全称: Series[str] = required(description="payee name")
    收款人统一社会信用代码: Series[str] = optional(
        credit_code=(), description="payee credit code; empty for individuals"
    )
    收款人账号: Series[str] = optional(description="payee account, masked to its last 4 digits")
    金额: Series[Money] = required(description="amount, 元; negative for a reversal")
    支付方式: Series[str] = required(one_of={"values": PAY_METHODS}, description="payment method")
    原凭证号: Series[str] = optional(description="for a reversal: the voucher it cancels")
    摘要: Series[str] = optional(description="memo: 预付款, 进度款, 结算款, 质保金 …")

    @pa.dataframe_check(name="pay_date_matches")
    def _date_matches_request(cls, df: pd.DataFrame) -> pd.Series:
        if "_pay_date" not in df.columns:
            return pd.Series(True, index=df.index)
        requested = pd.to_datetime(
            df["_pay_date"].astype("string"), format="%Y-%m-%d", errors="coerce"
        )
        return (df["支付日期"] == requested) | df["支付日期"].isna()


VOUCHER = RecordType(
    "voucher",
    VoucherRecord,
    key="凭证号",
    parsers={
        "凭证号": "code", "支付日期": "date_dashed", "预算单位编码": "code", "项目代码": "code",
        "收款人统一社会信用代码": "code", "收款人账号": "masked", "金额": "money_yuan",
        "原凭证号": "code",
    },
    sensitive=("收款人账号",),
    check_words={
        "pay_date_matches": "支付日期 differs from the pay_date the file was requested for"
    },
    payload="csv",
)  # fmt: skip
