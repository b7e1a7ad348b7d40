"""Valid wire records of every type, as the connectors hand them over, to corrupt in tests."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from connectors.core.formats import record_frame
from departments.registry import registry

MS = 1_700_000_000_000  # 2023-11-15 06:13:20 +08:00

GOOD = {
    "project": {
        "xmdm": "2023-320506-48-01-000123", "xmmc": "苏州市吴中区示范工程（一期）", "xmlx": "审批",
        "xmdw": "苏州市吴中区教育局", "xmdwdm": "91320500MA1MXXXX0X", "tgdw": None, "tgdwdm": None,
        "szqh": "320506", "ztz": "38,000.00", "zjly": "财政资金", "pfwh": "苏发改投〔2023〕123号",
        "pfrq": "20230301", "jhkgsj": "20230401", "jhjgsj": "20251231", "xmzt": "在建",
        "gxsj": "2026-11-02 10:00:00",
    },
    "voucher": {
        "凭证号": "ZF20261102000123", "支付日期": "2026-11-02", "预算单位": "苏州市吴中区教育局",
        "预算单位编码": "751129", "功能分类科目": "2120303 小城镇基础设施建设", "项目代码": "SZJS-2021-0087",
        "项目名称": "示范工程一标段", "收款人全称": "苏州建工集团", "收款人统一社会信用代码": "91320500MA1MXXXX0X",
        "收款人账号": "6222021234567890", "金额": "1,234,567.89", "支付方式": "直接支付", "原凭证号": "",
        "摘要": "进度款", "_pay_date": "2026-11-02",
    },
    "permit": {
        "permitNo": "320506202305120101", "projectCode": None, "projectName": "示范工程一标段",
        "buildUnit": "苏州市吴中区教育局", "buildUnitCreditCode": "91320500MA1MXXXX0X",
        "contractor": "苏州建工集团", "contractorCreditCode": "91320500MA1MXXXX0X",
        "contractAmount": Decimal("1234.5678"), "area": Decimal("15000.5"), "issueDate": MS,
        "regionCode": "320506", "modifiedAt": MS,
    },
    "progress_report": {
        "reportId": "RPT1", "permitNo": "320506202305120101", "period": "2026-10",
        "completionRate": Decimal("56.5"), "reportedAt": MS, "modifiedAt": MS,
    },
    "inspection": {
        "inspectionId": "JC1", "permitNo": "320506202305120101", "inspectDate": MS, "category": "安全",
        "result": "停工整改", "hazardCount": 3, "rectifiedAt": None, "modifiedAt": MS,
    },
    "acceptance": {
        "filingNo": "BA1", "permitNo": "320506202305120101", "acceptDate": MS, "result": "合格",
        "modifiedAt": MS,
    },
    "finding": {
        "findingId": "SJ-2026-0042-03", "auditReportNo": "苏审投报〔2026〕12号", "auditedEntity": "苏州市吴中区教育局",
        "auditedEntityCode": "91320500MA1MXXXX0X", "projectRef": "苏州市示范工程（2023-320506-48-01-000123）",
        "issueType": "违规支付", "amount": "1,234.5", "description": "…", "foundOn": "2026-03-01",
        "status": "未整改", "deadline": "2026-06-30", "lastModified": "2026-11-02T10:00:00+08:00",
    },
}  # fmt: skip

STREAM_OF = {s.record_type: s for c in registry().values() for s in c.streams if not s.deletes}


def fixed_credit_code() -> str:
    """A valid credit code (the placeholder above gets its real check character)."""
    from stdnum.cn import uscc

    body = "91320500MA1MXXXX0"
    return body + uscc.calc_check_digit(body)


def wire(record_type: str, *changes: dict) -> pd.DataFrame:
    """One good record per `changes` entry, each with those fields changed, typed as a page."""
    stream = STREAM_OF[record_type]
    code = fixed_credit_code()
    rows = []
    for i, change in enumerate(changes or ({},)):
        row = {k: (code if v == "91320500MA1MXXXX0X" else v) for k, v in GOOD[record_type].items()}
        if len(changes) > 1 and stream.key not in change:  # distinct keys, still well formed
            row[stream.key] = row[stream.key][:-1] + str(i)
        row.update(change)
        rows.append(row)
    if record_type == "voucher":  # CSV: every field text, as read_csv gives it
        frame = pd.DataFrame(rows).astype(object)
        return record_frame(frame.fillna(""), stream.fields, stream.key, stream.version)[0]
    return record_frame(rows, stream.fields, stream.key, stream.version, stream.epoch_ms)[0]
