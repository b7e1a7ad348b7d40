"""Entity resolution on messier data (issue 25), rule by rule: given hand-made records that vary
as real offices' do, when the night resolves them, then each is linked to exactly its project,
or, where the evidence cannot single one out, left unlinked; and no registered works become an
`X-` project (a false `NO_APPROVAL`)."""

from __future__ import annotations

import pandas as pd
import pytest
from stdnum.cn import uscc

from departments.registry import linking, record
from schemas.validate import validate
from tests.schemas.wire import wire
from transforms.resolve import Standing, resolve

A, B, C = "2023-320506-48-01-000123", "2023-320506-48-01-000457", "2024-320507-48-01-000789"
NAME = "苏州市吴中区太湖路新建工程（一期）"


def cc(serial: int, prefix: str = "11320500") -> str:
    """A valid credit code (a unit's), distinct per serial."""
    body = f"{prefix}MA{serial:07d}"
    return body + uscc.calc_check_digit(body)


OWNER, OWNER_NAME = cc(1), "苏州市吴中区交通运输局"
CONTRACTOR, OTHER_CONTRACTOR, ENTRUSTED, OTHER_ENTRUSTED = cc(2), cc(3), cc(4), cc(5)


def ms(day: str) -> int:
    return int(pd.Timestamp(day, tz="Asia/Shanghai").timestamp() * 1000)


def project(code: str, **fields) -> dict:
    return {
        "xmdm": code, "xmmc": NAME, "xmdw": OWNER_NAME, "xmdwdm": OWNER, "szqh": "320506",
        "tgdw": None, "tgdwdm": None, "xmzt": "在建", "pfrq": "20230301",
        "gxsj": "2026-11-02 10:00:00", **fields,
    }  # fmt: skip


def permit(no: str, **fields) -> dict:
    return {
        "permitNo": no, "projectCode": None, "projectName": NAME, "buildUnit": OWNER_NAME,
        "buildUnitCreditCode": OWNER, "contractorCreditCode": CONTRACTOR, "regionCode": "320506",
        "issueDate": ms("2024-03-01"), **fields,
    }  # fmt: skip


def voucher(no: str, **fields) -> dict:
    return {
        "凭证号": no, "项目代码": "", "项目名称": NAME, "预算单位": OWNER_NAME, "预算单位编码": "751129",
        "收款人统一社会信用代码": CONTRACTOR, "原凭证号": "", "支付日期": "2024-06-01",
        "_pay_date": "2024-06-01", **fields,
    }  # fmt: skip


def finding(no: str, **fields) -> dict:
    return {
        "findingId": no, "projectRef": NAME, "auditedEntity": OWNER_NAME,
        "auditedEntityCode": OWNER, "description": "…", "foundOn": "2024-09-01", **fields,
    }  # fmt: skip


def accepted(**records: list[dict]) -> dict[str, pd.DataFrame]:
    """Validated records of each type (a permit and a project are always there)."""
    records.setdefault("project", [project(A)])
    records.setdefault("permit", [permit("320506202403010101", projectCode=A)])
    out = {}
    for record_type, rows in records.items():
        result = validate("t", record(record_type), wire(record_type, *rows))
        assert result.quarantine.empty, result.quarantine["reasons"].tolist()
        out[record_type] = result.accepted
    return out


def linked(
    records: dict[str, pd.DataFrame], served: list[dict] | None = None
) -> dict[tuple[str, str], str | None]:
    """Each record's project; `served`: registry records as served, rejected ones too."""
    links = resolve(records, linking(), wire("project", *served) if served else None)
    return {
        (t, k): p if isinstance(p, str) else None
        for t, k, p in zip(
            links["record_type"], links["record_key"], links["project_id"], strict=True
        )
    }


