"""The change feed, as a downstream system follows it: read the first snapshot, then the changes
after it, page by page from the API; the replay equals the latest snapshot row for row, deletes
included, and a night that changes nothing adds nothing."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import AS_OF, night
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.api.models import ChangePage
from yiwang.export import export
from yiwang.store.canonical import canonical
from yiwang.store.changes import Keyed, TooOld, read_changes
from yiwang.store.db import engine_for
from yiwang.store.publish import Publication, Snapshot, ledger, read_table, snapshot_table
from yiwang.store.tables import DATA_TABLES, SNAPSHOT_COLUMNS, published, stored

TOKEN = "feed-reader"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FED = [t for t in DATA_TABLES if t != "snapshot"]


def snapshot_rows(conn) -> dict[str, dict[str, tuple[str, dict]]]:
    """Per table, key -> (row hash, row), as a client that read the snapshot holds it: read
    through the contract's tables, the snapshot's own columns left to the publication."""
    out = {}
    for name in FED:
        frame = read_table(conn, name)
        _, lines, hashes = canonical(name, frame)
        keyed = Keyed.of(conn, name, None, lines, list(range(len(lines))), hashes)
        out[name] = {k: (h, json.loads(row)) for k, (h, row) in keyed.new.items()}
    return out


def stored_hashes(conn, name: str) -> list[str]:
    """The row hashes the store holds for `name`, straight from its table."""
    return sorted(conn.execute(select(stored[name].c.row_hash)).scalars())


def followed(client: TestClient, since: str, limit: int) -> tuple[list[dict], str]:
    items, after = [], None
    while True:
        params = {"since": since, "limit": limit, **({"after": after} if after else {})}
        answer = client.get("/changes", params=params, headers=AUTH)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ChangePage.model_validate(body)  # what the OpenAPI document promises
        items += body["items"]
        after = body["next"]
        if after is None:
            return items, body["latest_run"]


# three nights of the small world: a permit deleted (07-10), a late voucher, the usual updates
NIGHTS = (dt.date(2026, 7, 7), dt.date(2026, 7, 10), dt.date(2026, 7, 13))


@pytest.fixture
def fresh_store(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'feed.db'}"
    return request.getfixturevalue("pg_database")


def test_given_three_nights_when_the_feed_is_replayed_over_the_first_then_it_is_the_third(
    fresh_store, world, tmp_path
):
    engine = engine_for(fresh_store)
    assert night(fresh_store, world, NIGHTS[0], tmp_path / "q").published.status == "published"
    with engine.connect() as conn:
        first_run = ledger(conn)["run_id"].iloc[-1]
        replayed = snapshot_rows(conn)
    for as_of in NIGHTS[1:]:
        assert night(fresh_store, world, as_of, tmp_path / "q").published.status == "published"
    client = TestClient(create_app(engine, {digest(TOKEN)}))
    items, latest = followed(client, first_run, limit=97)
    with engine.connect() as conn:
        assert latest == ledger(conn)["run_id"].iloc[-1] == f"{NIGHTS[-1]}"
        assert [(i["seq"], i["ordinal"]) for i in items] == [
            (int(r.seq), int(r.ordinal)) for r in read_changes(conn, first_run).itertuples()
        ]
        third = snapshot_rows(conn)
        held = {name: stored_hashes(conn, name) for name in FED}

    kinds = {"insert": 0, "update": 0, "delete": 0}
    for item in items:
        rows, key = (
            replayed[item["table_name"]],
            json.dumps(item["key"], ensure_ascii=False, separators=(",", ":")),
        )
        kinds[item["change_type"]] += 1
        if item["change_type"] == "insert":
            assert key not in rows, item
            rows[key] = (item["row_hash"], item["row"])
        elif item["change_type"] == "update":
            before = rows[key]
            assert before[0] == item["previous_row_hash"] != item["row_hash"], item
            assert before[1] != item["row"], f"an update that changed nothing: {item}"
            rows[key] = (item["row_hash"], item["row"])
        else:
            assert rows.pop(key)[0] == item["previous_row_hash"], item
            assert item["row"] is None
    assert replayed == third  # row for row, hash for hash
    for name in FED:
        assert sorted(h for h, _ in replayed[name].values()) == held[name], name
    print(f"feed after {first_run}: {len(items)} changes {kinds}, by table",
          {n: sum(i["table_name"] == n for i in items) for n in FED})  # fmt: skip
    assert kinds["delete"] > 0 and kinds["insert"] > 0 and kinds["update"] > 0, kinds
    # the same feed as a file, beside the snapshot it leads to
    manifest = export(engine, "parquet", tmp_path / "export", changes_since=first_run)
    assert manifest.run_id == latest and manifest.changes_since == first_run
    fed = duckdb.connect().execute(
        f"SELECT seq, ordinal, change_type FROM '{tmp_path / 'export' / 'changes.parquet'}' "
        "ORDER BY seq, ordinal"
    )
    assert fed.fetchall() == [(i["seq"], i["ordinal"], i["change_type"]) for i in items]
    moved = {c for c in SNAPSHOT_COLUMNS.values()}
    assert not any(moved & set(i["row"] or {}) for i in items)  # the snapshot's, not the rows'


def test_given_a_night_that_changes_nothing_then_the_feed_adds_nothing(
    backend, store_copy, world, tmp_path
):
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        run = ledger(conn)["run_id"].iloc[-1]
    again = night(store_copy, world, AS_OF, tmp_path / "q").published
    assert again.status == "unchanged"
    client = TestClient(create_app(engine, {digest(TOKEN)}))
    assert followed(client, run, limit=10) == ([], run)


def test_given_only_the_date_moved_then_no_row_is_a_change(backend, store_copy):
    """The same rows published as of a later day: `project.as_of_date` and
    `quarantine.last_seen_run` move for every row, and none of them is fed as an update."""
    engine = engine_for(store_copy)
    later = AS_OF + dt.timedelta(days=1)
    with engine.connect() as conn:
        run = ledger(conn)["run_id"].iloc[-1]
        tables = {name: read_table(conn, name) for name in DATA_TABLES}
    tables["snapshot"] = snapshot_table(f"{later}", later)
    with Publication(engine) as publication:
        row = publication.commit(Snapshot.of(tables), f"{later}", later, {})
    assert row["changes"]["project"] == {
        "deleted": 0,
        "inserted": 0,
        "kept": len(tables["project"]),
    }
    with engine.connect() as conn:
        assert read_changes(conn, run).empty
        shown = conn.execute(select(published["project"].c.as_of_date).distinct()).all()
        quarantined = conn.execute(select(published["quarantine"].c.last_seen_run).distinct()).all()
    assert shown == [(later,)] and quarantined == [(f"{later}",)]


def test_given_a_publication_too_large_to_feed_then_a_client_across_it_rereads(
    fresh_store, world, tmp_path, monkeypatch
):
    engine = engine_for(fresh_store)
    night(fresh_store, world, NIGHTS[0], tmp_path / "q")
    monkeypatch.setattr("yiwang.store.publish.FEED_ROWS", 5)  # fewer than the night changes
    night(fresh_store, world, NIGHTS[1], tmp_path / "q")
    with engine.connect() as conn:
        runs = ledger(conn)
    assert json.loads(runs["record_counts"].iloc[-1])["changes"] is None
    client = TestClient(create_app(engine, {digest(TOKEN)}))
    answer = client.get("/changes", params={"since": runs["run_id"].iloc[0]}, headers=AUTH)
    assert answer.status_code == 410, answer.text
    assert followed(client, runs["run_id"].iloc[-1], limit=10) == ([], runs["run_id"].iloc[-1])


def test_given_a_run_the_feed_does_not_reach_then_the_client_is_told_to_reread(backend, store_copy):
    engine = engine_for(store_copy)
    client = TestClient(create_app(engine, {digest(TOKEN)}))
    answer = client.get("/changes", params={"since": "1999-01-01"}, headers=AUTH)
    assert answer.status_code == 410
    assert "read the snapshot again" in answer.json()["detail"]
    with engine.connect() as conn, pytest.raises(TooOld):
        read_changes(conn, "1999-01-01")


def test_given_the_views_then_each_row_shows_the_snapshot_columns_of_its_publication(
    backend, store_copy
):
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        head = ledger(conn).iloc[-1]
        projects = conn.execute(select(published["project"].c.as_of_date).distinct()).all()
        runs = conn.execute(select(published["quarantine"].c.last_seen_run).distinct()).all()
    assert projects == [(head["as_of_date"],)]
    assert runs == [(head["run_id"],)]
