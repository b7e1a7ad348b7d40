"""Staged records decode to exactly what `json.loads` with the money hook gives, however
they were written (the fast C path must never change a value)."""

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yiwang.staging import DECODE_CHUNK, _hook, _parsed

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
