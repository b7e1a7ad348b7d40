"""The API follows publications safely: a notification on `yiwang_published` is believed only
when the ledger holds the run it names. Any role that can connect may NOTIFY (PostgreSQL has no
privilege for it), so a forged or garbled one must change nothing, and the listener must
outlive whatever it hears."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.api.test_api import AUTH, TOKEN, _publish_renamed
from tests.conftest import clone_database, drop_database, eventually, pg_admin
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.api.follower import APPLICATION, CHANNEL, Follower
from yiwang.store.db import engine_for


@dataclass
class Served:
    url: str
    engine: Engine
    app: FastAPI
    client: TestClient
    statements: list[str]

    @property
    def follower(self) -> Follower:
        return self.app.state.follower

    def first_project(self) -> dict:
        return self.client.get("/projects", params={"limit": 1}, headers=AUTH).json()["items"][0]


@pytest.fixture
def served(published_small) -> Iterator[Served]:
    """The API over a private copy of the published PostgreSQL store, listening and warmed."""
    url = clone_database(published_small["postgres"][0])
    engine = engine_for(url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    app = create_app(engine, {digest(TOKEN)})
    try:
        with TestClient(app) as client:
            follower = app.state.follower
            assert eventually(lambda: follower.seq is not None)
            assert eventually(lambda: app.state.warmed == follower.seq)
            yield Served(url, engine, app, client, statements)
    finally:
        engine.dispose()
        drop_database(url)


def _notify_as_reader(url: str, *payloads: str) -> None:
    """NOTIFY the hub's channel as the read-only role, which may not write the ledger."""
    with psycopg.connect(url.replace("postgres@", "yiwang_reader@", 1), autocommit=True) as conn:
        for payload in payloads:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


def _ignored(caplog) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "yiwang.api.follower" and "ignored" in r.getMessage()
    ]


def _ledger_latest(url: str) -> tuple[int, str]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT seq, run_id FROM unified.publish_run ORDER BY seq DESC LIMIT 1"
        ).fetchone()


def test_given_the_reader_forging_notifications_then_the_true_snapshot_is_served_from_cache(
    served: Served, caplog
):
    """Given the API following a published store, when the reader role NOTIFYs runs that were
    never published and payloads that are no run at all, then each is ignored and logged, the
    listener lives on, and the API serves the ledger's latest snapshot, still from its cache."""
    caplog.set_level(logging.WARNING, logger="yiwang.api.follower")
    true_seq, true_run = _ledger_latest(served.url)
    assert served.follower.seq == true_seq
    served.first_project()
    forged = [str(true_seq + 1), "999999", "0", "-1", "garbage", "x" * 7000]

    _notify_as_reader(served.url, *forged)

    assert eventually(lambda: len(_ignored(caplog)) == len(forged), 5), caplog.text
    assert max(len(r.getMessage()) for r in _ignored(caplog)) < 300  # the payload cut short
    assert served.follower._thread.is_alive()
    assert served.follower.seq == true_seq
    served.statements.clear()
    served.first_project()
    assert served.statements == []  # still the cached body of the true snapshot
    assert served.client.get("/health").json()["latest"]["run_id"] == true_run


def test_given_garbage_then_a_lost_connection_then_every_new_night_is_served(
    served: Served, caplog
):
    """Given the reader NOTIFYing garbage, when the next night publishes, then the API serves
    it; when the listener's connection is ended, then the API reads the ledger meanwhile and
    the listener reconnects; when another night publishes, then the API serves it."""
    caplog.set_level(logging.WARNING, logger="yiwang.api.follower")
    heard = served.follower.seq
    one = served.first_project()

    _notify_as_reader(served.url, "not a seq")
    assert eventually(lambda: len(_ignored(caplog)) == 1, 5), caplog.text
    _publish_renamed(served.engine, one["project_id"], "第二夜的名字")

    assert eventually(lambda: served.follower.seq == heard + 1)
    assert served.first_project()["project_name"] == "第二夜的名字"

    # lost for a while: a reconnect before the next publish would leave the API waiting for
    # its notification instead of reading the ledger, which is what this step shows
    served.follower.retry_after = 5.0
    admin = pg_admin()
    ended = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = %s",
        (APPLICATION, served.url.rsplit("/", 1)[1]),
    ).fetchall()
    admin.close()
    assert ended == [(True,)]
    assert eventually(lambda: served.follower.seq is None, 5)  # lost: the ledger is read
    _publish_renamed(served.engine, one["project_id"], "第三夜的名字", days=2)
    assert served.first_project()["project_name"] == "第三夜的名字"
    assert eventually(lambda: served.follower.seq == heard + 2, 20)  # listening again
    assert served.follower._thread.is_alive()


def test_given_an_unexpected_error_in_the_listener_then_it_is_logged_and_the_listener_recovers(
    published_small, monkeypatch, caplog
):
    """Given the listener's first connection failing with an error that is no psycopg.Error,
    then its thread does not die: it logs, reconnects, and knows the ledger's latest seq."""
    url = published_small["postgres"][0]
    connect, failed = psycopg.connect, []

    def fails_once(*args, **kwargs):
        if not failed:
            failed.append(True)
            raise RuntimeError("a bug, not the database")
        return connect(*args, **kwargs)

    monkeypatch.setattr("yiwang.api.follower.psycopg.connect", fails_once)
    caplog.set_level(logging.WARNING, logger="yiwang.api.follower")
    follower = Follower(url, retry_after=0.05).start()
    try:
        assert eventually(lambda: follower.seq == _ledger_latest(url)[0], 5)
        assert follower._thread.is_alive() and failed
        assert any("RuntimeError" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        follower.stop()
    assert follower.seq is None  # stopped: callers read the ledger
