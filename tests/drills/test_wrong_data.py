"""Drill for issue 23, "Nothing lost, nothing mixed": the real `yiwang` command, against the
simulated systems and fresh PostgreSQL stores, given wrong data four ways.

1. An error answer is never data: a gateway before treasury answers one pay date's request
   with an HTML 404 page; the night fails naming it, publishes nothing, keeps treasury's state
   before the day not read, and once the gateway lets it through, publishes exactly what a
   night straight to the systems publishes.
2. The as-of date is checked: today (in Beijing) and a day before the sources' first are
   refused before anything starts; a mistaken later night is withdrawn, and the right night
   then publishes what a store that went there directly holds.
3. One night at a time: two nights of D+1 started together on a store holding night D; one
   publishes, the other is refused at once, and the store verifies with a lone night's content
   hash.
4. The API follows safely and the ledger head is anchored: a forged NOTIFY from the read-only
   role changes nothing; a consistently rewritten latest ledger row fails `verify --heads` and
   `verify --expect`; a deleted ledger fails plain `verify`.

`pytest tests/drills/test_wrong_data.py -s` prints each scenario's figures: what was done, the
exit status, the seconds, what the store then holds (latest content hash, ledger runs, projects
and published source records).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from simulators.cluster import Cluster
from simulators.world import World
from simulators.world import calendar as cal
from tests.conftest import (
    AS_OF,
    PG_DSN,
    clone_database,
    drop_database,
    eventually,
    pg_admin,
)
from tests.connectors.gateway import Gateway
from yiwang.api.app import create_app
from yiwang.api.auth import digest
from yiwang.api.follower import CHANNEL
from yiwang.store.canonical import canonical, chain_hash, content_hash, ledger_row_hash
from yiwang.store.db import engine_for
from yiwang.store.publish import LEDGER, latest_run, ledger, read_table
from yiwang.store.tables import DATA_TABLES

pytestmark = pytest.mark.postgres

YIWANG = Path(sys.executable).parent / "yiwang"
D = AS_OF
D1 = D + dt.timedelta(days=1)  # the right next night
D9 = D + dt.timedelta(days=9)  # a typo'd as-of date (the next month: it draws December)
FIRST_DAY = dt.date(2024, 1, 1)  # treasury's first day (departments/treasury)
TOKEN = "drill-reader-token"
VOUCHERS = "/treasury/v2/vouchers"


# ---------------------------------------------------------------------------------------------
# the command, the store, and the figures


def environment(url: str, data: Path, env: dict[str, str]) -> dict[str, str]:
    """The suite's environment without what would steer `yiwang` (connections, store, kept
    streams, heads, lock wait), then the store at `url`, the data directory and `env`."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW_CONN_", "YIWANG_")) or k == "YIWANG_TEST_PG"
    }
    return base | {"YIWANG_DATA_DIR": str(data), "YIWANG_DATABASE_URL": url, "COLUMNS": "80", **env}


def yiwang(*args: str, url: str, data: Path, **env: str) -> subprocess.CompletedProcess:
    """`yiwang ARGS` against the store at `url`, with only the environment given here."""
    return subprocess.run(
        [YIWANG, *args], capture_output=True, text=True, env=environment(url, data, env),
        timeout=300,
    )  # fmt: skip


def the_one_line(out: subprocess.CompletedProcess) -> str:
    """The single line a refused command printed (non-zero exit, no traceback)."""
    said = out.stdout + out.stderr
    assert out.returncode != 0, said
    assert "Traceback" not in said and "╭" not in said, said
    lines = [line for line in said.splitlines() if line.strip()]
    assert len(lines) == 1, said
    return lines[0]


@dataclass
class Held:
    """What the store holds: its ledger (seq, run_id, content_hash, chain_hash) and counts."""

    runs: list[tuple]
    projects: int | None
    records: int | None

    @property
    def latest(self) -> tuple | None:
        return self.runs[-1] if self.runs else None

    @property
    def run_ids(self) -> list[str]:
        return [r[1] for r in self.runs]


