"""A canonical line is what `COPY` reads: SQLite, which stores the values themselves, gets
every value (null, tab, newline, backslash, `\\N` as text) back exactly from it."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.store.canonical import _escape, canonical, unescaped
from yiwang.store.publish import among, words
from yiwang.store.tables import SORT

pieces = st.sampled_from(["\\", "\t", "\n", "\r", "\\N", "\\t", "N", "t", "中"]) | st.text(
    max_size=3
)
values = st.lists(st.none() | st.lists(pieces, max_size=5).map("".join), min_size=1)


@given(values)
def test_a_line_gives_back_the_values_it_was_made_of(row):
    line = "\t".join(_escape(v) for v in row)
    assert unescaped(line) == row


texts = st.none() | st.text(alphabet=st.sampled_from("aAb中\t\\é0 "), max_size=2)


@given(st.lists(st.tuples(texts, texts, texts), max_size=30))
def test_rows_are_in_code_point_order_of_their_key_text_nulls_first_ties_as_given(keys):
    """The order the row hashes are taken in (and so the content_hash) is defined on the
    canonical key text, nulls first; rows with equal keys keep the frame's order."""
    frame = pd.DataFrame(
        {
            "source_system": [k[0] for k in keys],
            "record_type": [k[1] for k in keys],
            "record_key": [k[2] for k in keys],
            "project_id": [str(i) for i in range(len(keys))],  # tells tied rows apart
            "link_method": "test",
            "link_confidence": 1.0,
        }
    )
    assert SORT["source_record"] == ("source_system", "record_type", "record_key")
    order, lines, _ = canonical("source_record", frame)

    def place(i):
        return [(v is not None, v or "") for v in keys[i]]

    assert list(order) == sorted(frame.index, key=place)  # Python's sort is stable
    assert [unescaped(line)[3] for line in lines] == [str(i) for i in order]


@given(st.lists(st.text(max_size=5), max_size=20))
def test_row_hashes_read_as_the_hex_digests_of_their_lines(lines):
    """Row hashes are kept as packed digests; every way of reading them gives the hex."""
    import hashlib

    frame = pd.DataFrame(
        {"period": "2026-11", "project_id": lines, "draw_rank": 1, "draw_seed": "s"}
    )
    frame = frame.drop_duplicates("project_id")
    _, rendered, hashes = canonical("spot_check", frame)
    expected = [hashlib.sha256(f"spot_check\t{line}".encode()).hexdigest() for line in rendered]
    assert list(hashes) == expected and len(hashes) == len(expected)
    assert [hashes[i] for i in range(len(expected))] == expected
    assert [d.hex() for d in hashes.raw()] == expected
    with pytest.raises(IndexError):
        hashes[len(expected)]


def test_a_column_of_keys_renders_as_a_column_of_repeated_values_would(monkeypatch):
    """Past `SAMPLE` rows a column whose values nearly all differ skips factorizing: its
    lines, order and hashes are those of the factorized path, nulls and repeats included."""
    import numpy as np

    import yiwang.store.canonical as c

    n = c.SAMPLE + 2_000
    rng = np.random.default_rng(7)
    keys = [f"K{int(i):07d}\\t中" for i in rng.permutation(n)]
    for i in range(0, n, 997):
        keys[i] = None  # nulls sort first
    for i in range(5, n, 1_013):
        keys[i] = keys[i - 1]  # repeats keep frame order
    frame = pd.DataFrame(
        {
            "source_system": rng.choice(["drc", "audit"], n),
            "record_type": "project",
            "record_key": keys,
            "project_id": [f"P{i % 50}" for i in range(n)],
            "link_method": "test",
            "link_confidence": 1.0,
        }
    )
    fast = canonical("source_record", frame)
    monkeypatch.setattr(c, "SAMPLE", 10 * n)  # every column factorized
    slow = canonical("source_record", frame)
    assert list(fast[0]) == list(slow[0])
    assert fast[1] == slow[1]
    assert fast[2].digests == slow[2].digests


@settings(deadline=None)  # a loaded CI machine took 265 ms for one example
@given(st.data(), st.integers(1, 12))
def test_typed_columns_render_as_the_same_values_as_python_objects_do(data, n):
    """Numbers and dates are factorized as typed arrays and text no row is sorted by is taken
    as it is, not as Python objects: the lines and hashes are those of the objects."""
    import datetime as dt

    from sqlalchemy import BigInteger, Date, Double

    from yiwang.store.tables import Money, published

    def column(kind):
        if isinstance(kind, Money):
            money = st.none() | st.decimals(0, 10**9, places=2)
            return pd.Series(data.draw(st.lists(money, min_size=n, max_size=n)), dtype=object)
        if isinstance(kind, Date):
            days = st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31))
            return pd.to_datetime(pd.Series(data.draw(st.lists(days, min_size=n, max_size=n))))
        if isinstance(kind, BigInteger):
            return data.draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n))
        if isinstance(kind, Double):
            reals = st.none() | st.floats(0, 100, allow_nan=False) | st.just(-0.0)
            return pd.Series(data.draw(st.lists(reals, min_size=n, max_size=n)), dtype=float)
        return pd.Series(data.draw(st.lists(texts, min_size=n, max_size=n)), dtype="str")

    columns = [c for c in published["project"].columns if c.name != "row_hash"]
    typed = pd.DataFrame({c.name: column(c.type) for c in columns})
    assert typed["approval_date"].dtype.kind == "M" and typed["project_name"].dtype == "str"
    as_objects = typed.astype(object)
    fast, slow = canonical("project", typed), canonical("project", as_objects)
    assert list(fast[0]) == list(slow[0]) and fast[1] == slow[1]
    assert fast[2].digests == slow[2].digests