# ---- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        "蘇州市吳中區太湖路新建工程（一期）",  # traditional characters
        "苏州市吴中区太湖路新建一期工程",
        "苏州市吴中区太湖路新建工程一期",
        "苏州市吴中区太湖路新建工程（第一期）",
        "苏州市吴中区太湖路新建工程【一期】",
        "苏州市吴中区太湖路新建工程（1期）",
        "苏州市吴中区太湖路新建工程（一期）第一标段",
        "苏州市吴中区太湖路新建工程（一期）Ⅰ标段",
        "苏州市吴中区太湖路新建工程（一期）施工一标",
        "苏州市吴中区 太湖路新建工程（一期）",
        "苏州市吴中区·太湖路新建工程（一期）",
        "苏州市-吴中区太湖路新建工程（一期）",
        '"苏州市吴中区太湖路新建工程（一期）"',
        "苏州市吴中区,太湖路新建工程（一期）",
    ],
)
def test_given_a_name_typed_otherwise_then_a_permit_without_code_links_to_its_project(typed):
    records = accepted(
        project=[project(A), project(B, xmmc="苏州市吴中区太湖路新建工程（二期）")],
        permit=[permit("320506202403010101", projectName=typed)],
    )
    assert linked(records)[("permit", "320506202403010101")] == A


def test_given_a_registry_name_with_a_scope_note_then_the_names_without_it_link():
    records = accepted(
        project=[project(A, xmmc="苏州市吴中区太湖路新建工程（一期）（含室外附属配套等工程）")],
        permit=[permit("320506202403010101")],
        voucher=[voucher("ZF20240601000001", 项目名称="太湖路新建工程（一期）")],
    )
    links = linked(records)
    assert links[("permit", "320506202403010101")] == A
    assert links[("voucher", "ZF20240601000001")] == A


def test_given_a_voucher_naming_two_projects_then_the_payee_settles_it_or_it_stays_unlinked():
    other = "苏州市吴中区石湖路新建工程"
    records = accepted(
        project=[project(A), project(B, xmmc=other)],
        permit=[
            permit("320506202403010101", projectCode=A),
            permit("320506202403010102", projectCode=B, contractorCreditCode=OTHER_CONTRACTOR),
        ],
        voucher=[
            voucher("ZF20240601000001", 项目名称=f"{NAME}、{other}"),
            voucher("ZF20240601000002", 项目名称=f"{NAME}、{other}", 收款人统一社会信用代码=cc(9)),
            # one of the two names is no project of the unit: it may be the one paid for
            voucher("ZF20240601000003", 项目名称=f"{NAME}、苏州市吴中区东山路改造工程"),
        ],
    )
    links = linked(records)
    assert links[("voucher", "ZF20240601000001")] == A  # the payee is A's contractor
    assert links[("voucher", "ZF20240601000002")] is None  # nobody's contractor
    assert links[("voucher", "ZF20240601000003")] is None


# ---- reorganised units (机构改革) ---------------------------------------------------------------
NEW_OWNER, NEW_NAME = cc(7), "苏州市吴中区城市建设发展集团有限公司"


def test_given_a_merged_unit_then_records_under_its_old_name_and_code_link_and_none_is_x():
    """The registry shows the new unit; a permit with a code shows the old code became it."""
    records = accepted(
        project=[project(A, xmdw=NEW_NAME, xmdwdm=NEW_OWNER), project(B, xmdw=NEW_NAME,
                 xmdwdm=NEW_OWNER, xmmc="苏州市吴中区石湖路新建工程")],
        permit=[
            permit("320506202403010101", projectCode=B, projectName="石湖路新建工程"),
            permit("320506202403010102"),  # old name and code, no project code
        ],
        voucher=[
            voucher("ZF20240601000001", 项目代码=B, 项目名称="", 预算单位=NEW_NAME),
            voucher("ZF20240601000002", 预算单位="旧单位名称"),  # the budget unit code stays
        ],
        finding=[finding("SJ-2024-0001-01")],  # audited under the old code
    )  # fmt: skip
    links = linked(records)
    assert links[("permit", "320506202403010102")] == A
    assert links[("voucher", "ZF20240601000002")] == A
    assert links[("finding", "SJ-2024-0001-01")] == A
    assert not any(str(p).startswith("X-") for p in links.values())


