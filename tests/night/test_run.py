"""A whole night unified on the medium world: the tables fit the contract, money is exact,
and the crosswalk is stable and reports its changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from departments.registry import ground_truth, linking, plan
from schemas.quarantine import carry_forward
from schemas.unified import Project, Quarantine, SourceRecord, SpotCheck, UnitScorecard
from simulators.world import calendar as cal
from tests.conftest import AS_OF
from transforms.crosswalk import changes
from transforms.evaluate import money
from transforms.resolve import resolve
from transforms.unify import project_table, unit_scorecard
from yiwang.night.steps import unify_night, validated_streams

pytestmark = pytest.mark.slow
EARLIER = AS_OF - dt.timedelta(days=9)


@pytest.fixture(scope="module")
def nights(medium_staged):
    earlier, now = medium_staged
    return unify_night(earlier, EARLIER), unify_night(now, AS_OF)


def test_given_a_night_then_every_table_fits_its_contract_model(nights):
    _, night = nights
    tables = night.tables
    Project.validate(tables["project"], lazy=True)
    SourceRecord.validate(
        tables["source_record"].astype(
            {
                c: "string[python]"
                for c in ("source_system", "record_type", "record_key", "project_id", "link_method")
            }
        ),
        lazy=True,
    )
    UnitScorecard.validate(tables["unit_scorecard"], lazy=True)
    SpotCheck.validate(
        tables["spot_check"].astype(
            {
                "period": "string[python]",
                "project_id": "string[python]",
                "draw_seed": "string[python]",
            }
        ),
        lazy=True,
    )
    quarantine, _ = carry_forward(None, tables["quarantine"], "night")
    Quarantine.validate(quarantine.astype("string[python]"), lazy=True)
    assert (tables["project"]["as_of_date"] == AS_OF.isoformat()).all()


def test_given_correctly_linked_projects_then_paid_amount_is_exact_to_the_fen(nights, medium_world):
    _, night = nights
    day = cal.day(AS_OF)
    m = money(
        night.tables["project"],
        night.tables["source_record"],
        ground_truth(medium_world, day),
        medium_world.money_truth(day),
    )
    assert m["correctly_linked"] >= 0.95 * m["projects_with_payments"]
    assert m["exact_to_the_fen"] == m["correctly_linked"], m["differences"]
    assert all(isinstance(v, Decimal) for v in night.tables["project"]["paid_amount"])


def test_given_the_same_night_twice_then_no_record_changes_project(nights, medium_staged):
    _, now = medium_staged
    again = unify_night(now, AS_OF)
    assert changes(nights[1].tables["source_record"], again.tables["source_record"]).empty


def test_given_a_later_night_then_changes_are_reported_and_unregistered_ids_stay(nights):
    before, after = (n.tables["source_record"] for n in nights)
    report = changes(before, after)
    assert set(report["change"]) <= {"linked", "unlinked", "moved"}
    x_before = set(before["project_id"].dropna()[lambda s: s.str.startswith("X-")])
    x_after = set(after["project_id"].dropna()[lambda s: s.str.startswith("X-")])
    assert len(x_before & x_after) >= 0.95 * len(x_before)  # anchors persist: ids persist
    moved = report[report["change"] == "moved"]
    assert len(moved) <= 0.001 * len(after)


def test_given_links_in_another_order_then_the_unified_tables_are_the_same(medium_staged):
    """`resolve` gives links in the order of the accepted records and unification takes them
    by position; links in any other order are looked up by key, to the same tables."""
    _, now = medium_staged
    accepted, served = {}, None
    for _, stream, checked, received in validated_streams(now):
        accepted[stream.record_type] = checked.accepted
        served = received if stream.record_type == "project" else served
    links = resolve(accepted, linking(), served)
    shuffled = links.sample(frac=1, random_state=7).reset_index(drop=True)
    projects = project_table(accepted, links, AS_OF, plan())
    pd.testing.assert_frame_equal(project_table(accepted, shuffled, AS_OF, plan()), projects)
    pd.testing.assert_frame_equal(
        unit_scorecard(accepted, shuffled, projects, AS_OF),
        unit_scorecard(accepted, links, projects, AS_OF),
    )
