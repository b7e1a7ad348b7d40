"""/quarantine: the published quarantine, filtered, in keyset pages that give every row once,
null keys and rows equal in everything included."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.store.db import engine_for
from yiwang.store.tables import metadata, published

TOKEN = "s3cret-quarantine-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Q = published["quarantine"]


def _client(url: str) -> TestClient:
    return TestClient(create_app(engine_for(url), {digest(TOKEN)}))


def _every_page(client: TestClient, limit: int, **filters) -> list[dict]:
    """Every row, following `next` from the first page; no page larger than `limit`."""
    rows, after = [], None
    while True:
        asked = {"limit": limit, **filters, **({"after": after} if after else {})}
        answer = client.get("/quarantine", params=asked, headers=AUTH)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["items"]) <= limit
        rows += page["items"]
        after = page["next"]
        if after is None:
            return rows


def _table(url: str) -> list[dict]:
    """The published quarantine as the API shows a row (no row_hash)."""
    engine = engine_for(url)
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(select(Q)).mappings()]
    engine.dispose()
    return [{k: v for k, v in r.items() if k != "row_hash"} for r in found]


def _same_rows(a: list[dict], b: list[dict]) -> bool:
    as_text = lambda rows: sorted(json.dumps(r, sort_keys=True) for r in rows)  # noqa: E731
    return as_text(a) == as_text(b)


def _in_page_order(rows: list[dict]) -> bool:
    keys = [
        (r["source_system"], r["record_type"], r["record_key"] is not None, r["record_key"] or "")
        for r in rows
    ]
    return keys == sorted(keys)


@pytest.fixture(scope="module")
def sqlite_client(published_small) -> TestClient:
    return _client(published_small["sqlite"][0])


def test_given_pages_when_following_next_then_every_quarantined_row_comes_once(published_small):
    """Given the published quarantine on either store, when every page is followed, then the
    rows are the table's, each once, in (source_system, record_type, record_key) order."""
    for url, _ in published_small.values():
        table = _table(url)
        assert len(table) > 10  # the small world quarantines records of several streams
        for limit in (1, 7, 500):
            rows = _every_page(_client(url), limit)
            assert _same_rows(rows, table) and _in_page_order(rows), limit


def test_given_filters_then_only_the_matching_rows_come(sqlite_client, published_small):
    table = _table(published_small["sqlite"][0])
    one = next(r for r in table if r["record_key"])
    word = one["reasons"].split()[0]
    cases = {
        "source_system": one["source_system"],
        "record_type": one["record_type"],
        "record_key": one["record_key"],
        "reason": word,
    }
    for name, value in cases.items():
        column = "reasons" if name == "reason" else name
        wanted = [
            r for r in table if (value in r[column] if name == "reason" else r[column] == value)
        ]
        assert wanted and _same_rows(_every_page(sqlite_client, 3, **{name: value}), wanted), name
    both = _every_page(sqlite_client, 50, **{k: cases[k] for k in ("source_system", "reason")})
    assert all(r["source_system"] == one["source_system"] and word in r["reasons"] for r in both)
    assert _same_rows(
        _every_page(sqlite_client, 50, reason="%"), [r for r in table if "%" in r["reasons"]]
    )  # a literal, not a wildcard


@pytest.mark.parametrize(
    "query",
    [
        "after=bm9wZQ",  # base64 of "nope"
        "after=not a cursor",
        "after=WyJhIiwiYiIsbnVsbCwiaCIsMF0",  # ["a","b",null,"h",0]: a count below 1
        "source_system=nowhere",
        "limit=0",
        "reason=a&reason=b",
    ],
)
def test_given_a_malformed_query_then_422_names_the_parameter(sqlite_client, query):
    answer = sqlite_client.get(f"/quarantine?{query}", headers=AUTH)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][0] == "query"
    assert sqlite_client.get(f"/quarantine?{query}").status_code == 401  # a token first


def test_given_null_keys_and_identical_rows_then_each_still_comes_once(store_copy):
    """Given rows without a key and rows equal in every column (keyless records, a source
    sending one twice), when paged one and two at a time, then each comes exactly once."""
    engine = engine_for(store_copy)
    extra = [
        {"source_system": "drc", "record_type": "project", "record_key": None,
         "reasons": f"no key ({n})", "payload": "{}", "first_seen_run": "r",
         "last_seen_run": "r", "row_hash": f"{n:064d}"}
        for n in range(5)
    ] + [
        {"source_system": "audit", "record_type": "finding", "record_key": "DUP",
         "reasons": "twice", "payload": "{}", "first_seen_run": "r", "last_seen_run": "r",
         "row_hash": "f" * 64}
    ] * 3  # fmt: skip
    # where the rows are kept: the table, or the table behind the contract's view of it
    stored = metadata.tables.get("unified.quarantine_rows", Q)
    with engine.begin() as conn:
        conn.execute(insert(stored), [{k: v for k, v in r.items() if k in stored.c} for r in extra])
    engine.dispose()
    table = _table(store_copy)
    client = _client(store_copy)
    for limit in (1, 2):
        rows = _every_page(client, limit)
        assert _same_rows(rows, table) and _in_page_order(rows), limit
    keyless = _every_page(client, 1, source_system="drc", reason="no key")
    assert len(keyless) == 5 and all(r["record_key"] is None for r in keyless)
    assert len(_every_page(client, 2, record_key="DUP")) == 3
