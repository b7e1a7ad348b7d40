"""Airflow really runs the nights: `airflow dags test` of every sync DAG and the publish DAG
against the simulators, with Airflow's own metadata database in a temporary AIRFLOW_HOME.
The published snapshot is checked against the simulator's ground truth and against the
in-process run of the same night (same content_hash). Airflow's night on PostgreSQL is
`test_celery_scale_out`'s, checked against the in-process night to the hash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from departments.registry import ground_truth
from simulators.cluster import Cluster
from simulators.world import calendar as cal
from tests.conftest import night
from tests.drills.scan import cluster_secrets, secret_hits
from transforms.evaluate import link_scores, money
from yiwang.airflow.local import airflow_env, dags_test_night
from yiwang.store.db import engine_for
from yiwang.store.publish import ledger, read_table, verify

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> dict[str, str]:
    """A fresh Airflow metadata database (SQLite) and the settings every `airflow` call gets."""
    return airflow_env(tmp_path_factory.mktemp("airflow"))


def airflow_night(
    env: dict[str, str], world, as_of: dt.date, url: str, data: Path
) -> tuple[list[str], list[str]]:
    """Runs the night; returns what Airflow printed, and the secrets the systems used."""
    with Cluster(world, as_of, rate_limits=False) as cluster:
        run_env = {
            **env,
            **cluster.environment(),
            "YIWANG_DATABASE_URL": url,
            "YIWANG_DATA_DIR": str(data),
        }
        outputs = dags_test_night(run_env, as_of)
        return outputs, cluster_secrets(cluster)


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
    outputs, secrets = airflow_night(airflow_home, world, NIGHT_1, url, tmp_path)
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

    more_outputs, more_secrets = airflow_night(airflow_home, world, NIGHT_2, url, tmp_path)
    second = snapshot(url)
    assert second["ledger"]["run_id"].tolist() == [f"{NIGHT_1}", f"{NIGHT_2}"]
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
