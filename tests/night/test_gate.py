"""The quality gate over a published night's tables: the night as published passes; a break
of each kind the gate guards fails it, naming the table, the expectation and examples."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from yiwang.night.gate import reconciliation, run_gate
from yiwang.store.db import engine_for
from yiwang.store.publish import read_table
from yiwang.store.tables import DATA_TABLES


@pytest.fixture(scope="module")
def tables(published_small) -> dict[str, pd.DataFrame]:
    url, _ = published_small["sqlite"]
    with engine_for(url).connect() as conn:
        return {t: read_table(conn, t).drop(columns="row_hash") for t in DATA_TABLES}


def _received(tables) -> dict[tuple[str, str], int]:
    """What was received per stream, as the night counted it: published + quarantined."""
    both = pd.concat([tables["source_record"], tables["quarantine"]])
    return {k: len(g) for k, g in both.groupby(["source_system", "record_type"])}


def _gate(tables, where, received=None):
    recon = reconciliation(received or _received(tables), tables)
    return run_gate(tables, recon, where, "test")


def test_given_the_published_tables_then_the_gate_passes_and_writes_data_docs(tables, tmp_path):
    result = _gate(tables, tmp_path)
    assert result.success, result.failures
    assert result.docs.exists()
    pages = list(result.docs.parent.glob("validations/**/*.html"))
    assert {p.parts[len(result.docs.parent.parts) + 1] for p in pages} >= {
        "project", "source_record", "quarantine", "unit_scorecard", "spot_check", "reconciliation"
    }  # fmt: skip


def test_given_a_definition_a_killed_night_left_half_written_then_the_gate_rewrites_it(
    tables, tmp_path
):
    assert _gate(tables, tmp_path).success
    for stored in ("expectations/project.json", "checkpoints/gate-quarantine.json"):
        (tmp_path / "gx" / stored).write_text("")  # killed while GX wrote it in place
    (tmp_path / "gx" / "validation_definitions" / "spot_check.json").write_text('{"name": ')
    assert _gate(tables, tmp_path).success
    assert (tmp_path / "gx" / "expectations" / "project.json").read_text().strip()


HALF_A_CONFIG = "config_version: 4.0\nfluent_datasources:\n  yiwang:\n    ty"


@pytest.mark.parametrize("left", ["", HALF_A_CONFIG])
def test_given_the_project_config_a_killed_night_left_half_written_then_the_gate_rewrites_it(
    tables, tmp_path, left
):
    assert _gate(tables, tmp_path).success
    config = tmp_path / "gx" / "great_expectations.yml"
    config.write_text(left)  # killed while GX wrote it in place
    result = _gate(tables, tmp_path)
    assert result.success, result.failures
    assert "fluent_datasources" in config.read_text()
    assert _gate(tables, tmp_path).success  # and the night after reads what it wrote


def test_given_broken_tables_then_the_gate_fails_naming_table_rule_and_examples(tables, tmp_path):
    broken = {k: v.copy() for k, v in tables.items()}
    projects, links = broken["project"], broken["source_record"]
    projects.loc[projects.index[0], "approved_investment"] = Decimal("-1.00")
    linked = links.index[links["project_id"].notna()]
    links.loc[linked[:2], "project_id"] = "P-NOWHERE"
    broken["project"] = pd.concat([projects, projects.iloc[[1]]], ignore_index=True)
    received = _received(tables)
    stream = next(iter(received))
    received[stream] += 1  # one record received that is neither published nor quarantined

    assert _gate(tables, tmp_path).success  # a night before, in the same quality directory
    result = _gate(broken, tmp_path, received)  # its assets and suites kept, its data new
    assert not result.success
    said = "\n".join(result.failures)
    assert "project: expect_column_values_to_be_between(approved_investment) failed" in said
    assert "project: expect_column_values_to_be_unique(project_id) failed for 2 rows" in said
    assert "source_record: expect_column_values_to_be_null(unpublished_project_id)" in said
    assert "'P-NOWHERE'" in said
    assert "reconciliation: expect_column_pair_values_to_be_equal" in said
    # the stream is named, with its counts
    assert f"failed: {stream[0]}/{stream[1]} received {received[stream]:,} but published" in said
    assert len(result.failures) == 4, said


def test_reconciliation_counts_every_stream_received_even_one_with_nothing_published():
    links = pd.DataFrame(
        {
            "source_system": ["drc", "drc", "housing", "housing"],
            "record_type": ["project", "project", "permit", "permit"],
            "project_id": ["P1", "P2", "P1", None],
        }
    )
    quarantine = pd.DataFrame(
        {
            "source_system": ["housing", "audit", "audit"],
            "record_type": ["permit", "finding", "finding"],
        }
    )
    received = {
        ("drc", "project"): 2,
        ("housing", "permit"): 3,
        ("audit", "finding"): 2,  # every record quarantined
        ("treasury", "voucher"): 1,  # received, then neither published nor quarantined
    }
    recon = reconciliation(received, {"source_record": links, "quarantine": quarantine})
    got = recon.set_index(["source_system", "record_type"]).to_dict("index")
    assert got == {
        ("audit", "finding"): dict(
            received=2, linked=0, unlinked=0, quarantined=2, accounted_for=2
        ),
        ("drc", "project"): dict(received=2, linked=2, unlinked=0, quarantined=0, accounted_for=2),
        ("housing", "permit"): dict(
            received=3, linked=1, unlinked=1, quarantined=1, accounted_for=3
        ),
        ("treasury", "voucher"): dict(
            received=1, linked=0, unlinked=0, quarantined=0, accounted_for=0
        ),
    }
