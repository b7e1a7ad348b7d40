"""Ten nights of a changing world, each published twice: once as production runs it (the
validated streams kept between nights, only what was staged since read and validated) and once
recomputed in full (every staged record validated afresh). Both stores see the same sources on
the same nights; every night the two publish the same snapshot, hash for hash (issue 27).

The world is the small one with its changes made frequent, so that between two nights three
days apart permits are withdrawn, vouchers are entered days after their pay date, quarantined
records are corrected and re-admitted, and approvals are adjusted (概算调整):
`test_given_the_nights_then_the_world_changes_between_them_in_every_way_it_can` holds that
premise, so the equivalence cannot pass over a world that stood still."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from simulators.world import calendar as cal
from simulators.world import generate_world
from simulators.world.build import PROFILES
from tests.conftest import AS_OF, clone_database, drop_database, night
from yiwang.night.options import NightOptions
from yiwang.store import kept as validated
from yiwang.store.staging import DbSink

pytestmark = pytest.mark.postgres

CHANGING = dataclasses.replace(
    PROFILES["contract"], bad=0.1, late_voucher=0.3, reversal=0.1, permit_deleted=0.5
)
NIGHTS = [AS_OF - dt.timedelta(days=3 * k) for k in range(9, -1, -1)]


@pytest.fixture(scope="module")
def changing_world():
    return generate_world("small", 7, CHANGING)


@pytest.fixture
def two_databases(pg_database):
    """Two fresh, empty stores: the fixture's own and a copy of it made before any night."""
    other = clone_database(pg_database)
    try:
        yield pg_database, other
    finally:
        drop_database(other)


def _end(day: dt.date) -> int:
    return cal.end_of_day_ms(cal.day(day))


def changes_between(world, before: dt.date, after: dt.date) -> dict[str, int]:
    """How the world changed from the end of `before` to the end of `after`, from its truth."""
    deleted = world.tables["deleted"]["_ts"]
    vouchers = world.tables["vouchers"].drop_duplicates("_key")  # each voucher's first version
    arrived = (vouchers["_ts"] > _end(before)) & (vouchers["_ts"] <= _end(after))
    readmitted = adjusted = 0
    for table, df in world.tables.items():
        if "_bad" not in df:
            continue
        then = world.as_of(table, cal.day(before)).set_index("_key")
        now = world.as_of(table, cal.day(after)).set_index("_key")
        both = then.index.intersection(now.index)
        readmitted += int(((then.loc[both, "_bad"] != "") & (now.loc[both, "_bad"] == "")).sum())
        if table == "drc":
            adjusted += int((then.loc[both, "_ts"] != now.loc[both, "_ts"]).sum())
    return {
        "permits withdrawn": int(((deleted > _end(before)) & (deleted <= _end(after))).sum()),
        "vouchers entered late": int((arrived & (vouchers["_pay_day"] <= cal.day(before))).sum()),
        "records corrected": readmitted,
        "approvals adjusted": adjusted,
    }


def test_given_the_nights_then_the_world_changes_between_them_in_every_way_it_can(changing_world):
    total: dict[str, int] = {}
    for before, after in itertools.pairwise(NIGHTS):
        for what, n in changes_between(changing_world, before, after).items():
            total[what] = total.get(what, 0) + n
    assert all(n >= 3 for n in total.values()), total


def test_given_ten_changing_nights_then_each_incremental_one_publishes_what_a_full_recompute_does(
    changing_world, two_databases, tmp_path, monkeypatch
):
    incremental, full = two_databases
    kept_streams = {(source, s.name) for source, s in validated.kept_streams()}
    reads: dict[tuple[str, str], int | None] = {}  # each staged stream read: since which write
    original = DbSink.read

    def read(sink, source, stream, since=None, ids=False):
        reads[source, stream] = since
        return original(sink, source, stream, since, ids)

    monkeypatch.setattr(DbSink, "read", read)
    hashes = []
    for n, day in enumerate(NIGHTS):
        reads.clear()
        kept = night(
            incremental, changing_world, day, tmp_path / "quality-incremental",
            options=NightOptions(kept=tmp_path / "kept"),
        ).published  # fmt: skip
        if n:  # after the first night, a kept stream reads only what was staged since
            assert kept_streams <= reads.keys(), day
            assert all(reads[s] is not None for s in kept_streams), day
        reads.clear()
        whole = night(full, changing_world, day, tmp_path / "quality-full", options=NightOptions())
        assert kept_streams <= reads.keys(), day
        assert all(since is None for since in reads.values()), day  # every record, afresh
        assert (kept.status, kept.content_hash) == ("published", whole.published.content_hash), day
        assert kept.counts == whole.published.counts, day
        hashes.append(kept.content_hash)
    assert len(set(hashes)) == len(NIGHTS)  # every night published a snapshot of its own