def held(url: str) -> Held:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            runs = conn.execute(
                "SELECT seq, run_id, content_hash, chain_hash FROM unified.publish_run ORDER BY seq"
            ).fetchall()
            projects = conn.execute("SELECT count(*) FROM unified.project").fetchone()[0]
            records = conn.execute("SELECT count(*) FROM unified.source_record").fetchone()[0]
        except psycopg.errors.UndefinedTable:  # never migrated
            return Held([], None, None)
    return Held(runs, projects, records)


def hub_rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params or None).fetchall()


@dataclass
class Figures:
    """One scenario's table, printed (even when the scenario fails) for the closing note."""

    title: str
    rows: list[tuple] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, what: str, status: str, seconds: float | None, outcome: str, url: str) -> Held:
        now = held(url)
        self.rows.append(
            (
                what, status, "-" if seconds is None else f"{seconds:.1f}", outcome,
                now.latest[2][:12] if now.latest else "-", str(len(now.runs)),
                "-" if now.projects is None else f"{now.projects:,}",
                "-" if now.records is None else f"{now.records:,}",
            )
        )  # fmt: skip
        return now

    def run(self, what: str, *args: str, url: str, data: Path, **env: str):
        """`yiwang ARGS`, timed, noted as a row; returns (the process, the store after it)."""
        before = held(url)
        started = time.perf_counter()
        out = yiwang(*args, url=url, data=data, **env)
        seconds = time.perf_counter() - started
        after = held(url)
        return out, self.note(what, args[0], out, seconds, before, url, after)

    def note(self, what, command, out, seconds, before: Held, url: str, after=None) -> Held:
        after = after or held(url)
        new = (
            after.run_ids[len(before.runs) :]
            if after.runs[: len(before.runs)] == before.runs
            else []
        )
        if out.returncode == 0:
            outcome = {"verify": "passes"}.get(command, "ok")
            if new:
                kind = "recorded" if new[-1].endswith(".withdrawn") else "published"
                outcome = f"{kind} {new[-1]}"
        else:
            outcome = "fails" if command == "verify" else "refused"
            said = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
            self.notes.append(f"{what}: {said[0] if said else '(nothing said)'}")
        return self.add(what, str(out.returncode), seconds, outcome, url)

    def print(self) -> None:
        head = ("step", "exit", "s", "outcome", "content_hash", "runs", "projects", "records")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(len(head))]
        right = {1, 2, 5, 6, 7}

        def line(row) -> str:
            cells = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  " + "  ".join(cells).rstrip()

        print(f"\n[drill wrong-data] {self.title}")
        print(line(head))
        for row in self.rows:
            print(line(row))
        for note in self.notes:
            print(f"    said: {note}")


@pytest.fixture
def figures() -> Iterator[Callable[[str], Figures]]:
    made: list[Figures] = []

    def make(title: str) -> Figures:
        made.append(Figures(title))
        return made[-1]

    yield make
    for fig in made:
        fig.print()


# ---------------------------------------------------------------------------------------------
# the systems, and the nights run straight to them (the references)


@pytest.fixture(scope="module")
def systems(world: World) -> Iterator[Callable[[dt.date], Cluster]]:
    """The four simulated systems as of a day, started once per day for the module."""
    with ExitStack() as stack:
        started: dict[dt.date, Cluster] = {}

        def at(day: dt.date) -> Cluster:
            if day not in started:
                started[day] = stack.enter_context(Cluster(world, day, rate_limits=False))
            return started[day]

        yield at


def fresh_database() -> str:
    admin = pg_admin()
    name = f"yiwang_test_{os.urandom(6).hex()}"
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return f"{PG_DSN.rsplit('/', 1)[0]}/{name}"


@dataclass
class Straight:
    url: str  # the store; never tampered with: a test that changes it works on a clone
    heads: Path  # its YIWANG_LEDGER_HEADS file, written by its nights
    runs: list[tuple]  # its ledger