def test_given_a_unit_reorganised_without_evidence_then_its_permit_is_unlinked_not_an_x_project():
    """Nothing links the old code to the new unit: the name is a registry project's of the
    same division, so the permit stays unlinked rather than become a false 未批先建."""
    records = accepted(
        project=[project(A, xmdw=NEW_NAME, xmdwdm=NEW_OWNER)],
        permit=[permit("320506202403010102")],
    )
    assert linked(records)[("permit", "320506202403010102")] is None


def test_given_unapproved_works_written_under_a_units_old_and_new_names_then_one_x_project():
    """A code-linked permit shows the old code became the new unit; the works' permits, some
    under the old name and code, some under the new, are one `X-` project, not two."""
    records = accepted(
        project=[project(A, xmdw=NEW_NAME, xmdwdm=NEW_OWNER)],
        permit=[
            permit("320506202403010101", projectCode=A),  # the old code, a registry code
            permit("320506202404010101", projectName="苏州市吴中区东山路改造工程一标段"),
            permit("320506202405010101", projectName="苏州市吴中区东山路改造工程二标段",
                   buildUnit=NEW_NAME, buildUnitCreditCode=NEW_OWNER),
        ],
    )  # fmt: skip
    links = linked(records)
    assert links[("permit", "320506202404010101")] == "X-320506202404010101"
    assert links[("permit", "320506202405010101")] == "X-320506202404010101"


def test_given_a_registry_record_without_a_readable_name_then_its_code_linked_records_name_it():
    """The registry record is rejected (no name), yet a permit with its code says what it is
    called: the owner's permit without a code links to it, and no `X-` project appears."""
    nameless = project(A, xmmc="")
    records = accepted(
        project=[project(B, xmmc="苏州市吴中区石湖路新建工程")],
        permit=[
            permit("320506202403010101", projectCode=A),
            permit("320506202404010101", projectName="苏州市吴中区太湖路新建工程（一期）二标段"),
        ],
    )
    links = linked(records, served=[nameless, project(B, xmmc="苏州市吴中区石湖路新建工程")])
    assert links[("permit", "320506202404010101")] == A


# ---- the same road in two districts -----------------------------------------------------------
CITY_UNIT = cc(8)


def test_given_same_named_works_in_two_districts_then_the_division_separates_them():
    city = {"xmdw": "苏州市交通运输局", "xmdwdm": CITY_UNIT, "xmmc": "苏州市太湖大道改扩建工程"}
    records = accepted(
        project=[project(A, **city), project(C, szqh="320507", **city)],
        permit=[
            permit("320506202403010101", projectName="苏州市太湖大道改扩建工程一标段",
                   buildUnit="苏州市交通运输局", buildUnitCreditCode=CITY_UNIT),
            permit("320507202403010101", projectName="苏州市太湖大道改扩建工程一标段",
                   buildUnit="苏州市交通运输局", buildUnitCreditCode=CITY_UNIT,
                   regionCode="320507"),
        ],
    )  # fmt: skip
    links = linked(records)
    assert links[("permit", "320506202403010101")] == A
    assert links[("permit", "320507202403010101")] == C


def test_given_unapproved_works_named_as_a_registered_project_elsewhere_then_they_are_an_x_project():
    city = {"buildUnit": "苏州市交通运输局", "buildUnitCreditCode": CITY_UNIT}
    records = accepted(
        project=[project(A, xmdw="苏州市交通运输局", xmdwdm=CITY_UNIT, xmmc="苏州市太湖大道改扩建工程")],
        permit=[
            permit("320506202403010101", projectCode=A, **city),
            permit("320509202403010101", projectName="苏州市太湖大道改扩建工程二标段",
                   regionCode="320509", contractorCreditCode=OTHER_CONTRACTOR, **city),
        ],
        voucher=[  # no code: the payee is the contractor of the X- works only
            voucher("ZF20240601000001", 项目名称="太湖大道改扩建工程", 预算单位="苏州市交通运输局",
                    收款人统一社会信用代码=OTHER_CONTRACTOR),
        ],
    )  # fmt: skip
    links = linked(records)
    assert links[("permit", "320509202403010101")] == "X-320509202403010101"
    assert links[("voucher", "ZF20240601000001")] == "X-320509202403010101"


