"""The framework's parts, each against a real simulator over HTTP where one is involved."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from decimal import Decimal

import pandas as pd
import pytest

from connectors.core import (
    Checkpoint,
    ConnectionConfigError,
    Cursor,
    DayPartitions,
    FatalSourceError,
    GaveUpError,
    Landing,
    LocalSink,
    Page,
    RetryPolicy,
    from_env,
    replay,
    sync,
)
from connectors.core.auth import HeaderKey
from connectors.core.connection import ConnectionSettings, from_fields
from connectors.core.errors import RestartPaging
from connectors.core.formats import GbkCsv, record_frame
from connectors.core.http import ARRIVAL_JITTER_S, Fetched, HttpClient
from departments.drc.simulator import DrcServer
from departments.housing.simulator import HousingServer
from departments.registry import get, registry
from departments.treasury.simulator import TreasuryServer
from simulators.cluster import Cluster
from simulators.servers.faults import FaultPlan
from tests.conftest import AS_OF
from tests.connectors.kit import FAST, small_pages


def settings_for(server, conn_id: str):
    return from_env(conn_id, {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(server.connection())})


# ---- connections ---------------------------------------------------------------------------
def test_given_a_host_with_its_scheme_then_the_scheme_is_taken_from_it():
    settings = from_fields("x", "https://gw.example", 8443, None, "u", "p", {"base_path": "/v"})
    assert settings.base_url == "https://gw.example:8443/v" and settings.origin.endswith(":8443")


def test_given_a_page_size_in_the_extra_then_pages_are_that_small_and_a_bad_one_is_refused():
    conn = {"conn_type": "http", "host": "127.0.0.1", "extra": {"page_size": "40"}}
    assert from_env("x", {"AIRFLOW_CONN_X": json.dumps(conn)}).page_size == 40
    conn["extra"]["page_size"] = "0"
    with pytest.raises(ConnectionConfigError, match="page_size '0' in its extra"):
        from_env("x", {"AIRFLOW_CONN_X": json.dumps(conn)})


def test_given_json_and_uri_forms_when_read_then_both_give_the_same_connection():
    doc = {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": 8080,
        "schema": "http",
        "login": "app",
        "password": "p@ss/word",
        "extra": {"base_path": "/gw"},
    }
    uri = "http://app:p%40ss%2Fword@127.0.0.1:8080/http?base_path=%2Fgw"
    from_json = from_env("drc_api", {"AIRFLOW_CONN_DRC_API": json.dumps(doc)})
    from_uri = from_env("drc_api", {"AIRFLOW_CONN_DRC_API": uri})
    assert from_json == from_uri
    assert from_json.base_url == "http://127.0.0.1:8080/gw"
    assert "p@ss" not in repr(from_json) and "p@ss" not in str(from_json)


def test_given_no_or_broken_connection_when_read_then_the_error_says_what_to_set_and_no_secret():
    with pytest.raises(ConnectionConfigError, match="AIRFLOW_CONN_AUDIT_API"):
        from_env("audit_api", {})
    with pytest.raises(ConnectionConfigError) as caught:
        from_env("audit_api", {"AIRFLOW_CONN_AUDIT_API": '{"password": "s3cret-value", "port": '})
    assert "s3cret-value" not in str(caught.value)


# ---- retries ---------------------------------------------------------------------------------
def test_given_503_with_retry_after_when_fetched_then_the_client_waits_what_the_server_asks(world):
    plan = FaultPlan(rate=0.5, seed=3, kinds=("busy_retry_after",))
    with TreasuryServer(world, AS_OF, "appid", "secret", faults=plan, retry_after_s=2) as server:
        waits: list[float] = []
        settings = settings_for(server, "treasury_api")
        client = HttpClient(settings, get("treasury").auth(settings), sleep=waits.append)
        fmt = GbkCsv()
        for day in ("2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"):
            client.get("/treasury/v2/vouchers", {"pay_date": day, "part": 1}, fmt.decode)
    assert waits and all(w == 2.0 for w in waits)
    assert client.counters.retries == len(waits) == plan.log.count("busy_retry_after")


def test_given_a_system_that_keeps_failing_when_fetched_then_it_gives_up_within_the_budget(world):
    plan = FaultPlan(rate=1.0, kinds=("http_503",))
    with DrcServer(world, AS_OF, "key", faults=plan) as server:
        settings = settings_for(server, "drc_api")
        policy = RetryPolicy(max_attempts=4, backoff_base_s=0.001, backoff_max_s=0.01)
        client = HttpClient(settings, HeaderKey(settings), policy)
        with pytest.raises(GaveUpError, match=r"drc_api: gave up on GET /api/v1/projects after 4"):
            client.get("/api/v1/projects", {"page": 1}, get("drc").streams[0].format.decode)
    assert server.requests == 4


def test_given_business_error_4003_when_fetched_then_it_fails_at_once_without_retrying(world):
    with DrcServer(world, AS_OF, "key") as server:
        settings = settings_for(server, "drc_api")
        client = HttpClient(settings, HeaderKey(settings), FAST)
        with pytest.raises(FatalSourceError, match="business error 4003"):
            client.get("/api/v1/projects", {"page": 0}, get("drc").streams[0].format.decode)
    assert server.requests == 1


def test_given_busy_codes_5001_5002_when_synced_then_they_are_retried(world, tmp_path):
    plan = FaultPlan(rate=0.5, seed=5, kinds=("code_5001", "code_5002"))
    connector = small_pages(get("drc"))
    with DrcServer(world, AS_OF, "key", faults=plan) as server:
        result = sync(
            connector,
            settings_for(server, "drc_api"),
            LocalSink(tmp_path),
            AS_OF,
            "r",
            policy=FAST,
        )
    assert result.retries == plan.log.count("code_5001") + plan.log.count("code_5002") > 0
    assert "business error 500" in " ".join(result.retry_reasons)


def test_given_a_smaller_page_size_when_drc_pages_by_number_then_every_record_is_read(
    world, tmp_path
):
    """drc's pages are numbered: with the connection's smaller pages, reading stops once the
    pages read cover the total, counted in pages of the size asked for."""
    with Cluster(world, AS_OF) as cluster:
        settings = dataclasses.replace(from_env("drc_api", cluster.environment()), page_size=40)
        sink = LocalSink(tmp_path)
        result = sync(get("drc"), settings, sink, AS_OF, "r", policy=FAST)
        served = cluster.servers["drc"].inventory()["projects"]
    assert served > 40 * 2  # several pages of 40
    assert len(sink.records("drc", "projects")) == served
    notes = [n for s in result.streams.values() for n in s.notes]
    assert not any("incomplete" in note for note in notes), notes


# ---- housing: tokens and the rate limit ------------------------------------------------------
def test_given_tokens_invalidated_mid_run_when_synced_then_new_tokens_are_fetched(world, tmp_path):
    plan = FaultPlan(rate=0.3, seed=2, kinds=("token_invalidated",))
    with HousingServer(world, AS_OF, "client", "secret", faults=plan, rate_per_s=10_000) as server:
        connector = dataclasses.replace(get("housing"), rate_per_s=None)
        settings = settings_for(server, "housing_api")
        sink = LocalSink(tmp_path)
        result = sync(connector, settings, sink, AS_OF, "r", policy=FAST)
    invalidations = plan.log.count("token_invalidated")
    assert invalidations > 0
    # a draw on the token request itself invalidates nothing, hence <=
    assert 0 < result.retry_reasons.get("HTTP 401", 0) <= invalidations
    assert len(sink.records("housing", "permits")) == len(server.feeds["permits"].items)


def test_given_the_published_rate_limit_when_synced_then_no_request_is_refused(world, tmp_path):
    with Cluster(world, AS_OF) as cluster:
        settings = from_env("housing_api", cluster.environment())
        result = sync(get("housing"), settings, LocalSink(tmp_path), AS_OF, "r")
    assert "HTTP 429" not in result.retry_reasons
    assert result.requests >= 10  # enough requests that an unthrottled client would be refused


def test_given_two_readers_sharing_the_limit_when_synced_together_then_the_server_sees_at_most_it(
    world, tmp_path
):
    """What Airflow's pool does for housing's tasks, in one process: `parallel` readers, each
    its own client at its share of the rate (its token fetch paced too), small pages from the
    connection's `page_size` so that there are many requests; the server counts arrivals."""
    import threading

    connector = get("housing")
    share = connector.one_of_clients()
    assert share.rate_per_s == connector.rate_per_s / 2
    with Cluster(world, AS_OF) as cluster:  # its limit on: an excess would be refused
        settings = dataclasses.replace(from_env("housing_api", cluster.environment()), page_size=40)
        results = {}

        def read(streams: list[str]) -> None:
            sink = LocalSink(tmp_path / streams[0])
            results[streams[0]] = sync(share, settings, sink, AS_OF, "r", streams=streams)

        halves = (["permits", "inspections"], ["progress_reports", "acceptances"])
        readers = [threading.Thread(target=read, args=(h,)) for h in halves]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        server = cluster.servers["housing"]
        busiest, asked = server.busiest_window(), server.requests
    assert asked >= 60, asked  # pages of 40 instead of 1000
    assert len(busiest) <= 10, "the busiest second:\n" + "\n".join(busiest)
    assert all("HTTP 429" not in r.retry_reasons for r in results.values())


