"""Publication on both backends: what a night publishes, idempotence, a second night, the
ledger's chain, and that the embedded and the production store publish the same bytes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.conftest import AS_OF, night
from yiwang.store.canonical import chain_hash
from yiwang.store.db import engine_for, qualified
from yiwang.store.publish import ledger, read_table, verify

pytestmark = pytest.mark.postgres


def test_given_a_night_when_published_then_every_record_is_linked_unlinked_or_quarantined(
    backend, published_small
):
    url, result = published_small[backend]
    engine = engine_for(url)
    with engine.connect() as conn:
        runs = ledger(conn)
        links = read_table(conn, "source_record")
        quarantine = read_table(conn, "quarantine")
        projects = read_table(conn, "project")
    assert result.published.status == "published"
    assert list(runs["run_id"]) == [f"{AS_OF}"]
    counts = json.loads(runs.iloc[0]["record_counts"])
    for stream, c in counts.items():
        if stream in ("tables", "changes"):
            continue
        source, record_type = stream.split("/")
        mine = links[(links["source_system"] == source) & (links["record_type"] == record_type)]
        held = quarantine[
            (quarantine["source_system"] == source) & (quarantine["record_type"] == record_type)
        ]
        assert c["received"] == len(mine) + len(held) > 0, stream
        assert c["linked"] == int(mine["project_id"].notna().sum()), stream
    assert counts["tables"]["project"] == len(projects)
    assert all(isinstance(v, Decimal) for v in projects["paid_amount"])
    assert (projects["as_of_date"] == AS_OF).all()
    assert verify(engine).ok


def test_given_both_backends_when_the_same_night_is_published_then_the_content_hash_is_equal(
    published_small,
):
    hashes = {b: r.published.content_hash for b, (_, r) in published_small.items()}
    assert hashes["sqlite"] == hashes["postgres"], hashes


def test_given_a_published_night_when_it_runs_again_then_nothing_changes(
    backend, store_copy, world, tmp_path, published_small
):
    first = published_small[backend][1].published
    again = night(store_copy, world, AS_OF, tmp_path / "q").published
    assert again.status == "unchanged"
    assert again.content_hash == first.content_hash
    with engine_for(store_copy).connect() as conn:
        assert len(ledger(conn)) == 1


def test_given_a_second_night_when_published_then_the_ledger_chains_and_changes_show(
    backend, store_copy, world, tmp_path, published_small
):
    first = published_small[backend][1].published
    later = AS_OF + dt.timedelta(days=1)
    second = night(store_copy, world, later, tmp_path / "q").published
    assert second.status == "published"
    assert second.content_hash != first.content_hash
    assert second.chain_hash == chain_hash(first.chain_hash, second.content_hash)
    links = second.changes["source_record"]  # a night touches only the rows that changed
    assert links["kept"] > 10 * (links["inserted"] + links["deleted"]) > 0, second.changes
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        runs = ledger(conn)
        projects = read_table(conn, "project")
    assert list(runs["run_id"]) == [f"{AS_OF}", f"{later}"]
    assert (projects["as_of_date"] == later).all()
    assert verify(engine).ok


@pytest.mark.parametrize(
    "edited", ["edited by hand", "z" * 64, "ab" * 31 + "  ", "tab\tand \\ and \\N"]
)
def test_given_an_edited_row_hash_when_the_next_night_publishes_then_the_row_is_replaced(
    backend, store_copy, world, tmp_path, edited
):
    """Publishing compares the stored row hashes as digests; one that spells no digest (a
    hand-edited row: another length, not hex, hex with spaces, or text `COPY` escapes) is a
    row that differs: replaced, and the store verifies again."""
    engine = engine_for(store_copy)
    with engine.begin() as conn:
        target = qualified(conn, "unified", "unit_scorecard")
        conn.execute(text(f"UPDATE {target} SET row_hash = :edited WHERE unit_code = "
                          f"(SELECT min(unit_code) FROM {target})"), {"edited": edited})  # fmt: skip
    assert not verify(engine).ok
    second = night(store_copy, world, AS_OF + dt.timedelta(days=1), tmp_path / "q").published
    assert second.status == "published"
    with engine.connect() as conn:
        hashes = read_table(conn, "unit_scorecard")["row_hash"]
    assert edited not in set(hashes)
    assert verify(engine).ok


def test_given_an_older_night_when_published_after_a_newer_then_it_is_refused(
    backend, store_copy, world, tmp_path
):
    import gc

    from yiwang.store.publish import PublishError

    before = gc.get_threshold()
    gc.set_threshold(701, 11, 12)  # a worker process's own setting
    try:
        with pytest.raises(PublishError, match="back in time"):
            night(store_copy, world, AS_OF - dt.timedelta(days=1), tmp_path / "q")
        # the night tunes the collector for itself only: the worker is left as it was
        assert gc.get_threshold() == (701, 11, 12)
    finally:
        gc.set_threshold(*before)


def test_given_staged_state_when_a_commit_fails_then_neither_records_nor_state_are_stored(
    backend, store_copy, monkeypatch
):
    import pandas as pd

    import yiwang.store.staging as staging
    from departments.registry import get

    stream = get("audit").stream("findings")
    sink = staging.DbSink(engine_for(store_copy), run_id="crash")
    before_state = sink.state("audit", "findings")
    before = sink.records("audit", "findings")
    changed = before.head(3).copy()
    changed["_version"] = "9999"  # newer than anything stored: the upsert would apply

    def crash(*_args, **_kwargs):
        raise RuntimeError("killed between staging and state")

    monkeypatch.setattr(staging, "_put_state", crash)
    sink.stage("audit", stream, changed)
    with pytest.raises(RuntimeError):
        sink.commit("audit", stream, {"since": "2099-01-01"}, final=True)
    assert sink.state("audit", "findings") == before_state
    after = sink.records("audit", "findings")
    assert set(after["_version"]) == set(before["_version"])
    pd.testing.assert_frame_equal(after, before)


def test_given_a_background_write_fails_then_no_later_write_lands_and_the_error_is_raised(
    backend, store_copy, monkeypatch
):
    """Writes run in a thread while the sync reads on: a failed one must stop the later ones,
    whose state would otherwise skip past the records that were never stored."""
    import yiwang.store.staging as staging
    from departments.registry import get

    stream = get("audit").stream("findings")
    sink = staging.DbSink(engine_for(store_copy), run_id="crash", commit_every_s=0)
    before_state = sink.state("audit", "findings")
    before = sink.records("audit", "findings")
    first, second = before.head(2).copy(), before.iloc[2:4].copy()
    first["_version"] = second["_version"] = "9999"
    real, calls = staging._put_state, []

    def fail_first(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 1:
            raise RuntimeError("the first write's transaction failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(staging, "_put_state", fail_first)
    sink.stage("audit", stream, first)
    sink.commit("audit", stream, {"since": "2099-01-01"}, final=False)  # runs in the background
    sink.stage("audit", stream, second)
    with pytest.raises(RuntimeError, match="first write"):
        sink.commit("audit", stream, {"since": "2099-02-01"}, final=True)
    assert calls == [{"since": "2099-01-01"}]  # the second write never started
    assert sink.state("audit", "findings") == before_state
    assert set(sink.records("audit", "findings")["_version"]) == set(before["_version"])


def test_given_a_stream_that_checkpoints_only_at_its_end_then_its_buffer_stays_bounded(
    backend, store_copy
):
    """Records are written once `max_pending_rows` are buffered, without the state: the state
    stays where it was until the stream commits it."""
    from departments.registry import get
    from yiwang.store.staging import DbSink

    stream = get("audit").stream("findings")
    sink = DbSink(engine_for(store_copy), run_id="bounded", max_pending_rows=3)
    before_state = sink.state("audit", "findings")
    rows = sink.records("audit", "findings").head(4).copy()
    rows["_version"] = "9999"
    sink.stage("audit", stream, rows.head(2))
    sink.flush()
    assert "9999" not in set(sink.records("audit", "findings")["_version"])  # 2 < 3: buffered
    sink.stage("audit", stream, rows.tail(2))
    sink.flush()
    stored = sink.records("audit", "findings").set_index("_key")["_version"]
    assert (stored.loc[rows["_key"]] == "9999").all()  # 4 ≥ 3: written
    assert sink.state("audit", "findings") == before_state
    sink.commit("audit", stream, {"since": "2099-01-01"}, final=True)
    assert sink.state("audit", "findings") == {"since": "2099-01-01"}


def test_given_a_staged_record_when_an_older_version_arrives_then_the_newer_one_stays(
    backend, store_copy
):
    from departments.registry import get
    from yiwang.store.staging import DbSink

    stream = get("housing").stream("permits")
    sink = DbSink(engine_for(store_copy), run_id="late")
    stored = sink.records("housing", "permits")
    one = stored.head(1).copy()
    key, version = one["_key"].iloc[0], one["_version"].iloc[0]
    stale = one.assign(_version="000000000000000", projectName="stale name")
    sink.stage("housing", stream, stale)
    sink.commit("housing", stream, None, final=True)
    kept = sink.records("housing", "permits").set_index("_key").loc[key]
    assert kept["_version"] == version
    assert kept["projectName"] != "stale name"


def test_given_money_in_staging_then_it_round_trips_as_exact_decimals(backend, store_copy):
    engine = engine_for(store_copy)
    with engine.connect() as conn:
        raw = (
            conn.execute(
                text(
                    f"SELECT record FROM {qualified(conn, 'hub', 'staged_record')} WHERE stream = 'permits' LIMIT 50"
                )
            )
            .scalars()
            .all()
        )
    assert any('"$decimal"' in r for r in raw)  # JSON numbers kept exact, never floats


def test_given_every_stream_when_staged_in_the_database_then_it_reads_back_as_the_file_sink_has_it(
    backend, published_small, world, tmp_path
):
    """What validation reads from staging is what the connectors produced: same rows, values
    and types (money Decimal, epoch fields as Beijing times) as the file sink keeps them."""
    import pandas as pd

    from departments.registry import registry
    from tests.connectors.kit import stage_all
    from yiwang.store.staging import DbSink

    files = stage_all(world, AS_OF, tmp_path / "files")
    db = DbSink(engine_for(published_small[backend][0]), run_id="read")
    for source, connector in registry().items():
        for stream in connector.streams:
            want = files.records(source, stream.name)
            got = db.records(source, stream.name)
            assert len(got) == len(want), stream.name
            if want.empty:
                continue
            want, got = _by_key(want), _by_key(got[want.columns])
            for column in want.columns:
                mismatch = [
                    (a, b)
                    for a, b in zip(want[column], got[column], strict=True)
                    if not (a == b or (pd.isna(a) and pd.isna(b)))
                ]
                assert not mismatch, f"{source}/{stream.name}.{column}: {mismatch[:3]}"
                kinds = {type(v) for v in want[column] if not pd.isna(v)}
                assert kinds == {type(v) for v in got[column] if not pd.isna(v)}, column


def _by_key(frame):
    return frame.sort_values(["_key", "_version"], na_position="first").reset_index(drop=True)


def test_given_a_landed_night_when_run_again_into_a_fresh_store_without_the_sources_then_it_replays_it(
    world, tmp_path
):
    from connectors.core import Landing
    from simulators.cluster import Cluster
    from yiwang.night.run import run_night

    landing = Landing(tmp_path / "landing", f"{AS_OF}")
    with Cluster(world, AS_OF, rate_limits=False) as cluster:
        environ = cluster.environment()
        live = run_night(engine_for(f"sqlite:///{tmp_path / 'a.db'}"), environ, AS_OF, landing,
                         rate_limits=False, quality_dir=tmp_path / "qa")  # fmt: skip
    # the simulators are gone: their connections now lead nowhere
    again = run_night(engine_for(f"sqlite:///{tmp_path / 'b.db'}"), environ, AS_OF,
                      Landing(tmp_path / "landing", f"{AS_OF}"), quality_dir=tmp_path / "qb")  # fmt: skip
    assert again.published.content_hash == live.published.content_hash
    assert all(r.requests == 0 for r in again.extracted.values())
    notes = {n for r in again.extracted.values() for s in r.streams.values() for n in s.notes}
    assert notes == {"replayed from landing"}


def test_given_a_stream_longer_than_a_read_chunk_then_records_reads_it_whole_and_in_key_order(
    backend, store_copy, monkeypatch
):
    """Staged records are read a chunk at a time to bound memory; the frame is the same."""
    import pandas as pd

    import yiwang.store.staging as staging

    sink = staging.DbSink(engine_for(store_copy), run_id="chunks")
    whole = sink.records("treasury", "vouchers")
    monkeypatch.setattr(staging, "READ_CHUNK", 7)
    chunked = sink.records("treasury", "vouchers")
    assert len(whole) > 7 * 3
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked["_key"].is_monotonic_increasing