# ---- works before their namesake's approval -------------------------------------------------------
def test_given_a_permit_issued_before_its_namesakes_approval_then_it_is_unapproved_works():
    """A construction permit is issued only to an approved project: works permitted in 2024
    are not the same-named project approved in 2025 (its phase one) but works of their own,
    and the payment to their contractor is theirs."""
    later = project(C, szqh="320506", xmdm=C.replace("2024-320507", "2025-320506"))
    later_code = later["xmdm"]
    records = accepted(
        project=[{**later, "pfrq": "20250910"}],
        permit=[
            permit("320506202601050101", projectCode=later_code, issueDate=ms("2026-01-05"),
                   contractorCreditCode=OTHER_CONTRACTOR),
            permit("320506202403230301", projectName="苏州市吴中区太湖路新建工程",
                   issueDate=ms("2024-03-23")),
        ],
        voucher=[voucher("ZF20240406000001", 项目名称="苏州市吴中区太湖路新建工程",
                         支付日期="2024-04-06", _pay_date="2024-04-06")],
    )  # fmt: skip
    links = linked(records)
    assert links[("permit", "320506202403230301")] == "X-320506202403230301"
    assert links[("voucher", "ZF20240406000001")] == "X-320506202403230301"
    # and once approved, the project's own permit without a code is still its own
    records["permit"] = accepted(
        permit=[permit("320506202601310201", projectName=NAME, issueDate=ms("2026-01-31"))]
    )["permit"]
    assert linked(records)[("permit", "320506202601310201")] == later_code


def test_given_an_unreadable_registry_record_registered_after_a_permit_then_the_permit_is_x():
    """A registry record whose name cannot be read might be any of its owner's works in its
    division, but not works permitted before the year its code was issued in."""
    nameless = project("2025-320506-48-01-000999", xmmc="", pfrq=None)
    records = accepted(
        permit=[
            permit("320506202403010101", projectCode=A),
            permit("320506202404010101", projectName="苏州市吴中区石湖路新建工程"),
            permit("320506202504010101", projectName="苏州市吴中区横塘路新建工程",
                   issueDate=ms("2025-04-01")),
        ],
    )  # fmt: skip
    links = linked(records, served=[project(A), nameless])
    assert links[("permit", "320506202404010101")] == "X-320506202404010101"
    assert links[("permit", "320506202504010101")] is None  # it may be the unreadable one


@pytest.mark.parametrize(
    ("standing", "day", "outside"),
    [
        (Standing(approved=100), 99, True),  # before its approval
        (Standing(approved=100), 100, False),  # on the day it was approved
        (Standing(registered=365), 364, True),  # approval unknown: before its code's year
        (Standing(registered=365), 365, False),
        (Standing(approved=100, completed=True, updated=200), 200, False),  # its last update
        (Standing(approved=100, completed=True, updated=200), 201, True),  # after completion
        (Standing(approved=100, completed=True), 10_000, False),  # completed, no update known
        (Standing(), 0, False),  # nothing known rules nothing out
        (Standing(approved=100), float("nan"), False),  # a record without a date
    ],
)
def test_given_a_projects_standing_then_the_permit_window_rules_out_only_days_outside_it(
    standing, day, outside
):
    assert standing.outside_permit_window(day) is outside


def test_given_a_permit_issued_after_its_namesake_was_completed_then_it_is_unapproved_works():
    """A project completed (by its last update, at the latest) gets no more construction
    permits: a later permit of its name and owner is works of their own."""
    done = project(A, xmzt="已竣工", gxsj="2024-06-01 10:00:00")
    records = accepted(
        project=[done],
        permit=[
            permit("320506202403010101", projectCode=A),
            permit("320506202501020101", projectName=NAME, issueDate=ms("2025-01-02")),
        ],
    )
    assert linked(records)[("permit", "320506202501020101")] == "X-320506202501020101"