def test_given_a_late_wake_up_then_the_next_request_still_waits_a_full_interval(monkeypatch):
    settings = ConnectionSettings(conn_id="x", host="127.0.0.1")
    clock = iter([0.0, 0.15, 0.15, 0.45, 0.45, 0.46, 0.46])  # the second woke 0.18 s late
    monkeypatch.setattr("connectors.core.http.time.monotonic", lambda: next(clock))
    waits = []
    client = HttpClient(settings, HeaderKey(settings), rate_per_s=10, sleep=waits.append)
    client._take_slot()  # made at 0.0, first at 0.15: no wait, next slot 0.27
    client._take_slot()  # at 0.45 (late): no wait, next slot counted from 0.45
    client._take_slot()  # at 0.46: waits until 0.57, a full interval (0.12 s) after the late one
    assert waits == [pytest.approx(0.11)]


def test_given_a_new_client_then_its_first_request_waits_an_interval(monkeypatch):
    """Under a pool the client before it (another process) may have sent just now."""
    settings = ConnectionSettings(conn_id="x", host="127.0.0.1")
    clock = iter([5.0, 5.02, 5.1])
    monkeypatch.setattr("connectors.core.http.time.monotonic", lambda: next(clock))
    waits = []
    client = HttpClient(settings, HeaderKey(settings), rate_per_s=10, sleep=waits.append)
    client._take_slot()  # made at 5.0, asked at 5.02: waits until 5.12
    assert waits == [pytest.approx(0.10)]


