"""财政 treasury payments (contracts/departments/treasury.md): one GBK CSV per pay date."""

from __future__ import annotations

from departments.declare import Department
from departments.treasury.connector import connector
from departments.treasury.figures import over_budget, paid_before_permit, payments
from departments.treasury.records import VOUCHER
from departments.treasury.simulator import TreasuryServer
from simulators.declare import Served, Simulator
from simulators.world import calendar as cal
from transforms.figures import Figure, Flag
from transforms.links import (
    NAME_UNIT_ENTRUSTED,
    NAME_UNIT_ENTRUSTED_ELSEWHERE,
    NAME_UNIT_PAID_WITH_CODE,
    Follows,
    NameWithinUnit,
    PartyOf,
    ProjectCode,
)

department = Department(
    connector=connector,
    records=(VOUCHER,),
    links={
        "voucher": (
            ProjectCode("项目代码"),
            NameWithinUnit(
                "项目名称",
                # the budget unit code stays when a unit is renamed or merged (机构改革)
                blocks=("预算单位", "预算单位编码"),
                roles=("owner_name", "entrusted_name"),
                tie_breaks=(
                    PartyOf("收款人统一社会信用代码", "permit", "contractorCreditCode"),
                    # a management fee (托管服务费) goes to the project's entrusted unit, and
                    # to no other project's
                    PartyOf(
                        "收款人统一社会信用代码",
                        "project",
                        "tgdwdm",
                        NAME_UNIT_ENTRUSTED,
                        sole=NAME_UNIT_ENTRUSTED_ELSEWHERE,
                        sole_when=("摘要", "托管服务费"),
                    ),
                    # a firm (监理, 设计, 检测) paid for one of them by vouchers with its code
                    PartyOf(
                        "收款人统一社会信用代码",
                        "voucher",
                        "收款人统一社会信用代码",
                        NAME_UNIT_PAID_WITH_CODE,
                    ),
                ),
                when="支付日期",
            ),
            # a reversal (冲销) typed without code or name: its original's project
            Follows("原凭证号", "voucher"),
        )
    },
    simulator=Simulator(
        server=TreasuryServer,
        credentials=("appid", "secret"),
        served=(
            Served(
                "vouchers",
                "vouchers",
                "voucher",
                serves=lambda rows: rows["_pay_day"] >= cal.day(cal.TREASURY_FIRST_DAY),
            ),
        ),
    ),
    figures=(
        Figure(
            ("paid_amount", "payment_count", "first_payment_date", "last_payment_date"),
            ("voucher",),
            "sum (net of reversals), count and first and last pay date of linked vouchers",
            payments,
        ),
    ),
    flags=(
        Flag(
            "OVER_BUDGET",
            ("voucher", "project"),
            "`paid_amount` > `approved_investment`",
            over_budget,
        ),
        Flag(
            "PAID_BEFORE_PERMIT",
            ("voucher", "permit"),
            "a voucher with memo `进度款` is dated before the earliest issue date of the "
            "project's live permits, or the project has such a voucher and no live permit",
            paid_before_permit,
        ),
    ),
)
