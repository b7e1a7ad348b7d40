"""Drill: hostile records arrive as the departmental systems would send them (huge strings,
control characters, bytes that are not valid UTF-8 or GBK, SQL and COPY fragments, deeply
nested JSON) and go the whole way: raw page → parse → staging → validation → publication.
Every one ends up published or quarantined with its reasons; nothing raises.

A page nested deeper than the JSON parser can follow is refused whole, naming the page."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.core.errors import FatalSourceError
from connectors.core.formats import GbkCsv, JsonItems, record_frame
from connectors.core.record_json import encode
from connectors.core.state import latest_versions
from departments.registry import record as record_type_of
from schemas.validate import validate
from tests.conftest import AS_OF, clone_database, drop_database
from tests.schemas.wire import GOOD, STREAM_OF, fixed_credit_code
from transforms.normalise import code
from yiwang.night.run import publish_night
from yiwang.store.db import engine_for, migrate
from yiwang.store.publish import read_table, verify
from yiwang.store.staging import DbSink

SOURCE_OF = {"project": "drc", "voucher": "treasury", "finding": "audit"} | dict.fromkeys(
    ("permit", "progress_report", "inspection", "acceptance"), "housing"
)
EXAMPLES = int(os.environ.get("YIWANG_DRILL_EXAMPLES", "120"))  # `bin/dev drills`: 1000
BAD_BYTES = "\ue000BAD\ue000"  # stands for bytes no text can hold; replaced in the raw page
SQL = [
    "'; DROP TABLE unified.project; --", "1; DELETE FROM hub.staged_record", "\\.", "\\N",
    "a\tb\nc\\d", "$$ || pg_sleep(10) || $$", "Robert'); --", '"quoted" , comma',
]  # fmt: skip


def _nest(depth: int) -> Any:
    value: Any = "深"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


hostile = st.one_of(
    st.integers(20_000, 200_000).map(lambda n: "长" * n),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1, max_size=40),
    st.text(min_size=1, max_size=60),
    st.sampled_from(SQL),
    st.just(BAD_BYTES),
    st.text(max_size=8).map(lambda t: t + BAD_BYTES + t),
    st.integers(10, 400).map(_nest),
    st.recursive(st.text(max_size=4), lambda c: st.lists(c, max_size=3), max_leaves=20),
    st.just(None),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)


def good_record(record_type: str) -> dict:
    """A valid record of `record_type`, with a credit code that passes its check digit."""
    return {k: fixed_credit_code() if v == "91320500MA1MXXXX0X" else v
            for k, v in GOOD[record_type].items()}  # fmt: skip


@st.composite
def hostile_page(draw) -> tuple[str, list[dict]]:
    record_type = draw(st.sampled_from(sorted(GOOD)))
    fields = sorted(f for f in GOOD[record_type] if not f.startswith("_"))
    key = STREAM_OF[record_type].key
    records = []
    for i in range(draw(st.integers(1, 6))):
        record = good_record(record_type)
        record[key] = f"HOSTILE-{i}"
        record.update(draw(st.dictionaries(st.sampled_from(fields), hostile, min_size=1)))
        records.append(record)
    return record_type, records


def raw_page(record_type: str, records: list[dict]) -> bytes:
    """The body the system would send: its JSON envelope, or treasury's GBK CSV."""
    fmt = STREAM_OF[record_type].format
    if isinstance(fmt, GbkCsv):
        frame = pd.DataFrame(records).drop(columns="_pay_date", errors="ignore")
        text = frame.astype(str).to_csv(index=False, quoting=csv.QUOTE_ALL)  # a well-formed file
        return text.encode("gbk", errors="replace").replace(
            BAD_BYTES.encode("gbk", errors="replace"), b"\x81\x7f\xff"
        )
    doc: Any = records
    for name in reversed(fmt.items):
        doc = {name: doc}
    text = json.dumps(doc, ensure_ascii=False, default=str)
    return text.encode("utf-8", errors="surrogatepass").replace(
        BAD_BYTES.encode(), b"\xff\xfe\xc3\x28"
    )


def parse(record_type: str, body: bytes) -> pd.DataFrame:
    s = STREAM_OF[record_type]
    records, garbled = s.format.parse(body)
    return record_frame(records, s.fields, s.key, s.version, s.epoch_ms, garbled)[0]