def test_given_works_one_permit_of_which_could_be_an_unreadable_project_then_none_is_x():
    """An unreadable registry record completed by late 2024 cannot be works permitted in
    December, but may be the same works' September permit: a works is one project, so
    neither permit becomes an `X-` project (whose id would be the wrong permit's)."""
    nameless = project(B, xmmc="", xmzt="已竣工", gxsj="2024-10-01 10:00:00")
    works = {"projectName": "苏州市吴中区石湖路新建工程"}
    records = accepted(
        permit=[
            permit("320506202403010101", projectCode=A),
            permit("320506202409010101", issueDate=ms("2024-09-01"), **works),
            permit("320506202412010101", issueDate=ms("2024-12-01"), **works),
        ],
    )
    links = linked(records, served=[project(A), nameless])
    assert links[("permit", "320506202409010101")] is None
    assert links[("permit", "320506202412010101")] is None


def test_given_works_left_unlinked_then_a_payment_of_their_name_is_not_the_namesakes_elsewhere():
    """Works permitted in 320509 under a registered road's name (registered in 320506) may be
    the owner's registry record whose name cannot be read, so they stay unlinked; a payment
    of that name, which writes no division, may be theirs, and stays unlinked too, unless its
    payee is the registered road's contractor."""
    city = {"buildUnit": "苏州市交通运输局", "buildUnitCreditCode": CITY_UNIT}
    owner = {"xmdw": "苏州市交通运输局", "xmdwdm": CITY_UNIT}
    road = {"xmmc": "苏州市太湖大道改扩建工程", **owner}
    unreadable = project(B, xmmc="", szqh="320509", **owner)
    pay = {"项目名称": "苏州市太湖大道改扩建工程", "预算单位": "苏州市交通运输局"}
    records = accepted(
        project=[project(A, **road)],
        permit=[
            permit("320506202403010101", projectCode=A, **city),
            permit("320509202403010101", projectName="苏州市太湖大道改扩建工程二标段",
                   regionCode="320509", contractorCreditCode=OTHER_CONTRACTOR, **city),
        ],
        voucher=[
            voucher("ZF20240601000001", 收款人统一社会信用代码=OTHER_CONTRACTOR, **pay),
            voucher("ZF20240601000002", 收款人统一社会信用代码=CONTRACTOR, **pay),
        ],
    )  # fmt: skip
    links = linked(records, served=[project(A, **road), unreadable])
    assert links[("permit", "320509202403010101")] is None
    assert links[("voucher", "ZF20240601000001")] is None
    assert links[("voucher", "ZF20240601000002")] == A


# ---- reversals (冲销) -----------------------------------------------------------------------------
def test_given_a_reversal_without_code_or_name_then_it_follows_its_original_once_that_arrives():
    original = voucher("ZF20240601000001", 项目代码=A)
    reversal = voucher("ZF20240601000002", 项目名称="", 原凭证号="ZF20240601000001",
                       金额="-1,000.00")  # fmt: skip
    before = linked(accepted(voucher=[reversal]))  # the original is entered late (补录)
    assert before[("voucher", "ZF20240601000002")] is None
    after = linked(accepted(voucher=[reversal, original]))
    assert after[("voucher", "ZF20240601000002")] == A


def test_given_a_reversal_with_a_code_then_its_original_without_one_shares_its_project():
    """The original names two same-named projects' works; its reversal carries the code."""
    records = accepted(
        project=[project(A), project(B)],
        voucher=[
            voucher("ZF20240601000001", 收款人统一社会信用代码=cc(9)),
            voucher("ZF20240602000001", 项目代码=B, 原凭证号="ZF20240601000001", 金额="-1.00"),
        ],
    )
    assert linked(records)[("voucher", "ZF20240601000001")] == B


