"""Payments per project, and the flags payments raise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from transforms.unify import Projects, count, day, extreme, money


def payments(ps: Projects) -> dict[str, Any]:
    vouchers, at = ps.linked("voucher", "凭证号")
    paid_on = day(vouchers["支付日期"])
    return {
        "paid_amount": money(at, vouchers["金额"], ps.n),
        "payment_count": count(at, ps.n),
        "first_payment_date": extreme(at, paid_on, ps.n, "min"),
        "last_payment_date": extreme(at, paid_on, ps.n, "max"),
    }


def over_budget(ps: Projects) -> np.ndarray:
    p = ps.table
    return np.array(
        [
            isinstance(a, Decimal) and paid > a
            for paid, a in zip(p["paid_amount"], p["approved_investment"], strict=True)
        ],
        dtype=bool,
    )


def paid_before_permit(ps: Projects) -> np.ndarray:
    permits, permit_at = ps.linked("permit", "permitNo")
    vouchers, voucher_at = ps.linked("voucher", "凭证号")
    first_permit = extreme(permit_at, day(permits["issueDate"]), ps.n, "min")
    progress = (vouchers["摘要"] == "进度款").to_numpy()
    first_progress = extreme(voucher_at[progress], day(vouchers["支付日期"][progress]), ps.n, "min")
    return ~np.isnat(first_progress) & (np.isnat(first_permit) | (first_progress < first_permit))