def straight(day: dt.date, url: str, root: Path, systems, title: str) -> Straight:
    """Night `day` run straight to the systems into the store at `url` (its own data
    directory: the kept validated streams, a cache, start empty), heads written down."""
    heads = root / "heads.jsonl"
    fig = Figures(title)
    out, now = fig.run(
        f"run --as-of {day}", "run", "--as-of", f"{day}", url=url, data=root / "data",
        YIWANG_LEDGER_HEADS=str(heads), **systems(day).environment(),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    fig.print()
    return Straight(url, heads, now.runs)


@pytest.fixture(scope="module")
def straight_d(systems, tmp_path_factory) -> Iterator[Straight]:
    """Night D run straight to the systems into a fresh store."""
    url = fresh_database()
    try:
        yield straight(
            D, url, tmp_path_factory.mktemp("straight-d"), systems,
            "reference: night D straight to the systems, into a fresh store",
        )  # fmt: skip
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def straight_d1(straight_d, systems, tmp_path_factory) -> Iterator[Straight]:
    """The store of night D, copied, then night D+1 into it: D → D+1 directly."""
    root, url = tmp_path_factory.mktemp("straight-d1"), clone_database(straight_d.url)
    shutil.copy(straight_d.heads, root / "heads.jsonl")  # the copy's heads so far are D's
    try:
        yield straight(
            D1, url, root, systems, "reference: night D+1 straight after D (a copy of D's store)"
        )
    finally:
        drop_database(url)


# ---------------------------------------------------------------------------------------------
# 1. an error answer is never data


def settled_pay_day(world: World) -> dt.date:
    """A pay date in the middle of treasury's history that has vouchers, long settled (as in
    tests/connectors/test_error_answers.py): treasury asks one CSV per `pay_date`."""
    days = sorted(set(world.as_of("vouchers", cal.day(D))["_pay_day"]))
    return cal.date_of(days[len(days) // 2])


def pay_date_is(day: dt.date) -> Callable[[str, str], bool]:
    def rule(method: str, path: str) -> bool:
        split = urlsplit(path)
        return split.path == VOUCHERS and parse_qs(split.query).get("pay_date") == [f"{day}"]

    return rule


def treasury_state(url: str) -> str | None:
    rows = hub_rows(
        url, "SELECT state FROM hub.stream_state WHERE source = 'treasury' AND stream = 'vouchers'"
    )
    return rows[0][0] if rows else None


def test_given_a_gateway_404_page_for_one_pay_date_then_nothing_publishes_until_it_is_read(
    world, systems, straight_d, pg_database, tmp_path, figures
):
    fig = figures("scenario 1: an error answer is never data (HTML 404 for one treasury pay date)")
    unread = settled_pay_day(world)
    cluster = systems(D)
    gateway = Gateway(cluster.servers["treasury"].url, pay_date_is(unread), 404)
    with gateway:
        environ = gateway.environment(cluster.environment(), "treasury_api")
        # when the night runs with treasury behind the gateway
        out, after = fig.run(
            f"run --as-of {D}, 404 for pay_date={unread}", "run", "--as-of", f"{D}",
            url=pg_database, data=tmp_path, **environ,
        )  # fmt: skip
        # then it fails at once, in one line naming treasury, the request and the status
        line = the_one_line(out)
        assert len(gateway.refused) == 1, gateway.refused  # not retried: a 404 page stays
        for part in ("treasury", gateway.refused[0], "404", "text/html"):
            assert part in line, (part, line)
        # and nothing is published, nothing of the page staged
        assert after.runs == [], after.runs
        assert hub_rows(
            pg_database,
            "SELECT count(*) FROM hub.staged_record WHERE record LIKE '%<html%' "
            "OR record LIKE '%Not Found%'",
        ) == [(0,)]
        # and treasury's state is not past the day not read
        state = treasury_state(pg_database)
        through = json.loads(state)["final_through"] if state else None
        assert through is None or dt.date.fromisoformat(through) < unread, state
        fig.notes.append(f"treasury state after the refusal: final_through {through} < {unread}")

        # when the gateway stops refusing and the same night runs again
        gateway.refuse = lambda method, path: False
        forwarded = gateway.forwarded
        out, after = fig.run(
            f"run --as-of {D} again, gateway forwarding all", "run", "--as-of", f"{D}",
            url=pg_database, data=tmp_path, **environ,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        fig.notes.append(
            f"the rerun sent {gateway.forwarded - forwarded:,} requests through the gateway; "
            f"treasury state now {json.loads(treasury_state(pg_database))['final_through']}"
        )
    # then it publishes exactly what the night straight to the systems published
    assert after.run_ids == [f"{D}"], after.runs
    assert after.latest[2] == straight_d.runs[-1][2], (after.latest, straight_d.runs)


# ---------------------------------------------------------------------------------------------
# 2. the as-of date is checked


def beijing_today() -> dt.date:
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    if now.hour == 23 and now.minute == 59:  # the day would end between here and the command
        time.sleep(61)
        now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    return now.date()


def test_given_wrong_as_of_dates_then_each_is_refused_or_withdrawn_and_nothing_is_mixed(
    systems, straight_d, straight_d1, tmp_path, figures
):
    fig = figures("scenario 2: the as-of date is checked (a copy of night D's store)")
    url = clone_database(straight_d.url)  # night D published, as the reference's
    heads = tmp_path / "heads.jsonl"
    shutil.copy(straight_d.heads, heads)
    data, anchored = tmp_path / "data", {"YIWANG_LEDGER_HEADS": str(heads)}
    try:
        start = held(url)
        state = hub_rows(url, "SELECT source, stream, state, run_id FROM hub.stream_state")
        fig.add(f"(a copy of the store after night {D})", "-", None, f"holds {D}", url)
        # given no connections at all: a night past the as-of check would say they are missing
        today = beijing_today()
        for day, why in (
            (today, f"as-of {today} is not a finished day in Beijing"),
            (FIRST_DAY - dt.timedelta(days=1), "is before the sources' first day, 2024-01-01"),
        ):
            out, now = fig.run(
                f"run --as-of {day}", "run", "--as-of", f"{day}", url=url, data=data, **anchored
            )
            line = the_one_line(out)
            assert f"the night of {day} cannot run: " in line and why in line, line
            assert now == start  # the ledger and published tables untouched
        assert hub_rows(url, "SELECT source, stream, state, run_id FROM hub.stream_state") == state

        # a mistaken night (D+9 typed for D+1) publishes
        out, now = fig.run(
            f"run --as-of {D9} (the mistake)", "run", "--as-of", f"{D9}", url=url, data=data,
            **anchored, **systems(D9).environment(),
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        assert now.run_ids == [f"{D}", f"{D9}"]
        assert now.latest[2] != start.latest[2]
        # it is withdrawn, recorded in the ledger
        out, now = fig.run(f"withdraw {D9}", "withdraw", f"{D9}", url=url, data=data, **anchored)
        assert out.returncode == 0, out.stdout + out.stderr
        assert now.run_ids == [f"{D}", f"{D9}", f"{D9}.withdrawn"]
        assert now.projects == 0 and now.records == 0  # never the withdrawn snapshot
        # and the right night publishes
        out, now = fig.run(
            f"run --as-of {D1} (the right night)", "run", "--as-of", f"{D1}", url=url, data=data,
            **anchored, **systems(D1).environment(),
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        assert now.run_ids == [f"{D}", f"{D9}", f"{D9}.withdrawn", f"{D1}"]
        # The withdrawal reset staging, so this night extracted every source afresh as of D+1,
        # where the reference went D → D+1 incrementally; the contract (yiwang/night/withdraw.py) is
        # that the published tables are then exactly the direct store's, so the content hash
        # (over all five published tables) is equal; the chain hash is not (the ledger holds
        # the mistake and its withdrawal).
        direct = straight_d1.runs[-1]
        assert now.latest[2] == direct[2], (now.latest, direct)
        assert now.latest[3] != direct[3]
        fig.add(f"(direct D → D+1, for comparison: {direct[1]})", "-", None, "reference",
                straight_d1.url)  # fmt: skip
        out, _ = fig.run(
            f"verify --expect <{D1}'s chain> --heads", "verify", "--expect", now.latest[3],
            "--heads", str(heads), url=url, data=data,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        assert len(heads.read_text().splitlines()) == 4  # D, D+9, its withdrawal, D+1
    finally:
        drop_database(url)


# ---------------------------------------------------------------------------------------------
# 3. one night at a time


def test_given_two_nights_started_together_then_one_publishes_and_the_other_is_refused(
    systems, straight_d, straight_d1, tmp_path, figures
):
    fig = figures("scenario 3: one night at a time (two `yiwang run` started together)")
    # the store as it is every evening: night D published; both start night D+1 on it
    url = clone_database(straight_d.url)
    environ = systems(D1).environment()
    try:
        before = fig.add(f"(a copy of the store after night {D})", "-", None, f"holds {D}", url)
        outcomes: list[tuple] = [(), ()]
        command = [YIWANG, "run", "--as-of", f"{D1}"]
        nights = [
            subprocess.Popen(
                command,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment(url, tmp_path / f"data{i}", environ),
            )
            for i in range(2)
        ]  # both started before either is waited for
        started = time.perf_counter()

        def wait(i: int) -> None:
            stdout, stderr = nights[i].communicate(timeout=300)
            outcomes[i] = (nights[i], stdout, stderr, time.perf_counter() - started)

        waiting = [threading.Thread(target=wait, args=(i,)) for i in range(2)]
        for w in waiting:
            w.start()
        for w in waiting:
            w.join()
        done = [subprocess.CompletedProcess(p.args, p.returncode, o, e) for p, o, e, _ in outcomes]
        for i, (out, (_, _, _, seconds)) in enumerate(zip(done, outcomes, strict=True)):
            fig.note(f"night {i + 1}: run --as-of {D1}", "run", out, seconds, before, url)
        published = [out for out in done if out.returncode == 0]
        refused = [out for out in done if out.returncode != 0]
        assert len(published) == 1 and len(refused) == 1, done
        line = the_one_line(refused[0])
        assert f"the store is busy with the night of {D1} (pid " in line, line
        now = held(url)
        assert now.run_ids == [f"{D}", f"{D1}"], now.runs
        assert now.latest[2] == straight_d1.runs[-1][2]  # a lone night's
        out, _ = fig.run("verify", "verify", url=url, data=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        drop_database(url)


# ---------------------------------------------------------------------------------------------
# 4. the API follows safely, and the ledger head is anchored


def forge_latest_row(url: str) -> str:
    """What someone who can write the store does: edit a published row, then rewrite the
    ledger's latest row to match in SQL, every hash recomputed (its content hash, its chain
    hash from the previous row's, its row hash), so that the chain's own check passes.
    Returns the forged content hash."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            code = conn.execute(text("SELECT min(unit_code) FROM unified.unit_scorecard")).scalar()
            conn.execute(
                text("UPDATE unified.unit_scorecard SET unit_name = 'forged' WHERE unit_code = :c"),
                {"c": code},
            )
            hashes = {}
            for name in DATA_TABLES:
                frame = read_table(conn, name)
                order, _, hashes[name] = canonical(name, frame)
                if name == "unit_scorecard":
                    at = [i for i, row in enumerate(order) if frame.loc[row, "unit_code"] == code]
                    conn.execute(
                        text(
                            "UPDATE unified.unit_scorecard SET row_hash = :h WHERE unit_code = :c"
                        ),
                        {"h": hashes[name][at[0]], "c": code},
                    )
            runs = ledger(conn)
            row = latest_run(conn)
            row["content_hash"] = content_hash(hashes)
            row["chain_hash"] = chain_hash(runs.iloc[-2]["chain_hash"], row["content_hash"])
            row["row_hash"] = ledger_row_hash(row)
            conn.execute(LEDGER.update().where(LEDGER.c.seq == row["seq"]).values(**row))
    finally:
        engine.dispose()
    return row["content_hash"]


def notify_as_reader(url: str, *payloads: str) -> None:
    """NOTIFY the hub's channel as the read-only role (which cannot write the ledger)."""
    with psycopg.connect(url.replace("postgres@", "yiwang_reader@", 1), autocommit=True) as conn:
        for payload in payloads:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


def test_given_forged_notifications_and_a_rewritten_ledger_then_neither_is_believed(
    straight_d1, tmp_path, figures, caplog
):
    fig = figures("scenario 4: the API follows safely; the ledger head is anchored")
    url = clone_database(straight_d1.url)  # nights D and D+1, their heads written down
    heads = tmp_path / "heads.jsonl"
    shutil.copy(straight_d1.heads, heads)
    data = tmp_path / "data"
    true_seq, true_run, true_content, true_chain = straight_d1.runs[-1]
    try:
        # given the API following the store
        caplog.set_level(logging.WARNING, logger="yiwang.api.follower")
        engine = engine_for(url)
        app = create_app(engine, {digest(TOKEN)})
        with TestClient(app) as client:
            follower = app.state.follower
            assert eventually(lambda: follower.seq == true_seq), follower.seq
            fig.add(f"API up, following: seq {true_seq}", "-", None, f"serves {true_run}", url)
            # when the read-only role NOTIFYs runs that were never published
            forged = [str(true_seq + 1), "999999"]
            started = time.perf_counter()
            notify_as_reader(url, *forged)

            def ignored() -> list[logging.LogRecord]:
                return [r for r in caplog.records if "ignored a notification" in r.getMessage()]

            assert eventually(lambda: len(ignored()) == len(forged), 5), caplog.text
            seconds = time.perf_counter() - started
            # then the API keeps serving the true latest run
            health = client.get("/health").json()
            assert follower.seq == true_seq and follower._thread.is_alive()
            assert health["latest"]["run_id"] == true_run, health
            assert health["latest"]["content_hash"] == true_content, health
            projects = client.get(
                "/projects", params={"limit": 1}, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert projects.status_code == 200 and projects.json()["items"], projects.text
            fig.add(
                f"yiwang_reader NOTIFY {', '.join(forged)}", "-", seconds,
                f"ignored; /health {health['latest']['run_id']}", url,
            )  # fmt: skip
        engine.dispose()

        # given the store intact, its anchored head agrees
        out, _ = fig.run(
            "verify --heads --expect <true chain>", "verify", "--heads", str(heads), "--expect",
            true_chain, url=url, data=data,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        # when the latest ledger row (and a published row) is rewritten, every hash recomputed
        started = time.perf_counter()
        forged_content = forge_latest_row(url)
        fig.add(f"rewrite {true_run}'s row in SQL", "-", time.perf_counter() - started,
                "forged", url)  # fmt: skip
        assert forged_content != true_content
        # then the chain alone cannot tell (this is why the head is kept outside the store)
        out, _ = fig.run("verify (chain only)", "verify", url=url, data=data)
        assert out.returncode == 0, out.stdout + out.stderr
        # but the heads written down and the expected chain hash both tell
        out, _ = fig.run("verify --heads", "verify", "--heads", str(heads), url=url, data=data)
        line = the_one_line(out)
        assert f"the ledger's seq {true_seq} differs from {heads}" in line, line
        assert "content_hash" in line and f"(run '{true_run}') was rewritten" in line, line
        out, _ = fig.run(
            "verify --expect <true chain>", "verify", "--expect", true_chain, url=url, data=data
        )
        line = the_one_line(out)
        assert f"not the expected {true_chain}: the ledger was rewritten" in line, line
        # when every ledger row is deleted, plain verify fails
        deleted = hub_rows(url, "WITH gone AS (DELETE FROM unified.publish_run RETURNING 1) "
                                "SELECT count(*) FROM gone")  # fmt: skip
        fig.add(
            f"DELETE FROM unified.publish_run ({deleted[0][0]} rows)", "-", None, "deleted", url
        )
        out, _ = fig.run("verify (ledger deleted)", "verify", url=url, data=data)
        line = the_one_line(out)
        assert "the ledger is empty but project" in line and "the ledger was deleted" in line, line
    finally:
        drop_database(url)