# ---- entrusted units --------------------------------------------------------------------------
def test_given_a_management_fee_then_the_entrusted_unit_tells_same_named_projects_apart():
    records = accepted(
        project=[
            project(A, tgdw="甲代建公司", tgdwdm=ENTRUSTED),
            project(B, szqh="320506", tgdw="乙代建公司", tgdwdm=OTHER_ENTRUSTED, xmzt="已批复"),
        ],
        voucher=[
            voucher("ZF20240601000001", 摘要="托管服务费", 收款人统一社会信用代码=OTHER_ENTRUSTED)
        ],
    )
    assert linked(records)[("voucher", "ZF20240601000001")] == B


def test_given_a_management_fee_to_another_projects_entrusted_unit_then_it_is_the_x_twins():
    """Works of the registered project's name in another district, unapproved: a management
    fee paid to an entrusted unit that is not the registered project's is the works' (which
    have none known); a design fee paid to that unit, or any fee to a firm that is no one's
    entrusted unit, settles nothing and stays unlinked."""
    city = {"buildUnit": "苏州市交通运输局", "buildUnitCreditCode": CITY_UNIT}
    owner = {"xmdw": "苏州市交通运输局", "xmdwdm": CITY_UNIT}
    fee = {"项目名称": "苏州市太湖大道改扩建工程", "预算单位": "苏州市交通运输局"}
    records = accepted(
        project=[
            project(A, xmmc="苏州市太湖大道改扩建工程", tgdw="甲代建公司", tgdwdm=ENTRUSTED,
                    **owner),
            project(C, xmmc="苏州市石湖路新建工程", tgdw="乙代建公司", tgdwdm=OTHER_ENTRUSTED,
                    **owner),
        ],
        permit=[
            permit("320506202403010101", projectCode=A, **city),
            permit("320509202403010101", projectName="苏州市太湖大道改扩建工程二标段",
                   regionCode="320509", contractorCreditCode=OTHER_CONTRACTOR, **city),
        ],
        voucher=[
            voucher("ZF20240601000001", 摘要="托管服务费", 收款人统一社会信用代码=OTHER_ENTRUSTED,
                    **fee),
            voucher("ZF20240601000002", 摘要="托管服务费", 收款人统一社会信用代码=cc(9), **fee),
            voucher("ZF20240601000003", 摘要="设计费", 收款人统一社会信用代码=OTHER_ENTRUSTED,
                    **fee),
        ],
    )  # fmt: skip
    links = linked(records)
    assert links[("voucher", "ZF20240601000001")] == "X-320509202403010101"
    assert links[("voucher", "ZF20240601000002")] is None
    assert links[("voucher", "ZF20240601000003")] is None


def test_given_a_firm_paid_with_a_code_for_one_of_two_namesakes_then_its_other_fees_are_that_ones():
    """A supervision firm paid for the road in one district by a voucher with the project
    code: its fee without a code is that road's. A firm paid for both roads tells nothing."""
    owner = {"xmdw": "苏州市交通运输局", "xmdwdm": CITY_UNIT, "xmmc": "苏州市太湖大道改扩建工程"}
    fee = {"项目名称": "苏州市太湖大道改扩建工程", "预算单位": "苏州市交通运输局", "摘要": "监理费"}
    firm, both = cc(10), cc(11)
    records = accepted(
        project=[project(A, **owner), project(C, szqh="320507", **owner)],
        voucher=[
            voucher("ZF20240601000001", 项目代码=A, 收款人统一社会信用代码=firm, **fee),
            voucher("ZF20240601000002", 项目代码=A, 收款人统一社会信用代码=both, **fee),
            voucher("ZF20240601000003", 项目代码=C, 收款人统一社会信用代码=both, **fee),
            voucher("ZF20240701000001", 收款人统一社会信用代码=firm, **fee),
            voucher("ZF20240701000002", 收款人统一社会信用代码=both, **fee),
        ],
    )
    links = linked(records)
    assert links[("voucher", "ZF20240701000001")] == A
    assert links[("voucher", "ZF20240701000002")] is None


