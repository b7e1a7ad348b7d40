"""Airflow really runs the nights: `airflow dags test` of every sync DAG and the publish DAG
against the simulators, with Airflow's own metadata database in a temporary AIRFLOW_HOME, and
the systems' connections only in that database (`airflow connections import`; no
`AIRFLOW_CONN_*` anywhere). The published snapshot is checked against the simulator's ground
truth and against the in-process run of the same night (same content_hash); the published
asset carries the run's references, and the OpenLineage events (the provider's file
transport) name what each task read and wrote. Airflow's night on PostgreSQL is
`test_celery_scale_out`'s, checked against the in-process night to the hash."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from departments.registry import get, ground_truth, registry
from simulators.cluster import Cluster
from simulators.world import calendar as cal
from tests.conftest import night
from tests.drills.scan import cluster_secrets, secret_hits
from transforms.evaluate import link_scores, money
from yiwang.airflow.local import add_connections, airflow_env, dags_test_night
from yiwang.store.db import engine_for
from yiwang.store.publish import ledger, read_table, verify

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> dict[str, str]:
    """A fresh Airflow metadata database (SQLite) and the settings every `airflow` call gets,
    OpenLineage's events going to a file."""
    home = tmp_path_factory.mktemp("airflow")
    events = home / "lineage" / "events.jsonl"
    events.parent.mkdir()
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    with patch.dict(os.environ, env, clear=True):
        return airflow_env(home, {
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "yiwang-test",
        })  # fmt: skip


def airflow_night(
    env: dict[str, str], world, as_of: dt.date, url: str, data: Path
) -> tuple[list[str], list[str], dict[str, str]]:
    """Runs the night, the systems' connections stored in Airflow's metadata database only;
    returns what Airflow printed, the secrets the systems used, and each system's address."""
    with Cluster(world, as_of, rate_limits=False) as cluster:
        add_connections(env, cluster.connections())
        run_env = {**env, "YIWANG_DATABASE_URL": url, "YIWANG_DATA_DIR": str(data)}
        assert not [k for k in run_env if k.startswith("AIRFLOW_CONN_")]
        runs = dags_test_night(run_env, as_of)
        # dags_test_night raises, naming them, unless every DagRun succeeded
        outputs = [r.log.read_text() for r in runs]
        systems = {name: server.url for name, server in cluster.servers.items()}
        return outputs, cluster_secrets(cluster), systems


def lineage_events(env: dict[str, str]) -> list[dict]:
    """The COMPLETE events of tasks, as the provider's file transport wrote them."""
    path = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])["log_file_path"]
    events = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    return [e for e in events if e["eventType"] == "COMPLETE" and "." in e["job"]["name"]]


def published_asset_extras(env: dict[str, str]) -> list[dict]:
    meta = create_engine(f"sqlite:///{Path(env['AIRFLOW_HOME']) / 'airflow.db'}")
    with meta.connect() as conn:
        rows = conn.execute(
            text("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                 "WHERE a.name = 'yiwang_published' ORDER BY e.id")
        ).scalars()  # fmt: skip
        return [json.loads(r) if isinstance(r, str) else r for r in rows]


def snapshot(url: str) -> dict[str, pd.DataFrame]:
    with engine_for(url).connect() as conn:
        return {t: read_table(conn, t) for t in ("project", "source_record", "quarantine")} | {
            "ledger": ledger(conn)
        }


# two nights of the small world with a deletion (a permit, 07-10) and a late voucher (paid by
# 07-07, entered after it) between them, besides the usual updates
NIGHT_1, NIGHT_2 = dt.date(2026, 7, 7), dt.date(2026, 7, 10)
KEY = ["source_system", "record_type", "record_key"]


def keys(frame: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, frame.dropna(subset=["record_key"])[KEY].to_numpy()))


