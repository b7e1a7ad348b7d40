"""Staged records decode to exactly what `json.loads` with the money hook gives, however
they were written (the fast C path must never change a value)."""

import json
from decimal import Decimal

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from yiwang.store.staging import DECODE_CHUNK, _hook, _parsed, decode

money = st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
    lambda d: {"$decimal": str(d)}
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),  # beyond 64 bits too
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    money,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(), inner)),
    max_leaves=8,
)
records = st.lists(
    st.dictionaries(st.text(min_size=1), values, max_size=6).map(
        lambda r: json.dumps(r, ensure_ascii=False)
    ),
    max_size=20,
)


def _reference(texts: list[str]) -> list:
    return [json.loads(t, object_hook=_hook) for t in texts]


@given(records)
def test_fast_decode_equals_json(texts):
    assert _parsed(texts) == _reference(texts)


def test_money_is_decimal_at_any_depth():
    texts = ['{"paid":{"$decimal":"12.30"},"lines":[{"amount":{"$decimal":"0.10"}}]}']
    (row,) = _parsed(texts)
    assert row["paid"] == Decimal("12.30") and isinstance(row["paid"], Decimal)
    assert row["lines"][0]["amount"] == Decimal("0.10")


def test_chunks_refused_by_the_fast_path_fall_back():
    # a lone surrogate and a number beyond a double are refused by msgspec, kept by json
    texts = ['{"a":"ok"}'] * (DECODE_CHUNK + 1) + ['{"s":"\\ud800"}', '{"n":1e400}']
    assert _parsed(texts) == _reference(texts)


def test_repeated_text_is_held_once_and_other_values_are_never_merged():
    """Decoded cells share one object per distinct string (the night holds every stream at
    once); a column that is not all text keeps its cells as decoded: 1, 1.0 and True are
    equal in Python but different values."""
    from departments.registry import get

    texts = [
        '{"unit":"市政局","n":1,"m":"x"}',
        '{"unit":"市政局","n":1.0,"m":null}',
        '{"unit":"市政局","n":true,"m":"x"}',
    ]
    frame = decode(texts, ["a", "b", "c"], ["1", "1", "1"], get("audit").stream("findings"))
    as_decoded = pd.DataFrame.from_records(_parsed(texts))
    pd.testing.assert_frame_equal(frame[as_decoded.columns], as_decoded)
    assert frame["unit"][0] is frame["unit"][1] is frame["unit"][2]
    assert frame["m"][0] is frame["m"][2]
    assert [type(v) for v in frame["n"]] == [int, float, bool]