def test_given_one_entrusted_unit_managing_both_namesakes_then_its_fee_stays_unlinked():
    """The entrusted unit of both roads was paid with a code for one of them: that it manages
    both says more than where it happened to be paid, so its fee without a code stays
    unlinked (the ambiguous case)."""
    managed = {"tgdw": "甲代建公司", "tgdwdm": ENTRUSTED}
    owner = {"xmdw": "苏州市交通运输局", "xmdwdm": CITY_UNIT, "xmmc": "苏州市太湖大道改扩建工程"}
    fee = {
        "项目名称": "苏州市太湖大道改扩建工程",
        "预算单位": "苏州市交通运输局",
        "摘要": "托管服务费",
    }
    records = accepted(
        project=[project(A, **owner, **managed), project(C, szqh="320507", **owner, **managed)],
        voucher=[
            voucher("ZF20240601000001", 项目代码=A, 收款人统一社会信用代码=ENTRUSTED, **fee),
            voucher("ZF20240601000002", 项目代码=C, 收款人统一社会信用代码=CONTRACTOR, **fee),
            voucher("ZF20240701000001", 收款人统一社会信用代码=ENTRUSTED, **fee),
        ],
    )
    assert linked(records)[("voucher", "ZF20240701000001")] is None


def test_given_a_finding_at_the_entrusted_unit_naming_the_project_in_its_description():
    other = "苏州市吴中区石湖路新建工程"
    records = accepted(
        project=[project(A, tgdw="甲代建公司", tgdwdm=ENTRUSTED),
                 project(B, xmmc=other, tgdw="甲代建公司", tgdwdm=ENTRUSTED)],
        finding=[
            finding("SJ-2024-0001-01", projectRef="", auditedEntityCode=ENTRUSTED,
                    description=f"经审计，{NAME}存在违规支付问题，需按规定整改。"),
            # naming both projects, it singles out neither
            finding("SJ-2024-0001-02", projectRef="", auditedEntityCode=ENTRUSTED,
                    description=f"经审计，{NAME}和{other}存在资料不全问题。"),
        ],
    )  # fmt: skip
    links = linked(records)
    assert links[("finding", "SJ-2024-0001-01")] == A
    assert links[("finding", "SJ-2024-0001-02")] is None


# ---- re-filed projects ------------------------------------------------------------------------
def test_given_a_refiled_project_then_records_after_the_refiling_belong_to_the_live_one():
    records = accepted(
        project=[
            project(A, xmzt="已撤销", pfrq="20230301", gxsj="2024-02-01 10:00:00"),
            project(C, szqh="320506", pfrq="20240401", xmzt="在建"),  # registered again
        ],
        permit=[permit("320506202406010101", issueDate=ms("2024-06-01"))],
        voucher=[
            voucher("ZF20231201000001", 支付日期="2023-12-01", _pay_date="2023-12-01",
                    摘要="前期工作经费", 收款人统一社会信用代码=cc(9)),
            voucher("ZF20240701000001", 支付日期="2024-07-01", _pay_date="2024-07-01"),
        ],
    )  # fmt: skip
    links = linked(records)
    assert links[("permit", "320506202406010101")] == C
    assert links[("voucher", "ZF20240701000001")] == C
    assert links[("voucher", "ZF20231201000001")] == A


# ---- the ambiguous case -----------------------------------------------------------------------
def test_given_two_live_projects_of_one_name_and_unit_then_a_record_naming_it_stays_unlinked():
    records = accepted(
        project=[project(A), project(B)],
        permit=[permit("320506202403010101", projectCode=A), permit("320506202403010102")],
        voucher=[voucher("ZF20240601000001", 收款人统一社会信用代码=cc(9))],
    )
    links = linked(records)
    assert links[("permit", "320506202403010102")] is None  # and not an X- project
    assert links[("voucher", "ZF20240601000001")] is None