digests = st.lists(st.binary(min_size=32, max_size=32), max_size=40)


@given(digests, digests, st.booleans())
def test_digests_found_among_others_are_those_a_set_finds(rows, others, repeated):
    """Publishing tells kept rows from new ones by looking digests up as words: a digest
    alike in its first eight bytes only is not found, and a table holding identical rows
    (repeated digests) is looked up too."""
    if others:
        rows = [*rows, others[0][:8] + bytes(24)]
        others = [*others, others[0]] if repeated else others
    found = among(words(b"".join(rows)), words(b"".join(others)))
    assert found.tolist() == [r in set(others) for r in rows]


@given(digests, st.integers(min_value=1, max_value=4))
def test_the_content_hash_of_packed_digests_is_that_of_their_hex_lines(rows, block):
    """The content_hash hexes packed digests a block at a time; any block size gives the
    hash of one hex line a row, as the contract defines it."""
    import hashlib
    from unittest.mock import patch

    import yiwang.store.canonical as c

    with patch.object(c, "HEX_BLOCK", block):
        packed = c.content_hash({"source_record": c.RowHashes(b"".join(rows))})
    lines = "".join(f"{r.hex()}\n" for r in rows)
    # a later contract version's tables, empty, are left out (the earlier version's hash)
    expected = hashlib.sha256("".join(f"{t}\n" + (lines if t == "source_record" else "")
                                      for t in c.DATA_TABLES
                                      if t not in c.LATER_TABLES).encode()).hexdigest()  # fmt: skip
    assert packed == expected


def test_given_version_1_1_columns_and_tables_then_a_store_without_them_hashes_as_before():
    """A project row with none of the columns Version 1.1 added (nor 1.2's) hashes as its 1.0
    line (the same row without them), one with 1.1's but none of 1.2's as its 1.1 line, and an
    empty 1.1 table adds nothing to the content hash; once a later column holds a value, or a
    1.1 table a row, both count."""
    import hashlib

    import yiwang.store.canonical as c

    v11, v12 = c.later_versions("project")
    assert v11[0] == "planning_permit_count" and v12[0] == "forecast_completion_p50"
    assert c.column_names("project")[-len(v11) - len(v12) :] == v11 + v12
    frame = pd.DataFrame({name: [None, None, None] for name in c.column_names("project")})
    frame["project_id"] = ["P-1", "P-2", "P-3"]
    frame.loc[1, "complaint_count"] = 3
    frame.loc[2, "forecast_completion_method"] = "quantile model"
    _, lines, hashes = c.canonical("project", frame.astype({"complaint_count": "Int64"}))
    null = len("\t\\N")
    earlier = lines[0][: -null * (len(v11) + len(v12))]
    assert hashes[0] == hashlib.sha256(f"project\t{earlier}".encode()).hexdigest()
    assert lines[1][: -null * len(v12)].endswith("\t3\t\\N\t\\N")
    assert (
        hashes[1] == hashlib.sha256(f"project\t{lines[1][: -null * len(v12)]}".encode()).hexdigest()
    )
    assert hashes[2] == hashlib.sha256(f"project\t{lines[2]}".encode()).hexdigest()
    assert lines[0].count("\t") == lines[1].count("\t") == lines[2].count("\t")
    empty = c.content_hash({"work_order": c.RowHashes()})
    assert empty == c.content_hash({})
    assert c.content_hash({"work_order": c.RowHashes(b"\0" * 32)}) != empty


moments = st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2099, 12, 31))


@given(
    st.lists(moments, min_size=1, max_size=30),
    st.sampled_from([None, "UTC", "Asia/Shanghai", "America/New_York"]),
    st.sampled_from(["ns", "us", "ms", "s"]),
    st.integers(0, 999),
)
def test_times_rendered_at_once_are_each_rendered_alone(times, zone, unit, nanoseconds):
    """Timestamps render in one numpy call, as each renders by itself: UTC, to the
    microsecond (truncated), whatever their zone and unit."""
    from yiwang.store.canonical import _all_rendered, _timestamp

    naive = pd.DatetimeIndex(times).as_unit("ns") + pd.Timedelta(nanoseconds, "ns")
    index = (naive.tz_localize("UTC").tz_convert(zone) if zone else naive).as_unit(unit)
    assert _all_rendered(index, _timestamp) == [_timestamp(v) for v in index]
