"""The read API over a published night: auth, filters, keyset pagination, lineage, and a
schemathesis run against its own OpenAPI document with no server error."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import eventually
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.store.db import engine_for

TOKEN = "s3cret-reader-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(published_small):
    url, _ = published_small["sqlite"]
    return TestClient(create_app(engine_for(url), {digest(TOKEN)}))


def test_given_no_or_a_wrong_token_then_data_is_refused(client):
    assert client.get("/projects").status_code == 401
    assert client.get("/projects", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/health").status_code == 200  # liveness needs no token


def test_given_pages_when_following_next_then_every_project_comes_once_in_order(client):
    seen, after = [], None
    while True:
        page = client.get(
            "/projects", params={"limit": 37, **({"after": after} if after else {})}, headers=AUTH
        ).json()
        seen += [p["project_id"] for p in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) > 37


def test_given_filters_then_only_matching_projects_come(client):
    flagged = client.get(
        "/projects", params={"risk_flag": "NO_APPROVAL", "limit": 500}, headers=AUTH
    ).json()["items"]
    assert flagged and all("NO_APPROVAL" in p["risk_flags"].split(",") for p in flagged)
    assert all(p["project_id"].startswith("X-") for p in flagged)
    one = client.get("/projects", params={"limit": 1}, headers=AUTH).json()["items"][0]
    same_division = client.get(
        "/projects", params={"division": one["region_code"], "limit": 500}, headers=AUTH
    ).json()["items"]
    assert same_division and {p["region_code"] for p in same_division} == {one["region_code"]}
    by_unit = client.get(
        "/projects", params={"unit": one["owner_unit_code"], "limit": 500}, headers=AUTH
    ).json()["items"]
    assert one["project_id"] in {p["project_id"] for p in by_unit}
    word = one["project_name"][2:6]
    named = client.get("/projects", params={"q": word, "limit": 500}, headers=AUTH).json()["items"]
    assert named and all(word in p["project_name"] for p in named)
    assert (
        client.get("/projects", params={"q": "%", "limit": 5}, headers=AUTH).json()["items"] == []
    )


def test_given_a_project_then_its_figures_name_their_source_records(client):
    projects = client.get("/projects", params={"limit": 500}, headers=AUTH).json()["items"]
    paid = next(p for p in projects if p["payment_count"] > 1 and p["project_code"])
    body = client.get(f"/projects/{paid['project_id']}", headers=AUTH).json()
    assert Decimal(body["project"]["paid_amount"]) == Decimal(paid["paid_amount"])  # exact string
    figure = body["figures"]["paid_amount"]
    assert (
        figure["record_type"] == "voucher" and len(figure["record_keys"]) == paid["payment_count"]
    )
    assert {r["project_id"] for r in body["source_records"]} == {paid["project_id"]}
    assert client.get("/projects/NOPE", headers=AUTH).status_code == 404


def test_given_units_ledger_and_draws_then_they_are_served(client):
    black = client.get("/units", params={"list": "black", "limit": 500}, headers=AUTH).json()[
        "items"
    ]
    assert all(u["list"] == "black" for u in black)
    runs = client.get("/ledger", headers=AUTH).json()["items"]
    assert len(runs) == 1 and len(runs[0]["chain_hash"]) == 64
    draws = client.get("/spot-checks", params={"period": "2026-11"}, headers=AUTH).json()["items"]
    assert draws and [d["draw_rank"] for d in draws] == list(range(1, len(draws) + 1))


@pytest.fixture(scope="module")
def api_schema(published_small):
    url, _ = published_small["postgres"]
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(engine_for(url), {digest(TOKEN)})
    )


def test_given_any_request_from_the_openapi_document_then_no_server_error(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/projects",
        "/projects/{project_id}",
        "/units",
        "/ledger",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.call_and_validate(headers=AUTH, checks=[not_a_server_error])

        no_server_error()


def test_given_an_etag_then_an_unchanged_response_is_not_sent_again(client):
    first = client.get("/projects", params={"limit": 5}, headers=AUTH)
    etag = first.headers["etag"]
    again = client.get("/projects", params={"limit": 5}, headers={**AUTH, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/projects", params={"limit": 6}, headers={**AUTH, "If-None-Match": etag})
    assert other.status_code == 200 and len(other.json()["items"]) == 6


def _publish_renamed(engine, project_id: str, name: str, days: int = 1) -> str:
    """Publish the store's snapshot again, `days` later, with project `project_id` renamed."""
    import datetime as dt

    from yiwang.store.publish import Snapshot, latest_run, publish, read_table
    from yiwang.store.tables import DATA_TABLES

    with engine.connect() as conn:
        tables = {t: read_table(conn, t).drop(columns="row_hash") for t in DATA_TABLES}
        as_of = latest_run(conn)["as_of_date"] + dt.timedelta(days=days)
    projects = tables["project"]
    projects.loc[projects["project_id"] == project_id, "project_name"] = name
    publish(engine, Snapshot.of(tables), f"{as_of}", as_of, {})
    return f"{as_of}"


