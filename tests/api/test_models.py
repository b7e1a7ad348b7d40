"""The response models: the OpenAPI document declares a body for every answer of every
operation, and the bodies the API really serves, on both stores, are what it declares."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from yiwang.api import models
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.store.db import engine_for

TOKEN = "s3cret-model-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def clients(published_small) -> dict[str, TestClient]:
    return {
        backend: TestClient(create_app(engine_for(url), {digest(TOKEN)}))
        for backend, (url, _) in published_small.items()
    }


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    """The OpenAPI document (it reads no table: an empty store will do)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'empty.db'}"
    return TestClient(create_app(engine_for(url), {digest(TOKEN)})).get("/openapi.json").json()


def _operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", path, operation


def _schema(answer: dict) -> dict | None:
    """The body schema an answer declares, whatever its media type."""
    return next((c.get("schema") for c in answer.get("content", {}).values()), None)


def test_given_the_openapi_document_then_every_operation_declares_its_bodies(document):
    """Given every operation, then its 200 declares a schema (not `{}`); a guarded one (bearer
    security) declares 401 and 422 with theirs; one whose path names a thing declares 404."""
    missing = []
    for name, path, operation in _operations(document):
        answers = operation["responses"]
        if not _schema(answers.get("200", {})):
            missing.append(f"{name}: 200")
        wanted = ["401", "422"] if operation.get("security") else []
        wanted += ["404"] if "{" in path else []
        missing += [f"{name}: {s}" for s in wanted if not _schema(answers.get(s, {}))]
    assert missing == []
    guarded = {name for name, _, op in _operations(document) if op.get("security")}
    assert "GET /projects" in guarded and "GET /quarantine" in guarded
    assert "GET /health" not in guarded


def test_given_the_openapi_document_then_money_and_dates_are_strings_that_say_so(document):
    schemas = document["components"]["schemas"]
    project = schemas["Project"]["properties"]
    paid = project["paid_amount"]
    assert (paid["type"], paid["format"], paid["pattern"]) == ("string", "decimal", models.MONEY)
    invested = project["approved_investment"]["anyOf"][0]  # nullable
    assert invested["type"] == "string" and invested["pattern"] == r"^\d+\.\d{2}$"
    assert project["as_of_date"]["format"] == "date" and project["as_of_date"]["type"] == "string"
    published_at = schemas["PublishRun"]["properties"]["published_at"]
    assert published_at["format"] == "date-time"
    assert set(schemas["Flag"]["enum"]) >= {"NO_APPROVAL", "OVER_BUDGET"}  # the query's enum
    assert "NO_APPROVAL" in project["risk_flags"]["pattern"]
    assert schemas["Project"]["additionalProperties"] is False  # no column goes undeclared
    unauthorised = document["paths"]["/ledger"]["get"]["responses"]["401"]
    assert _schema(unauthorised) == {"$ref": "#/components/schemas/Problem"}


def _all_pages(client: TestClient, path: str, **params) -> list[bytes]:
    bodies, after = [], None
    while True:
        asked = {**params, **({"after": after} if after else {})}
        answer = client.get(path, params=asked, headers=AUTH)
        assert answer.status_code == 200, answer.text
        bodies.append(answer.content)
        after = answer.json()["next"]
        if after is None:
            return bodies


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_given_every_endpoint_then_its_real_bodies_validate_against_its_model(clients, backend):
    """Given each endpoint's real answers on a published night (every page, a spread of
    projects, refusals too), when validated against the declared model, then they pass."""
    client = clients[backend]

    def valid(model, body: bytes):
        return TypeAdapter(model).validate_json(body)

    valid(models.Health, client.get("/health").content)
    pages = [valid(models.ProjectPage, b) for b in _all_pages(client, "/projects", limit=200)]
    ids = [p.project_id for page in pages for p in page.items]
    spread = [*ids[::25], *[i for i in ids if i.startswith("X-")][:5]]
    for project_id in spread:
        answer = client.get(f"/projects/{project_id}", headers=AUTH)
        assert valid(models.ProjectDetail, answer.content).project.project_id == project_id
    for body in _all_pages(client, "/units", limit=200):
        valid(models.UnitPage, body)
    for body in _all_pages(client, "/quarantine", limit=100):
        valid(models.QuarantinePage, body)
    assert valid(models.SpotChecks, client.get("/spot-checks", headers=AUTH).content).items
    assert valid(models.Ledger, client.get("/ledger", headers=AUTH).content).items
    valid(models.Quality, client.get("/quality", headers=AUTH).content)
    one = pages[0].items[0].model_dump()
    for wrong in ({"paid_amount": 1.5}, {"paid_amount": "12.3"}, {"as_of_date": "2026/11/23"}):
        with pytest.raises(ValueError):
            models.Project.model_validate({**one, **wrong})

    valid(models.Problem, client.get("/ledger").content)  # 401
    valid(models.Problem, client.get("/projects/NOPE", headers=AUTH).content)  # 404
    for refused in ("/projects?limit=0", "/ledger?a=1&a=2", "/quarantine?after=bm9wZQ"):
        answer = client.get(refused, headers=AUTH)
        assert answer.status_code == 422
        valid(models.ValidationProblem, answer.content)


def test_given_a_row_the_contract_does_not_allow_then_its_model_refuses_it():
    """The models hold the served shape: a bound, a pattern, no unknown field."""
    row = {
        "period": "2026-11",
        "project_id": "P",
        "draw_rank": 1,
        "draw_seed": "0" * 64,
    }
    models.SpotCheck.model_validate(row)
    for wrong in ({"draw_rank": 0}, {"period": "2026-1"}, {"draw_seed": "x"}, {"extra": 1}):
        with pytest.raises(ValueError):
            models.SpotCheck.model_validate({**row, **wrong})
    with pytest.raises(ValueError):
        TypeAdapter(models.Figure).validate_python(
            {
                "value": "1",
                "rule": "r",
                "computed_as": "c",
                "source_system": "s",
                "record_type": "t",
                "record_keys": [],
                "more": 1,
            }
        )
