"""Drill: the departmental systems misbehave (5% transport faults on every request, besides
the contracts' bad-record quirks, which always happen) and the night publishes exactly the
fault-free snapshot; nothing received is lost: for every stream, what the system serves is
what the store holds, published or quarantined."""

from __future__ import annotations

import pytest

from simulators.cluster import Cluster
from tests.conftest import AS_OF
from tests.connectors.kit import FAST as POLICY
from yiwang.night.run import run_night
from yiwang.store.db import engine_for
from yiwang.store.publish import read_table

# what each system's inventory calls the resources the hub reads, by (source, record type)
SERVED = {
    ("drc", "project"): ("drc", "projects"),
    ("treasury", "voucher"): ("treasury", "vouchers"),
    ("housing", "permit"): ("housing", "permits"),
    ("housing", "progress_report"): ("housing", "progress-reports"),
    ("housing", "inspection"): ("housing", "inspections"),
    ("housing", "acceptance"): ("housing", "acceptances"),
    ("audit", "finding"): ("audit", "findings"),
}


@pytest.fixture(scope="module")
def faulty_night(world, tmp_path_factory):
    """The small world's night of AS_OF read through 5% transport faults into a fresh store."""
    root = tmp_path_factory.mktemp("faults")
    url = f"sqlite:///{root / 'faults.db'}"
    with Cluster(world, AS_OF, fault_rate=0.05, fault_seed=11, rate_limits=False) as cluster:
        result = run_night(
            engine_for(url), cluster.environment(), AS_OF, policy=POLICY, rate_limits=False,
            quality_dir=root / "quality",
        )  # fmt: skip
        inventory = {s: srv.inventory() for s, srv in cluster.servers.items()}
        drawn = sum(1 for s in cluster.servers.values() for f in s.faults.log if f != "-")
    return url, result, inventory, drawn


def test_given_transport_faults_then_the_snapshot_equals_the_fault_free_one(
    faulty_night, published_small
):
    _, result, _, drawn = faulty_night
    assert drawn >= 10, "too few faults were drawn for the drill to mean anything"
    assert sum(r.retries for r in result.extracted.values()) >= drawn // 2
    fault_free = published_small["sqlite"][1].published
    assert result.published.content_hash == fault_free.content_hash


def test_given_a_night_then_every_record_served_is_published_or_quarantined(faulty_night):
    url, result, inventory, _ = faulty_night
    with engine_for(url).connect() as conn:
        published = read_table(conn, "source_record")
        quarantine = read_table(conn, "quarantine")
    run = result.published.run_id
    quarantined_now = quarantine[quarantine["last_seen_run"] == run]
    for (source, record_type), (system, resource) in SERVED.items():
        served = inventory[system][resource]  # live records (a deleted one is a tombstone)
        ours = (published["source_system"] == source) & (published["record_type"] == record_type)
        held = (quarantined_now["source_system"] == source) & (
            quarantined_now["record_type"] == record_type
        )
        counts = result.published.counts[f"{source}/{record_type}"]
        assert counts["received"] == served, (source, record_type, counts, served)
        assert int(ours.sum()) + int(held.sum()) == served, (source, record_type)
        assert counts["accepted"] + counts["quarantined"] == counts["received"]
    assert len(quarantined_now) > 0, "the bad-record quirks did not happen"