@pytest.fixture(scope="module")
def staging(tmp_path_factory):
    engine = engine_for(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'store.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_page())
def test_given_hostile_pages_then_every_record_is_staged_and_accepted_or_quarantined(staging, page):
    record_type, records = page
    source, stream = SOURCE_OF[record_type], STREAM_OF[record_type]
    frame = parse(record_type, raw_page(record_type, records))
    assert len(frame) == len(records)
    sink = DbSink(staging, run_id="hostile")
    with staging.begin() as conn:
        conn.exec_driver_sql("DELETE FROM staged_record")
    sink.stage(source, stream, frame)
    sink.commit(source, stream, None, final=True)
    staged = sink.records(source, stream.name)
    assert len(staged) == len(latest_versions([frame]))  # one per key (hostile keys may repeat)
    result = validate(source, record_type_of(record_type), staged)
    assert len(result.accepted) + len(result.quarantine) == len(staged)
    assert (result.quarantine["reasons"].str.len() > 0).all()
    for money in ("ztz", "金额", "contractAmount", "amount"):
        if money in result.accepted.columns:
            assert all(isinstance(v, Decimal) or v is None for v in result.accepted[money])


def test_given_a_page_nested_beyond_the_parser_then_it_is_refused_naming_the_page():
    body = b'{"data": {"records": [{"xmdm": "1", "xmmc": ' + b"[" * 100_000 + b"]" * 100_000
    body += b"}]}}"

    class Response:
        content = body

        class request:  # the shape of requests.Response.request
            path_url = "/api/v1/projects?page=3"

    with pytest.raises(FatalSourceError, match=r"projects\?page=3.*nested deeper"):
        JsonItems(("data", "records")).decode(Response)


def staged_on(url: str, record_type: str, pages: list[pd.DataFrame]) -> pd.DataFrame:
    """`pages` staged one commit each into a migrated PostgreSQL store; what staging holds."""
    source, stream = SOURCE_OF[record_type], STREAM_OF[record_type]
    engine = engine_for(url)
    migrate(engine)
    sink = DbSink(engine, run_id="drill")
    for frame in pages:
        sink.stage(source, stream, frame)
        sink.commit(source, stream, None, final=True)
    staged = sink.records(source, stream.name)
    engine.dispose()
    return staged


@pytest.mark.postgres
@pytest.mark.parametrize("record_type", ["finding", "project"])  # their stamps are text
def test_given_a_nul_in_a_version_stamp_then_the_record_is_staged_and_quarantined(
    pg_database, record_type
):
    """Found by the drill below: a NUL in a text version stamp reached PostgreSQL's COPY."""
    s = STREAM_OF[record_type]
    record = good_record(record_type)
    record[s.key], record[s.version] = "NUL-STAMP", "2026-11-01\x0012:00"
    frame = parse(record_type, raw_page(record_type, [record]))
    assert f"{s.version} holds a NUL character" in frame["_problems"][0]
    staged = staged_on(pg_database, record_type, [frame])
    assert staged["_key"].tolist() == ["NUL-STAMP"]
    result = validate(SOURCE_OF[record_type], record_type_of(record_type), staged)
    assert result.accepted.empty and len(result.quarantine) == 1
    assert "holds a NUL character" in result.quarantine["reasons"][0]


@pytest.mark.postgres
def test_given_keyless_records_then_json_tells_them_apart_on_postgresql(pg_database):
    """Found by the drill below: NaN, infinity and null, told apart by the buffer's old
    de-duplication but one record as JSON, reached one upsert twice and PostgreSQL refused it.
    Records JSON tells apart (1 and "1", null and "None") stay two, across pages too."""
    good = good_record("finding") | {STREAM_OF["finding"].key: None}
    field = "auditReportNo"
    same = [good | {field: v} for v in (float("nan"), float("inf"), None)]
    apart = [good | {field: v} for v in (1, "1", "None")]
    pages = [parse("finding", raw_page("finding", r)) for r in (same + apart, apart)]
    staged = staged_on(pg_database, "finding", pages)  # the second page repeats the first's
    assert sorted(map(repr, staged[field])) == sorted(["None", "1", "'1'", "'None'"])


@pytest.mark.postgres
@settings(
    max_examples=max(3, EXAMPLES // 100), deadline=None, suppress_health_check=list(HealthCheck)
)
@given(st.lists(hostile_page(), min_size=7, max_size=7))
def test_given_hostile_records_in_a_night_then_they_are_published_or_quarantined_whole(
    published_small, tmp_path_factory, pages
):
    url = clone_database(published_small["postgres"][0])
    later = AS_OF + dt.timedelta(days=1)
    try:
        engine = engine_for(url)
        with engine.connect() as conn:
            before = read_table(conn, "quarantine")
        sink = DbSink(engine, run_id=f"{later}")
        sent, keyless = set(), set()  # a keyless record is one per stream and record JSON
        for n, (record_type, records) in enumerate(pages):
            source, stream = SOURCE_OF[record_type], STREAM_OF[record_type]
            for r in records:  # pages of one stream must not reuse each other's keys
                r[stream.key] = f"{r[stream.key]}-{n}" if isinstance(r[stream.key], str) else None
            frame = parse(record_type, raw_page(record_type, records))
            # an accepted key is published folded, as codes are (full-width, spaces); a
            # quarantined one as received: either form is the record
            keys = frame["_key"].dropna()
            folded = code(keys, distinct=True)
            sent |= {
                (source, record_type, raw, fold) for raw, fold in zip(keys, folded, strict=True)
            }
            keyless |= {(record_type, j) for j in encode(frame[frame["_key"].isna()])}
            sink.stage(source, stream, frame)
            sink.commit(source, stream, None, final=True)
        done = publish_night(engine, later, tmp_path_factory.mktemp("quality"))
        assert done.status == "published"
        assert verify(engine).ok
        with engine.connect() as conn:
            tables = {t: read_table(conn, t) for t in ("source_record", "quarantine")}
        key = ["source_system", "record_type", "record_key"]
        held = set().union(*(map(tuple, f[key].dropna().to_numpy()) for f in tables.values()))
        lost = [
            r for r in sent if (r[0], r[1], r[2]) not in held and (r[0], r[1], r[3]) not in held
        ]
        assert lost == []
        quarantine = tables["quarantine"]
        now = quarantine[quarantine["last_seen_run"] == done.run_id]
        assert (now["reasons"].str.len() > 0).all()
        assert now["record_key"].isna().sum() == before["record_key"].isna().sum() + len(keyless)
        engine.dispose()
    finally:
        drop_database(url)


@st.composite
def hostile_batch(draw) -> tuple[str, list[dict], list[int]]:
    """A hostile page, some records carrying a field of their own, and which records of it
    are staged again (a later night's batch)."""
    record_type, records = draw(hostile_page())
    for record in records:
        if draw(st.booleans()):
            record[draw(st.sampled_from(["备注", "extra", "note"]))] = draw(hostile)
    again = draw(st.lists(st.integers(0, len(records) - 1), min_size=1, unique=True))
    return record_type, records, again


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_batch())
def test_given_hostile_records_then_validating_some_again_apart_changes_nothing(staging, batch):
    """What validation makes of a record does not depend on the batch it came in: the kept
    streams (`yiwang.store.kept`) merge a night's few records into what earlier nights made."""
    from yiwang.store.kept import Part

    record_type, records, again = batch
    source, stream = SOURCE_OF[record_type], STREAM_OF[record_type]
    sink = DbSink(staging, run_id="hostile")
    with staging.begin() as conn:
        conn.exec_driver_sql("DELETE FROM staged_record")
    sink.stage(source, stream, parse(record_type, raw_page(record_type, records)))
    sink.commit(source, stream, None, final=True)
    staged = sink.read(source, stream.name, ids=True)
    ids = staged["_record_id"]
    alone = staged[ids.isin(set(ids.iloc[[i % len(ids) for i in again]]))].reset_index(drop=True)

    merged = Part.of(source, record_type, staged).updated_by(Part.of(source, record_type, alone))
    whole = validate(source, record_type_of(record_type), staged.drop(columns="_record_id"))
    kept = merged.live(source, record_type, set())
    pd.testing.assert_frame_equal(kept.accepted, whole.accepted)
    pd.testing.assert_frame_equal(kept.quarantine, whole.quarantine)
