"""The ledger's head anchored outside the database: a rewritten latest ledger row (its hashes
recomputed, so the chain's own check passes) or a deleted ledger is told by `verify --expect`
and `verify --heads`; published rows under an empty ledger fail `verify` on their own."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from yiwang.cli.main import app
from yiwang.store.anchor import append_head
from yiwang.store.canonical import canonical, chain_hash, content_hash, ledger_row_hash
from yiwang.store.db import engine_for, qualified
from yiwang.store.publish import LEDGER, latest_run, read_table, verify
from yiwang.store.tables import DATA_TABLES

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the logic is the same on both


def _forge(url: str) -> None:
    """Rewrite a published row and the ledger's latest row to match, every hash recomputed."""
    engine = engine_for(url)
    with engine.begin() as conn:
        scorecard = qualified(conn, "unified", "unit_scorecard")
        code = conn.execute(text(f"SELECT min(unit_code) FROM {scorecard}")).scalar_one()
        conn.execute(text(f"UPDATE {scorecard} SET unit_name = 'forged' WHERE unit_code = :c"),
                     {"c": code})  # fmt: skip
        hashes = {}
        for name in DATA_TABLES:
            frame = read_table(conn, name)
            order, _, hashes[name] = canonical(name, frame)
            if name == "unit_scorecard":
                for i, at in enumerate(order):
                    if frame.loc[at, "unit_code"] == code:
                        conn.execute(text(f"UPDATE {scorecard} SET row_hash = :h WHERE "
                                          "unit_code = :c"), {"h": hashes[name][i], "c": code})  # fmt: skip
        row = latest_run(conn)
        row["content_hash"] = content_hash(hashes)
        row["chain_hash"] = chain_hash(None, row["content_hash"])  # the only run
        row["row_hash"] = ledger_row_hash(row)
        conn.execute(LEDGER.update().where(LEDGER.c.seq == row["seq"]).values(**row))


def _head_written(url: str, path) -> str:
    """The head as a publish writes it to YIWANG_LEDGER_HEADS; returns its chain hash."""
    with engine_for(url).connect() as conn:
        row = latest_run(conn)
    append_head(path, row)
    return row["chain_hash"]


def test_given_a_consistently_rewritten_latest_row_then_only_the_anchored_head_tells(
    store_copy, tmp_path
):
    heads = tmp_path / "heads.jsonl"
    published = _head_written(store_copy, heads)
    _forge(store_copy)
    engine = engine_for(store_copy)
    assert verify(engine).ok  # the chain alone cannot tell: every hash was recomputed
    expected = verify(engine, expect=published)
    assert not expected.ok
    assert f"not the expected {published}: the ledger was rewritten" in expected.problems[0]
    anchored = verify(engine, heads=heads)
    assert not anchored.ok
    assert "differs from" in anchored.problems[0] and "chain_hash" in anchored.problems[0]
    assert verify(engine_for(store_copy), expect="0" * 64).problems  # any other hash too


def test_given_the_ledger_deleted_then_verify_fails_with_or_without_an_anchor(store_copy, tmp_path):
    heads = tmp_path / "heads.jsonl"
    published = _head_written(store_copy, heads)
    engine = engine_for(store_copy)
    with engine.begin() as conn:
        conn.execute(LEDGER.delete())
    plain = verify(engine)
    assert not plain.ok
    assert "the ledger is empty but project" in plain.problems[0]
    assert "the ledger was deleted" in plain.problems[0]
    assert any("the ledger is empty" in p for p in verify(engine, expect=published).problems)
    assert any("is not in the ledger" in p for p in verify(engine, heads=heads).problems)


def test_given_an_intact_store_then_verify_with_its_anchor_passes_on_the_command_line(
    store_copy, tmp_path
):
    heads = tmp_path / "heads.jsonl"
    published = _head_written(store_copy, heads)
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "--database-url", store_copy, "--expect", published,
                             "--heads", str(heads)])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "chain and anchored head and latest snapshot intact" in ok.output
    bad = runner.invoke(app, ["verify", "--database-url", store_copy, "--expect", "f" * 64])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1 and "the ledger was rewritten" in bad.output
    heads.write_text("not json\n")
    garbled = runner.invoke(app, ["verify", "--database-url", store_copy, "--heads", str(heads)])
    assert garbled.exit_code == 1 and "line 1 is not a ledger head" in garbled.output


def test_given_yiwang_ledger_heads_when_a_run_commits_then_its_head_is_appended(
    store_copy, tmp_path
):
    from yiwang.store.publish import Publication, Snapshot

    heads = tmp_path / "heads.jsonl"  # YIWANG_LEDGER_HEADS, as the edge passes it down
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        tables = {name: read_table(conn, name) for name in DATA_TABLES}
        first = latest_run(conn)
    with Publication(engine, heads) as publication:  # the same tables again, as a later night
        row = publication.commit(Snapshot.of(tables), "again", first["as_of_date"], {})
    written = [json.loads(line) for line in heads.read_text().splitlines()]
    assert written == [
        {k: row[k] for k in ("seq", "run_id", "chain_hash", "content_hash", "row_hash")}
    ]
    assert verify(engine, expect=row["chain_hash"], heads=heads).ok