def test_given_a_new_snapshot_then_no_response_of_the_old_one_is_served(published_small, tmp_path):
    """Responses are rendered once per snapshot; the next publication must show at once."""
    import shutil

    url, _ = published_small["sqlite"]
    copy = tmp_path / "night.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    engine = engine_for(f"sqlite:///{copy}")
    app = TestClient(create_app(engine, {digest(TOKEN)}))
    before = app.get("/projects", params={"limit": 1}, headers=AUTH)
    one = before.json()["items"][0]
    assert app.get(f"/projects/{one['project_id']}", headers=AUTH).json()["project"] == one

    run_id = _publish_renamed(engine, one["project_id"], "改名后的项目")

    after = app.get("/projects", params={"limit": 1}, headers=AUTH)
    assert after.json()["items"][0]["project_name"] == "改名后的项目"
    assert after.headers["etag"] != before.headers["etag"]
    stale = app.get(
        "/projects", params={"limit": 1}, headers={**AUTH, "If-None-Match": before.headers["etag"]}
    )
    assert stale.status_code == 200
    assert app.get("/health").json()["latest"]["run_id"] == run_id
    detail = app.get(f"/projects/{one['project_id']}", headers=AUTH).json()
    assert detail["project"]["project_name"] == "改名后的项目"


def test_given_postgres_then_a_publication_is_heard_not_asked_for_on_every_request(
    published_small,
):
    """On PostgreSQL the workers LISTEN for publications: a cached response costs no query, a
    new snapshot shows within moments, and a lost listener is replaced."""
    from sqlalchemy import event

    from tests.conftest import clone_database, drop_database, pg_admin
    from yiwang.api.follower import APPLICATION

    url = clone_database(published_small["postgres"][0])
    engine = engine_for(url)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    app = create_app(engine, {digest(TOKEN)})
    try:
        with TestClient(app) as client:  # its lifespan starts the listener
            follower = app.state.follower
            assert eventually(lambda: follower.seq is not None)
            assert eventually(lambda: app.state.warmed == follower.seq)  # its own queries done
            one = client.get("/projects", params={"limit": 1}, headers=AUTH).json()["items"][0]
            statements.clear()
            for _ in range(5):
                assert client.get("/projects", params={"limit": 1}, headers=AUTH).json()["items"]
            assert statements == []  # not even the ledger's latest row

            heard = follower.seq
            _publish_renamed(engine, one["project_id"], "第二夜的名字")
            assert eventually(lambda: follower.seq == heard + 1)
            page = client.get("/projects", params={"limit": 1}, headers=AUTH).json()
            assert page["items"][0]["project_name"] == "第二夜的名字"

            admin = pg_admin()
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = %s",
                (APPLICATION, url.rsplit("/", 1)[1]),
            ).fetchall()
            admin.close()
            assert ended == [(True,)]
            assert eventually(lambda: follower.seq is None, 5)  # lost: ask the ledger again
            _publish_renamed(engine, one["project_id"], "第三夜的名字", days=2)
            page = client.get("/projects", params={"limit": 1}, headers=AUTH).json()
            assert page["items"][0]["project_name"] == "第三夜的名字"
            assert eventually(lambda: follower.seq == heard + 2)  # listening again
        assert not follower._thread.is_alive()  # stopped with the app
    finally:
        engine.dispose()
        drop_database(url)


