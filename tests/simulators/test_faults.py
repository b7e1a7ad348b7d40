"""Faults: reproducible by seed, and never changing what a retry returns."""

from __future__ import annotations

import json

import requests

from simulators.client import SimClient
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from simulators.world import calendar as cal
from tests.conftest import AS_OF


def _fetch_with_retries(client, path, params, attempts=60):
    for _ in range(attempts):
        try:
            r = client.get(path, params)
        except requests.RequestException:
            continue
        if r.status_code == 200 and not (
            r.headers["Content-Type"].startswith("application/json")
            and r.json().get("code", 0) not in (0,)
        ):
            return r
    raise AssertionError("no success in 60 attempts")


def test_same_seed_same_requests_same_faults(world):
    logs = []
    for _ in range(2):
        with Cluster(world, AS_OF, fault_rate=0.5, fault_seed=9) as c:
            c.servers["drc"].faults.slow_seconds = 0.01
            client = SimClient(c.servers["drc"])
            for page in range(1, 25):
                try:
                    client.get("/api/v1/projects", {"page": page, "page_size": 5})
                except requests.RequestException:
                    client.session = requests.Session()
            logs.append(list(c.servers["drc"].faults.log))
    assert logs[0] == logs[1] and len(set(logs[0])) > 3


def test_other_seed_other_faults():
    a, b = FaultPlan(rate=0.5, seed=1), FaultPlan(rate=0.5, seed=2)
    kinds = ("x", "y", "z")
    assert [a.draw(kinds) for _ in range(50)] != [b.draw(kinds) for _ in range(50)]


def test_given_transport_faults_then_retries_return_exactly_the_fault_free_answer(world):
    params = {
        "treasury": ("/treasury/v2/vouchers", {"pay_date": "2026-11-02"}),
        "audit": ("/audit/api/findings", {"limit": 30}),
        "housing": ("/openapi/v3/inspections", {"limit": 50}),
    }
    answers = []
    for rate in (0.0, 0.4):
        with Cluster(world, AS_OF, fault_rate=rate, fault_seed=3, rate_limits=False) as c:
            for s in c.servers.values():
                s.faults.slow_seconds = 0.01
                s.faults.kinds = (
                    "http_500",
                    "http_502",
                    "http_503",
                    "http_504",
                    "slow",
                    "truncated",
                    "reset",
                    "busy_retry_after",
                )
            answers.append(
                {
                    system: _fetch_with_retries(SimClient(c.servers[system]), *pq).content
                    for system, pq in params.items()
                }
            )
    for answer in answers:  # a cursor carries its issue time; the items must be identical
        answer["housing"] = json.loads(answer["housing"])["items"]
    assert answers[0] == answers[1]


def test_truncated_body_is_detectably_short(world):
    with Cluster(world, AS_OF) as c:
        c.servers["audit"].faults = FaultPlan(rate=1.0, kinds=("truncated",))
        try:
            r = SimClient(c.servers["audit"]).get("/audit/api/findings", {"limit": 50})
            short = len(r.content) < int(r.headers["Content-Length"])
        except requests.exceptions.ChunkedEncodingError:
            short = True
    assert short


def test_inventory_counts_what_each_server_serves(cluster, world):
    day = cal.day(AS_OF)
    inventory = {s: srv.inventory() for s, srv in cluster.servers.items()}
    assert inventory["drc"]["projects"] == len(world.as_of("drc", day))
    assert inventory["treasury"]["vouchers"] == len(world.as_of("vouchers", day))
    assert inventory["audit"]["findings"] == len(world.as_of("findings", day))
    assert inventory["housing"]["deleted:permits"] == len(world.deleted_keys("permits", day))


def test_given_stopped_server_then_even_keep_alive_connections_are_gone(world):
    c = Cluster(world, AS_OF).start()
    client = SimClient(c.servers["audit"])
    assert client.get("/audit/api/findings", {"limit": 1}).status_code == 200
    c.stop()
    try:
        client.get("/audit/api/findings", {"limit": 1})
        answered = True
    except requests.RequestException:
        answered = False
    assert not answered