@pytest.mark.timeout(1200)  # ten `airflow dags test` processes; beside another xdist worker
def test_given_two_nights_through_airflow_on_sqlite_then_the_snapshots_match_the_world(
    airflow_home, world, tmp_path
):
    url = f"sqlite:///{tmp_path / 'airflow.db'}"
    outputs, secrets, systems = airflow_night(airflow_home, world, NIGHT_1, url, tmp_path)
    first = snapshot(url)
    in_process = night(f"sqlite:///{tmp_path / 'in-process.db'}", world, NIGHT_1, tmp_path / "q")
    assert first["ledger"]["content_hash"].tolist() == [in_process.published.content_hash]
    truth = ground_truth(world, cal.day(NIGHT_1))
    scores = link_scores(first["source_record"], truth)
    assert scores["precision"] >= 0.995 and scores["recall"] >= 0.95, scores
    paid = money(
        first["project"], first["source_record"], truth, world.money_truth(cal.day(NIGHT_1))
    )
    assert paid["correctly_linked"] > 0 and paid["differences"] == [], paid

    # lineage of the first night: every extract names the system's stream it read and the
    # staging table it wrote, with the records it staged; publish names the unified tables
    events = lineage_events(airflow_home)
    extracts = [e for e in events if ".extract_" in e["job"]["name"]]
    streams = {f"sync_{n}.extract_{s.name}" for n, c in registry().items() for s in c.streams}
    assert {e["job"]["name"] for e in extracts} == streams
    for event in extracts:
        source = event["job"]["name"].split(".")[0].removeprefix("sync_")
        stream = get(source).stream(event["job"]["name"].split(".extract_")[1])
        (read,), (wrote,) = event["inputs"], event["outputs"]
        assert read == {**read, "namespace": systems[source], "name": stream.path}, read
        assert wrote["name"].endswith("hub.staged_record"), wrote
    staged = {
        e["job"]["name"]: e["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"]
        for e in extracts
    }
    assert staged["sync_drc.extract_projects"] == len(world.as_of("drc", cal.day(NIGHT_1)))
    (publish,) = [e for e in events if e["job"]["name"] == "publish_unified.publish"]
    wrote = {
        o["name"].rsplit(".", 2)[-1]: o["outputFacets"]["outputStatistics"]["rowCount"]
        for o in publish["outputs"]
    }
    assert wrote["project"] == len(first["project"]) > 0
    assert wrote["source_record"] == len(first["source_record"])
    assert wrote["quarantine"] == len(first["quarantine"])
    # the published asset names the snapshot, for whatever is scheduled on it
    (extra,) = published_asset_extras(airflow_home)
    assert extra["content_hash"] == first["ledger"]["content_hash"].iloc[0]
    assert extra["run_id"] == f"{NIGHT_1}" and extra["status"] == "published"

    more_outputs, more_secrets, _ = airflow_night(airflow_home, world, NIGHT_2, url, tmp_path)
    second = snapshot(url)
    assert second["ledger"]["run_id"].tolist() == [f"{NIGHT_1}", f"{NIGHT_2}"]
    assert [e["run_id"] for e in published_asset_extras(airflow_home)] == [
        f"{NIGHT_1}",
        f"{NIGHT_2}",
    ]
    assert verify(engine_for(url)).ok
    # every record live at the end of the day is published or quarantined, and only those
    want = keys(ground_truth(world, cal.day(NIGHT_2)))
    before = keys(first["source_record"]) | keys(first["quarantine"])
    after = keys(second["source_record"]) | keys(second["quarantine"])
    assert after == want
    deleted = {k for k in before - want if k[1] == "permit"}
    assert deleted, "no permit was deleted between the nights: the test would prove nothing"
    late = {k for k in want - before if k[1] == "voucher"} & keys(
        ground_truth(world, cal.day(NIGHT_2))
    )
    vouchers = world.tables["vouchers"].set_index("_key")["_pay_day"]
    assert any(vouchers[k[2]] <= cal.day(NIGHT_1) for k in late), "no late voucher arrived"

    # drill: no secret anywhere the nights wrote (Airflow's logs and metadata database with
    # its XCom, the landing zone, staging and the published tables, the quality reports)
    secrets = {*secrets, *more_secrets}
    assert len(secrets) >= 5  # four systems' secrets and at least one housing token
    home = Path(airflow_home["AIRFLOW_HOME"])
    hits = secret_hits([home, tmp_path], secrets, outputs + more_outputs)
    assert hits == [], hits[:5]
    # and bank accounts only masked in what downstream reads
    accounts = set(world.as_of("vouchers", cal.day(NIGHT_2))["收款人账号"].dropna().astype(str))
    accounts = {a for a in accounts if len(a) >= 8}
    published = pd.concat([second["quarantine"], second["source_record"]])
    text = "\n".join(map(str, published.to_numpy().ravel()))
    assert accounts and not [a for a in accounts if a in text]
