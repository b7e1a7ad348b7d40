"""The seeded world: deterministic, realistic where linking is hard, with its ground truth."""

from __future__ import annotations

import datetime as dt
import re

from stdnum.cn import uscc

from departments.registry import ground_truth
from simulators.world import calendar as cal
from simulators.world import generate_world
from simulators.world.build import QuirkRates

DAY = cal.day(dt.date(2026, 11, 23))
PROJECT_CODE = re.compile(r"^\d{4}-\d{6}-\d{2}-0[123]-\d{6}$")


def test_given_same_seed_when_generated_twice_then_worlds_are_byte_identical(tmp_path):
    a = generate_world("tiny", 11).dump(tmp_path / "a")
    b = generate_world("tiny", 11).dump(tmp_path / "b")
    assert a == b
    assert set(a) == {
        "drc",
        "vouchers",
        "permits",
        "reports",
        "inspections",
        "acceptances",
        "findings",
        "deleted",
    }


def test_given_other_seed_then_world_differs(tmp_path):
    assert generate_world("tiny", 11).dump(tmp_path / "a") != generate_world("tiny", 12).dump(
        tmp_path / "b"
    )


def test_ground_truth_names_a_project_for_every_live_record(world):
    truth = ground_truth(world, DAY)
    assert truth.duplicated(["source_system", "record_type", "record_key"]).sum() == 0
    # only spending, private land (and planning of works no valid permit names) and what
    # citizens say of other things can be no project's
    no_project = ["voucher", "land_use_permit", "works_permit", "work_order"]
    projects = truth[~truth["record_type"].isin(no_project)]
    assert projects["project_id"].notna().all()
    orders = truth[truth["record_type"] == "work_order"]
    assert 0.5 < orders["project_id"].isna().mean() < 0.9
    vouchers = truth[truth["record_type"] == "voucher"]
    share_none = vouchers["project_id"].isna().mean()
    assert 0.01 < share_none < 0.15
    x_ids = truth["project_id"].dropna()
    x_ids = x_ids[x_ids.str.startswith("X-")]
    assert len(x_ids) > 0 and x_ids.str.fullmatch(r"X-\d{18}").all()
    anchors = truth[(truth["record_type"] == "permit") & truth["valid"]]["record_key"]
    assert x_ids.str.removeprefix("X-").isin(set(anchors)).all()  # anchored on a valid permit


def test_every_record_type_has_about_two_percent_bad_records(medium_world):
    world = medium_world
    truth = ground_truth(world, cal.day(cal.WORLD_END))
    share = truth.groupby("record_type")["valid"].apply(lambda v: 1 - v.mean())
    assert ((share > 0.01) & (share < 0.04)).all(), share


def test_registry_records_carry_valid_codes_unless_marked_bad(world):
    drc = world.as_of("drc", DAY)
    good = drc[drc["_bad"] == ""]
    assert good["xmdm"].str.strip().str.match(PROJECT_CODE).all()
    assert (good["xmdm"] != good["_key"]).any()  # some keys arrive padded: trim before use
    assert (good["xmdm"].str.strip() == good["_key"]).all()
    assert good["xmdwdm"].map(uscc.is_valid).all()
    bad = drc[drc["_bad"] == "xmdwdm_check_character"]
    assert not bad["xmdwdm"].map(uscc.is_valid).any()


def test_linking_is_a_real_problem(world):
    """Codes missing, mistyped or full-width; names with sections and other spellings."""
    permits = world.as_of("permits", DAY)
    assert permits["projectCode"].isna().mean() > 0.1
    vouchers = world.tables["vouchers"]
    codes = vouchers["项目代码"]
    assert (codes == "").mean() > 0.3
    assert codes.str.startswith("SZJS-").any()
    assert codes.str.contains("２").any() or codes.str.contains("０").any()
    registry = set(world.tables["drc"]["xmdm"])
    typed = codes[codes.str.match(PROJECT_CODE)]
    assert (~typed.isin(registry)).any()  # a format-valid code the registry never issued
    names = set(world.tables["drc"]["xmmc"].str.strip())
    assert (~vouchers.loc[vouchers["_project"].notna(), "项目名称"].isin(names)).mean() > 0.3
    assert permits["projectName"].str.contains("标段").any()


def test_world_evolves_by_day(world):
    """Later days add records and versions; vouchers appear late; deletions happen."""
    early, late = world.as_of("vouchers", DAY - 30), world.as_of("vouchers", DAY)
    assert set(early["_key"]) < set(late["_key"])
    v = world.tables["vouchers"]
    entered = cal.day_of_ms(v["_ts"].to_numpy())
    assert ((entered - v["_pay_day"]).between(1, 3)).any()  # late vouchers (补录)
    assert ((entered - v["_pay_day"]) <= 3).all()
    assert len(world.tables["deleted"]) > 0
    drc = world.tables["drc"]
    assert drc.groupby("_key").size().max() > 1  # status changes, 概算调整, renames


def test_quirk_rates_are_configurable():
    calm = generate_world(
        "tiny",
        5,
        QuirkRates(bad=0.0, voucher_no_code=0.0, legacy_code=0.0, code_typo=0.0, full_width=0.0),
    )
    truth = ground_truth(calm, cal.day(cal.WORLD_END))
    own = truth[truth["source_system"].isin(["drc", "treasury", "housing", "audit"])]
    assert own["valid"].all()  # the shared world's rates (planning and the hotline keep theirs)
    v = calm.tables["vouchers"]
    registered = v[v["_project"].str.len() == 24]
    assert (registered["项目代码"] == registered["_project"]).all()


def test_money_truth_is_exact_fen(world):
    money = world.money_truth(DAY)
    assert money["paid_amount"].str.fullmatch(r"-?\d+\.\d{2}").all()
    total = sum(int(a.replace(".", "")) for a in money["paid_amount"])
    truth = ground_truth(world, DAY)
    valid = truth[
        (truth["record_type"] == "voucher") & truth["valid"] & truth["project_id"].notna()
    ]
    assert total == int(valid["money_fen"].sum())


def test_given_a_cached_world_when_pandas_stores_strings_otherwise_then_it_is_built_anew(
    tmp_path, monkeypatch
):
    """A world pickled under one string storage would come back with the other's dtypes."""
    import pandas as pd

    from simulators.world import cache

    built = []
    monkeypatch.setattr(cache, "generate_world", lambda s, n, q: built.append(s) or object())
    cache.load_world("tiny", 1, tmp_path)
    cache.load_world("tiny", 1, tmp_path)
    assert len(built) == 1  # the second came from the cache
    other = "auto" if pd.get_option("mode.string_storage") == "python" else "python"
    with pd.option_context("mode.string_storage", other):
        cache.load_world("tiny", 1, tmp_path)
    assert len(built) == 2 and len(list(tmp_path.glob("world-tiny-1-*.pkl"))) == 2