def test_given_n_a_second_then_n_plus_one_in_a_row_span_a_second_and_the_jitter(monkeypatch):
    """What lets a request arrive up to `ARRIVAL_JITTER_S` late without the server counting
    N + 1 in a second (the Celery test saw two requests of one client 66 ms apart)."""
    settings = ConnectionSettings(conn_id="x", host="127.0.0.1")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr("connectors.core.http.time.monotonic", lambda: now[0])
    client = HttpClient(settings, HeaderKey(settings), rate_per_s=10, sleep=sleep)
    starts = []
    for _ in range(40):
        client._take_slot()
        starts.append(now[0])
    spans = [b - a for a, b in zip(starts, starts[10:], strict=False)]
    assert min(spans) >= 1.0 + ARRIVAL_JITTER_S - 1e-9


# ---- landing and replay ----------------------------------------------------------------------
def test_given_a_landed_night_when_replayed_then_the_records_are_the_live_ones(world, tmp_path):
    landing = Landing(tmp_path / "landing", "night-1")
    live: dict[str, list[pd.DataFrame]] = {}

    class Recorder(LocalSink):
        def stage(self, source, stream, frame):
            live.setdefault(stream.name, []).append(frame)

    with Cluster(world, AS_OF) as cluster:
        env = cluster.environment()
        secrets = [json.loads(v).get("password") for v in env.values()]
        for connector in registry().values():
            live.clear()
            settings = from_env(connector.conn_id, env)
            sync(connector, settings, Recorder(tmp_path / "sink"), AS_OF, "night-1", landing)
            replayed = replay(connector, landing)
            for name, frames in live.items():
                expected = pd.concat(frames, ignore_index=True)
                pd.testing.assert_frame_equal(replayed[name], expected, check_dtype=False)
    landed = b"".join(p.read_bytes() for p in (tmp_path / "landing").rglob("*.gz"))
    landed = gzip.decompress(landed)  # concatenated members decompress as one stream
    assert landed.count(b"\n") > 0
    for secret in filter(None, secrets):
        assert secret.encode() not in landed


# ---- typing a page ---------------------------------------------------------------------------
def test_given_odd_values_when_typed_then_each_is_flagged_with_its_field_and_nothing_raises():
    items = [
        {"k": " A1 ", "amount": Decimal("1234.5678"), "at": 1700000000000, "note": "ok"},
        {"k": "A2", "amount": 5, "at": "yesterday", "note": {"deep": [1, 2]}},
        {"k": None, "amount": None, "at": None, "note": "x\ufffdy"},
    ]
    frame, unknown = record_frame(
        [*items, {"k": "A3", "extra": 1}], ("k", "amount", "at", "note"), "k", "at", ("at",), True
    )
    assert list(frame["_key"]) == ["A1", "A2", None, "A3"]
    assert frame.loc[0, "amount"] == Decimal("1234.5678")
    assert str(frame.loc[0, "at"]) == "2023-11-15 06:13:20+08:00"
    assert frame.loc[0, "_problems"] == ""
    assert "at 'yesterday' is not epoch ms" in frame.loc[1, "_problems"]
    assert "note is nested" in frame.loc[1, "_problems"]
    assert "note holds bytes that are not valid text" in frame.loc[2, "_problems"]
    assert unknown == {"extra"}