def test_given_postgres_then_each_project_is_the_body_the_embedded_store_serves(published_small):
    """PostgreSQL renders a project's body in one statement; SQLite's is built in Python.
    The same night must read the same on both, field for field, for every project."""
    on = {
        backend: TestClient(create_app(engine_for(url), {digest(TOKEN)}))
        for backend, (url, _) in published_small.items()
    }
    ids, after = [], None
    while after is not False:
        page = (
            on["sqlite"]
            .get(
                "/projects",
                params={"limit": 500, **({"after": after} if after else {})},
                headers=AUTH,
            )
            .json()
        )
        ids += [p["project_id"] for p in page["items"]]
        after = page["next"] or False
    assert len(ids) > 100
    for project_id in ids:
        bodies = {b: c.get(f"/projects/{project_id}", headers=AUTH) for b, c in on.items()}
        assert bodies["postgres"].status_code == 200
        assert bodies["postgres"].json() == bodies["sqlite"].json(), project_id
    assert on["postgres"].get("/projects/NOPE", headers=AUTH).status_code == 404


def test_given_postgres_then_every_project_is_rendered_before_it_is_asked_for(published_small):
    """A served process warms its cache when it hears of a snapshot: every project's body,
    byte for byte the body rendered on demand, so no request for one waits on the database."""
    from sqlalchemy import event

    from tests.conftest import clone_database, drop_database

    url = clone_database(published_small["postgres"][0])
    engine = engine_for(url)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    warmed_app = create_app(engine, {digest(TOKEN)})
    on_demand = TestClient(create_app(engine_for(url), {digest(TOKEN)}))  # no lifespan: cold
    ids = [
        p["project_id"] for p in on_demand.get("/projects?limit=500", headers=AUTH).json()["items"]
    ]
    try:
        with TestClient(warmed_app) as client:
            follower = warmed_app.state.follower
            assert eventually(lambda: follower.seq is not None)
            assert eventually(lambda: warmed_app.state.warmed == follower.seq)
            assert any("LIMIT" in s and "source_record" in s for s in statements)  # in chunks
            statements.clear()
            for project_id in ids:
                warm = client.get(f"/projects/{project_id}", headers=AUTH)
                cold = on_demand.get(f"/projects/{project_id}", headers=AUTH)
                assert warm.status_code == 200 and warm.content == cold.content, project_id
                assert warm.headers["etag"] == cold.headers["etag"]
            assert statements == []
            assert client.get("/projects/NOPE", headers=AUTH).status_code == 404
    finally:
        engine.dispose()
        drop_database(url)


