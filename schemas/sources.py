"""One pandera model per source record type: the typed record, after normalisation.

Field names are the contracts' own; money is in 元 as `Decimal` (万元 converted exactly), dates
are dates, times are Asia/Shanghai timestamps, codes are trimmed and folded to half-width.
`PARSERS` says how each field is read from the wire; `schemas.validate` applies both.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

import schemas.checks  # noqa: F401 - registers the shared checks used in the Fields below

Timestamp = Annotated[pd.DatetimeTZDtype, "us", "Asia/Shanghai"]
Date = pa.DateTime  # a calendar date at midnight, datetime64
Money = object  # Decimal in 元, 2 places

PROJECT_TYPES = ("审批", "核准", "备案")
FUNDING = ("财政资金", "专项债券", "自筹资金", "PPP")
PROJECT_STATUS = ("已批复", "在建", "已竣工", "已撤销")
PAY_METHODS = ("直接支付", "授权支付")
INSPECTION_CATEGORIES = ("质量", "安全", "文明施工")
INSPECTION_RESULTS = ("合格", "限期整改", "停工整改")
ACCEPTANCE_RESULTS = ("合格", "不合格")
ISSUE_TYPES = ("违规支付", "超概算", "未批先建", "工程款拖欠", "招投标违规", "资料不全")
FINDING_STATUS = ("未整改", "整改中", "已整改")


class _Record(pa.DataFrameModel):
    class Config:
        strict = False  # framework columns (_key, _version, ...) ride along
        coerce = False


def _required(**checks) -> pa.Field:
    return pa.Field(nullable=False, **checks)


def _optional(**checks) -> pa.Field:
    return pa.Field(nullable=True, **checks)


class ProjectRecord(_Record):
    """发改 project (drc.md), key `xmdm`."""

    xmdm: Series[str] = _required(project_code=(), description="project code (项目代码)")
    xmmc: Series[str] = _required(description="project name")
    xmlx: Series[str] = _required(one_of={"values": PROJECT_TYPES}, description="审批|核准|备案")
    xmdw: Series[str] = _required(description="owner unit name")
    xmdwdm: Series[str] = _required(credit_code=(), description="owner unit credit code")
    tgdw: Series[str] = _optional(description="entrusted unit name; null when not entrusted")
    tgdwdm: Series[str] = _optional(credit_code=(), description="entrusted unit credit code")
    szqh: Series[str] = _required(division_code=(), description="division code (GB/T 2260)")
    ztz: Series[Money] = _required(
        money_at_least={"minimum": 0}, description="approved investment, 元"
    )
    zjly: Series[str] = _required(one_of={"values": FUNDING}, description="funding source")
    pfwh: Series[str] = _optional(description="approval document number")
    pfrq: Series[Date] = _optional(description="approval date")
    jhkgsj: Series[Date] = _required(description="planned start date")
    jhjgsj: Series[Date] = _required(description="planned completion date, not before the start")
    xmzt: Series[str] = _required(one_of={"values": PROJECT_STATUS}, description="status")
    gxsj: Series[Timestamp] = _required(description="last update")

    @pa.dataframe_check(name="not_before")
    def _end_after_start(cls, df: pd.DataFrame) -> pd.Series:
        return ~(df["jhjgsj"] < df["jhkgsj"])


class VoucherRecord(_Record):
    """财政 payment voucher (treasury.md), key `凭证号`; `收款人账号` is masked."""

    凭证号: Series[str] = _required(description="voucher number")
    支付日期: Series[Date] = _required(description="pay date; equals the requested pay_date")
    预算单位: Series[str] = _required(description="budget unit (paying agency)")
    预算单位编码: Series[str] = _required(
        digits={"count": 6}, description="treasury budget unit code"
    )
    功能分类科目: Series[str] = _optional(description="functional classification")
    项目代码: Series[str] = _optional(
        description="project code as entered (may be legacy or mistyped)"
    )
    项目名称: Series[str] = _optional(description="project name as typed")
    收款人全称: Series[str] = _required(description="payee name")
    收款人统一社会信用代码: Series[str] = _optional(
        credit_code=(), description="payee credit code; empty for individuals"
    )
    收款人账号: Series[str] = _optional(description="payee account, masked to its last 4 digits")
    金额: Series[Money] = _required(description="amount, 元; negative for a reversal")
    支付方式: Series[str] = _required(one_of={"values": PAY_METHODS}, description="payment method")
    原凭证号: Series[str] = _optional(description="for a reversal: the voucher it cancels")
    摘要: Series[str] = _optional(description="memo: 预付款, 进度款, 结算款, 质保金 …")

    @pa.dataframe_check(name="pay_date_matches")
    def _date_matches_request(cls, df: pd.DataFrame) -> pd.Series:
        if "_pay_date" not in df.columns:
            return pd.Series(True, index=df.index)
        requested = pd.to_datetime(
            df["_pay_date"].astype("string"), format="%Y-%m-%d", errors="coerce"
        )
        return (df["支付日期"] == requested) | df["支付日期"].isna()


class PermitRecord(_Record):
    """住建 construction permit (housing.md), key `permitNo`."""

    permitNo: Series[str] = _required(permit_no=(), description="permit number (18 digits)")
    projectCode: Series[str] = _optional(description="project code as entered; may be malformed")
    projectName: Series[str] = _required(description="project name at permit time")
    buildUnit: Series[str] = _required(description="owner unit name")
    buildUnitCreditCode: Series[str] = _required(
        credit_code=(), description="owner unit credit code"
    )
    contractor: Series[str] = _required(description="contractor name")
    contractorCreditCode: Series[str] = _required(
        credit_code=(), description="contractor credit code"
    )
    contractAmount: Series[Money] = _required(
        money_above={"minimum": 0}, description="contract amount, 元, > 0"
    )
    area: Series[float] = _optional(within={"low": 0, "high": 1e9}, description="floor area m²")
    issueDate: Series[Timestamp] = _required(description="issue date")
    regionCode: Series[str] = _required(division_code=(), description="division code")
    modifiedAt: Series[Timestamp] = _required(description="last modification")


class ProgressReportRecord(_Record):
    """住建 monthly progress report, key `reportId`."""

    reportId: Series[str] = _required(description="report id")
    permitNo: Series[str] = _required(description="the permit reported on")
    period: Series[str] = _required(month=(), description="month YYYY-MM")
    completionRate: Series[float] = _required(
        within={"low": 0, "high": 100}, description="share of the permit's work done, 0..100"
    )
    reportedAt: Series[Timestamp] = _required(description="when reported")
    modifiedAt: Series[Timestamp] = _required(description="last modification")


class InspectionRecord(_Record):
    """住建 quality/safety inspection, key `inspectionId`."""

    inspectionId: Series[str] = _required(description="inspection id")
    permitNo: Series[str] = _required(description="the permit inspected")
    inspectDate: Series[Timestamp] = _required(description="inspection date")
    category: Series[str] = _required(
        one_of={"values": INSPECTION_CATEGORIES}, description="质量|安全|文明施工"
    )
    result: Series[str] = _required(
        one_of={"values": INSPECTION_RESULTS}, description="合格|限期整改|停工整改"
    )
    hazardCount: Series[pd.Int64Dtype] = _required(
        at_least={"minimum": 0}, description="hazards found, ≥ 0"
    )
    rectifiedAt: Series[Timestamp] = _optional(description="when the required fix was confirmed")
    modifiedAt: Series[Timestamp] = _required(description="last modification")


class AcceptanceRecord(_Record):
    """住建 completion acceptance filing, key `filingNo`."""

    filingNo: Series[str] = _required(description="filing number")
    permitNo: Series[str] = _required(description="the permit accepted")
    acceptDate: Series[Timestamp] = _required(description="acceptance date")
    result: Series[str] = _required(
        one_of={"values": ACCEPTANCE_RESULTS}, description="合格|不合格"
    )
    modifiedAt: Series[Timestamp] = _required(description="last modification")


class DeletionRecord(_Record):
    """住建 tombstone, key `key`: the record of the named resource was deleted."""

    key: Series[str] = _required(description="key of the deleted record")
    deletedAt: Series[Timestamp] = _required(description="when deleted")
    modifiedAt: Series[Timestamp] = _required(description="last modification")


class FindingRecord(_Record):
    """审计 audit finding (audit.md), key `findingId`."""

    findingId: Series[str] = _required(description="finding id")
    auditReportNo: Series[str] = _optional(description="audit report number")
    auditedEntity: Series[str] = _required(description="audited unit name")
    auditedEntityCode: Series[str] = _required(
        credit_code=(), description="audited unit credit code"
    )
    projectRef: Series[str] = _optional(description="free text naming the project")
    issueType: Series[str] = _required(one_of={"values": ISSUE_TYPES}, description="issue type")
    amount: Series[Money] = _optional(
        money_at_least={"minimum": 0}, description="money involved, 元"
    )
    description: Series[str] = _optional(description="free text")
    foundOn: Series[Date] = _required(description="date found")
    status: Series[str] = _required(
        one_of={"values": FINDING_STATUS}, description="未整改|整改中|已整改"
    )
    deadline: Series[Date] = _optional(description="rectification deadline")
    lastModified: Series[Timestamp] = _required(description="last modification")


MODELS: dict[str, type[_Record]] = {
    "project": ProjectRecord,
    "voucher": VoucherRecord,
    "permit": PermitRecord,
    "progress_report": ProgressReportRecord,
    "inspection": InspectionRecord,
    "acceptance": AcceptanceRecord,
    "deletion": DeletionRecord,
    "finding": FindingRecord,
}

# how each field is read from the wire (fields not named here are text)
PARSERS: dict[str, dict[str, str]] = {
    "project": {
        "xmdm": "code", "xmdwdm": "code", "tgdwdm": "code", "szqh": "code",
        "ztz": "money_wan", "pfrq": "date_compact", "jhkgsj": "date_compact",
        "jhjgsj": "date_compact", "gxsj": "time_local",
    },
    "voucher": {
        "凭证号": "code", "支付日期": "date_dashed", "预算单位编码": "code", "项目代码": "code",
        "收款人统一社会信用代码": "code", "收款人账号": "masked", "金额": "money_yuan",
        "原凭证号": "code",
    },
    "permit": {
        "permitNo": "code", "projectCode": "code", "buildUnitCreditCode": "code",
        "contractorCreditCode": "code", "contractAmount": "money_wan", "area": "number",
        "regionCode": "code", "issueDate": "epoch", "modifiedAt": "epoch",
    },
    "progress_report": {
        "reportId": "code", "permitNo": "code", "completionRate": "number",
        "reportedAt": "epoch", "modifiedAt": "epoch",
    },
    "inspection": {
        "inspectionId": "code", "permitNo": "code", "hazardCount": "integer",
        "inspectDate": "epoch", "rectifiedAt": "epoch", "modifiedAt": "epoch",
    },
    "acceptance": {
        "filingNo": "code", "permitNo": "code", "acceptDate": "epoch", "modifiedAt": "epoch",
    },
    "deletion": {"key": "code", "deletedAt": "epoch", "modifiedAt": "epoch"},
    "finding": {
        "findingId": "code", "auditedEntityCode": "code", "amount": "money_wan",
        "foundOn": "date_dashed", "deadline": "date_dashed", "lastModified": "time_iso",
    },
}  # fmt: skip

SENSITIVE: dict[str, tuple[str, ...]] = {"voucher": ("收款人账号",)}


def field_names(record_type: str) -> list[str]:
    return list(MODELS[record_type].to_schema().columns)


def required_fields(record_type: str) -> list[str]:
    columns = MODELS[record_type].to_schema().columns
    return [name for name, col in columns.items() if not col.nullable]