def test_given_invalid_gbk_bytes_when_parsed_then_only_that_row_is_flagged():
    body = '凭证号,金额\r\nZF1,"1,000.00"\r\n'.encode("gbk") + b"ZF2,\xff\xfe\r\n"
    records, garbled = GbkCsv().parse(body)
    frame, _ = record_frame(records, ("凭证号", "金额"), "凭证号", None, (), garbled)
    assert frame["金额"].iloc[0] == "1,000.00"
    assert list(frame["_problems"]) == ["", "金额 holds bytes that are not valid text"]


def test_given_a_run_inside_airflow_when_a_connection_is_read_then_its_secret_is_masked(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "sync_audit")
    from_env("audit_api", {"AIRFLOW_CONN_AUDIT_API": '{"host": "h", "password": "tok-5e3cret-77"}'})
    from airflow.sdk._shared.secrets_masker import redact

    assert redact("Authorization: Bearer tok-5e3cret-77") == "Authorization: Bearer ***"


# ---- cursor paging: batches and restarts -------------------------------------------------------
class _CursorReader:
    """A housing-like source of `pages` (lists of modifiedAt stamps) whose cursor expires when
    asked for the pages in `expire_at` (once each)."""

    def __init__(self, pages: list[list[int]], expire_at: set[int]) -> None:
        self.pages, self.expire_at, self.asked, self.typed = pages, set(expire_at), [], []

    def page_size(self, declared: int) -> int:
        return declared

    def request(self, params, decode=None, answers=()):
        self.asked.append(dict(params))
        at = int(params.get("cursor", 0)) if "cursor" in params else self._first(params)
        if at in self.expire_at and "cursor" in params:
            self.expire_at.discard(at)
            raise RestartPaging()
        more = at + 1 < len(self.pages)
        doc = {"nextCursor": str(at + 1) if more else None}
        return Fetched("/", 200, {}, b"", 0.0, (doc, self.pages[at], False))

    def _first(self, params) -> int:
        after = params.get("modifiedAfter")
        if after is None:
            return 0
        return next(i for i, p in enumerate(self.pages) if max(p) > after)

    def accept_many(self, batch):
        stamps = [s for f in batch for s in f.decoded[1]]
        self.typed.append(len(batch))
        frame = pd.DataFrame({"_version": [f"{s:015d}" for s in stamps]}, dtype=object)
        return Page(len(self.typed), batch[-1], batch[-1].decoded[0], frame)

    def note(self, text):
        pass


def test_cursor_pages_are_typed_in_batches_and_a_restart_starts_below_all_that_was_read():
    pages = [[10 * i + 1, 10 * i + 5] for i in range(7)]  # stamps rise page by page
    reader = _CursorReader(pages, expire_at={5})
    out = list(Cursor(batch_pages=3).pages(reader, None))

    typed = [o for o in out if not isinstance(o, Checkpoint)]
    states = [o.state["modified_after"] for o in out if isinstance(o, Checkpoint)]
    # pages 0-2 typed together; the cursor to page 5 expires after pages 3-4 were read:
    # they are typed (and their state checkpointed) first, so the restart asks from just
    # below page 4's newest stamp, and page 4 comes again (the store keeps one of each)
    assert reader.typed == [3, 2, 3]
    assert states == [24, 44, 64]  # each batch's newest stamp - 1
    assert {"limit": 1000, "modifiedAfter": 44} in reader.asked
    got = [s for page in typed for s in page.frame["_version"]]
    assert got == [f"{s:015d}" for p in pages[:5] + pages[4:] for s in p]


class _DayReader:
    """A treasury-like source as of `as_of`: every day one part, each request noted."""

    def __init__(self, as_of: dt.date) -> None:
        self.as_of, self.asked = as_of, []

    def request(self, params, decode=None, answers=()):
        self.asked.append(params["pay_date"])
        return Fetched("/", 200, {"X-Total-Parts": "1"}, b"", 0.0, None)

    def accept_many(self, batch):
        return Page(len(batch), batch[-1], None, pd.DataFrame())


def test_given_a_long_read_of_days_then_the_state_reaches_the_last_settled_day():
    """The last batch of a long read runs past the settled days; its settled part must still
    be checkpointed, or the next night reads again every day since the previous batch."""
    as_of = dt.date(2026, 11, 23)
    paging = DayPartitions(start=dt.date(2026, 9, 1), settle_days=3, batch_pages=32)
    out = list(paging.pages(_DayReader(as_of), None))
    states = [o.state["final_through"] for o in out if isinstance(o, Checkpoint)]
    assert states[-1] == "2026-11-20"  # as_of - settle_days
    # the next night reads only the unsettled days and the new one
    reader = _DayReader(as_of + dt.timedelta(days=1))
    list(paging.pages(reader, {"final_through": states[-1]}))
    assert reader.asked == ["2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]
