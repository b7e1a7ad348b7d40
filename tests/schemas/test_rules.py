"""Each rule with the contracts' own failing examples, and the quirks that must *not* fail."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from departments.registry import record
from schemas.validate import SchemaDriftError, validate
from tests.schemas.wire import wire


def reasons_of(record_type: str, *changes: dict) -> list[str]:
    result = validate("test", record(record_type), wire(record_type, *changes))
    assert len(result.accepted) + len(result.quarantine) == max(1, len(changes))
    by_key = dict(zip(result.quarantine["record_key"], result.quarantine["reasons"], strict=True))
    keys = list(wire(record_type, *changes)["_key"])
    return [by_key.get(k, "") for k in keys]


@pytest.mark.parametrize(
    ("record_type", "change", "expected"),
    [
        ("project", {"ztz": "3,8O0.00"}, "ztz '3,8O0.00' is not a number of 万元"),
        ("project", {"jhkgsj": "20230230"}, "jhkgsj '20230230' is not a real date YYYYMMDD"),
        ("project", {"xmdwdm": "91320500MA1MXXXX01"}, "xmdwdm '91320500MA1MXXXX01' fails its check character"),
        ("project", {"xmdm": "2023-32050648-01-000123"}, "xmdm '2023-32050648-01-000123' is not a project code"),
        ("project", {"xmdm": "2023-999999-48-01-000123"}, "is not a project code"),
        ("project", {"xmmc": None}, "xmmc is missing"),
        ("project", {"xmmc": "   "}, "xmmc is missing"),
        ("project", {"szqh": "329999"}, "szqh '329999' is not a GB/T 2260 division code"),
        ("project", {"xmzt": "暂停"}, "xmzt '暂停' is not one of 已批复, 在建, 已竣工, 已撤销"),
        ("project", {"ztz": "-5.00"}, "ztz '-50000.00' is below 0"),
        ("project", {"jhjgsj": "20230101"}, "jhjgsj (planned completion) is before jhkgsj"),
        ("voucher", {"金额": "1,234,567.8O"}, "金额 '1,234,567.8O' is not a number of 元"),
        ("voucher", {"支付日期": "2026-11-03"}, "支付日期 differs from the pay_date"),
        ("voucher", {"收款人统一社会信用代码": "91320500MA1MXXXX01"}, "fails its check character"),
        ("voucher", {"金额": "12.345"}, "is not a number of 元 (up to 2 decimals)"),
        ("permit", {"contractAmount": 0}, "contractAmount '0.00' is not above 0"),
        ("permit", {"permitNo": "320505202302300101"}, "permitNo '320505202302300101' is not a permit number"),
        ("permit", {"contractorCreditCode": "91320500MA1MXXXX01"}, "contractorCreditCode '91320500MA1MXXXX01' fails"),
        ("progress_report", {"completionRate": Decimal("105.7")}, "completionRate 105.7 is outside 0..100"),
        ("progress_report", {"completionRate": -3}, "completionRate -3.0 is outside 0..100"),
        ("progress_report", {"period": "2026-13"}, "period '2026-13' is not a month YYYY-MM"),
        ("inspection", {"hazardCount": -1}, "hazardCount -1 is below 0"),
        ("inspection", {"result": "待定"}, "result '待定' is not one of 合格, 限期整改, 停工整改"),
        ("inspection", {"inspectDate": "yesterday"}, "inspectDate 'yesterday' is not epoch ms"),
        ("acceptance", {"result": "基本合格"}, "result '基本合格' is not one of 合格, 不合格"),
        ("finding", {"foundOn": "2026-02-30"}, "foundOn '2026-02-30' is not a real date YYYY-MM-DD"),
        ("finding", {"foundOn": None}, "foundOn is missing"),
        ("finding", {"status": "已销号"}, "status '已销号' is not one of 未整改, 整改中, 已整改"),
        ("finding", {"auditedEntityCode": "91320500MA1MXXXX01"}, "fails its check character"),
    ],
)  # fmt: skip
def test_given_a_broken_rule_when_validated_then_quarantined_saying_which(
    record_type, change, expected
):
    [reason] = reasons_of(record_type, change)
    assert expected in reason


@pytest.mark.parametrize(
    ("record_type", "change", "field", "typed"),
    [
        ("project", {"ztz": " 38,000.00 "}, "ztz", Decimal("380000000.00")),
        ("project", {"ztz": "0.000001"}, "ztz", Decimal("0.01")),  # 6 decimals of 万元 = 1 fen
        ("project", {"xmdm": "２０２３－３２０５０６－４８－０１－０００１２３"}, "xmdm", "2023-320506-48-01-000123"),
        ("project", {"xmmc": "苏州市示范工程（一期）　"}, "xmmc", "苏州市示范工程（一期）"),
        ("voucher", {"金额": "-1,234.50"}, "金额", Decimal("-1234.50")),  # a reversal
        ("voucher", {"收款人统一社会信用代码": ""}, "收款人统一社会信用代码", None),  # an individual
        ("voucher", {"项目代码": "SZJS-2021-0087"}, "项目代码", "SZJS-2021-0087"),  # legacy code
        ("voucher", {}, "收款人账号", "************7890"),  # masked
        ("permit", {"contractAmount": Decimal("1234.5678")}, "contractAmount", Decimal("12345678.00")),
        ("permit", {"projectCode": "2023-32050648-01-000123"}, "projectCode", "2023-32050648-01-000123"),
        ("finding", {"amount": ""}, "amount", None),
        ("finding", {"amount": "1,234.5"}, "amount", Decimal("12345000.00")),
    ],
)  # fmt: skip
def test_given_a_quirk_the_contract_allows_when_validated_then_normalised_not_rejected(
    record_type, change, field, typed
):
    result = validate("test", record(record_type), wire(record_type, change))
    assert result.quarantine.empty, result.quarantine["reasons"].tolist()
    value = result.accepted[field].iloc[0]
    assert pd.isna(value) if typed is None else value == typed
    if isinstance(typed, Decimal):
        assert isinstance(value, Decimal) and value.as_tuple().exponent == -2


def test_given_several_broken_rules_when_validated_then_every_one_is_listed():
    [reason] = reasons_of("project", {"ztz": "x", "jhkgsj": "20230230", "xmdwdm": None})
    assert "ztz 'x'" in reason and "jhkgsj '20230230'" in reason and "xmdwdm is missing" in reason


def test_given_a_voucher_in_quarantine_then_its_payload_is_the_csv_line_with_the_account_masked():
    result = validate("treasury", record("voucher"), wire("voucher", {"金额": "1,2O0.00"}))
    payload = result.quarantine["payload"].iloc[0]
    assert payload.startswith("ZF20261102000123,2026-11-02,")
    assert "6222021234567890" not in payload and "************7890" in payload
    assert '"1,2O0.00"' in payload  # quoted, as in the file


def test_given_a_json_record_in_quarantine_then_its_payload_keeps_numbers_and_epoch_ms_exact():
    result = validate("housing", record("permit"), wire("permit", {"contractAmount": 0}))
    payload = result.quarantine["payload"].iloc[0]
    assert '"contractAmount":0' in payload and '"area":15000.5' in payload
    assert '"issueDate":1700000000000' in payload


def test_given_a_batch_without_a_required_field_when_validated_then_the_stream_fails_loudly():
    frame = wire("voucher", {}, {}).drop(columns=["金额"])
    with pytest.raises(SchemaDriftError, match="金额 missing from every one of the 2 records"):
        validate("treasury", record("voucher"), frame)


def test_given_an_unknown_extra_field_when_validated_then_it_is_not_an_error():
    frame = wire("acceptance").assign(newField="x")
    assert validate("housing", record("acceptance"), frame).quarantine.empty


def test_given_a_record_the_connector_could_not_read_when_validated_then_that_is_a_reason():
    frame = wire("acceptance")
    frame.loc[0, "_problems"] = "acceptDate 'soon' is not epoch ms"
    assert reasons_of_frame(frame)[0].startswith("acceptDate 'soon' is not epoch ms")


def reasons_of_frame(frame: pd.DataFrame) -> list[str]:
    return validate("housing", record("acceptance"), frame).quarantine["reasons"].tolist()