def test_given_a_cached_response_then_it_is_served_as_rendered_and_only_with_a_token(client):
    """Cached responses skip FastAPI's routing: the same bytes and headers as their first
    rendering, and still only to a known bearer."""
    first = client.get("/units", params={"limit": 3}, headers=AUTH)
    again = client.get("/units", params={"limit": 3}, headers=AUTH)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    shown = ("content-type", "content-length", "etag", "cache-control")
    assert [again.headers[h] for h in shown] == [first.headers[h] for h in shown]
    assert client.get("/units", params={"limit": 3}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/units", params={"limit": 3}, headers=wrong).status_code == 401
    assert client.get("/units?limit=3", headers={"Authorization": TOKEN}).status_code == 401
    # the same query in another order is the same request
    assert (
        client.get("/units?list=red&limit=3", headers=AUTH).content
        == client.get("/units?limit=3&list=red", headers=AUTH).content
    )


def test_given_the_database_dropped_the_api_connections_then_requests_still_succeed(
    published_small,
):
    """The served API skips the ping before each checkout; a connection the server ended (an
    idle-session timeout, a restart) is retried once on a fresh one instead of failing."""
    from tests.conftest import clone_database, drop_database, pg_admin
    from yiwang.api.app import RENDERS
    from yiwang.api.follower import APPLICATION

    url = clone_database(published_small["postgres"][0])
    engine = engine_for(url, pool_pre_ping=False, pool_size=RENDERS, max_overflow=0)
    app = create_app(engine, {digest(TOKEN)})
    try:
        with TestClient(app) as client:  # a server error is raised here, not answered
            follower = app.state.follower
            assert eventually(lambda: follower.seq is not None)
            assert eventually(lambda: app.state.warmed == follower.seq)  # every project cached
            assert client.get("/projects", params={"limit": 4}, headers=AUTH).status_code == 200
            assert client.get("/health").json()["status"] == "ok"

            def end_its_connections() -> None:
                admin = pg_admin()
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND application_name <> %s",
                    (url.rsplit("/", 1)[1], APPLICATION),
                ).fetchall()
                admin.close()
                assert ended  # the pool's connections, now stale

            end_its_connections()
            assert client.get("/projects", params={"limit": 5}, headers=AUTH).status_code == 200
            end_its_connections()
            assert client.get("/projects/NOPE", headers=AUTH).status_code == 404  # a query
            assert client.get("/health").json()["status"] == "ok"
    finally:
        engine.dispose()
        drop_database(url)


def test_given_many_clients_asking_at_once_then_the_response_is_rendered_once(published_small):
    """A new snapshot's first burst of identical requests costs one query, not one each."""
    import asyncio

    import httpx
    from sqlalchemy import event

    url, _ = published_small["sqlite"]
    engine = engine_for(url)
    reads = []
    listen = lambda *args: reads.append(args[2]) if "risk_flags" in args[2] else None  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    app = create_app(engine, {digest(TOKEN)})

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            asked = [client.get("/projects?limit=7", headers=AUTH) for _ in range(20)]
            return await asyncio.gather(*asked)

    try:
        answers = asyncio.run(burst())
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(reads) == 1, reads


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/projects", "limit=7&limit=5", "limit"),
        ("/projects", "limit=5&limit=7", "limit"),
        ("/projects", "limit=3&risk_flag=NO_APPROVAL&risk_flag=OVER_BUDGET", "risk_flag"),
        ("/units", "list=red&limit=3&list=black", "list"),
        ("/projects/NOPE", "after=a&after=b", "after"),
    ],
)
def test_given_a_query_parameter_twice_then_it_is_refused_and_never_served_from_the_cache(
    client, path, query, named
):
    """Given a parameter twice (FastAPI would use the last, the cache keyed the sorted pairs,
    so `limit=7&limit=5` and `limit=5&limit=7` shared a body), when asked in either order,
    then 422 naming the parameter, before and after the other order was asked; without a
    token 401 still comes first; asked once, the answer is what FastAPI computes."""
    for _ in range(2):  # the second time, a body cached by the first would be served
        refused = client.get(f"{path}?{query}", headers=AUTH)
        assert refused.status_code == 422, refused.text
        assert [e["loc"] for e in refused.json()["detail"]] == [["query", named]]
        assert named in refused.json()["detail"][0]["msg"]
    assert client.get(f"{path}?{query}").status_code == 401
    assert len(client.get("/projects?limit=5", headers=AUTH).json()["items"]) == 5
    assert len(client.get("/projects?limit=7", headers=AUTH).json()["items"]) == 7
