"""A canonical line is what `COPY` reads: SQLite, which stores the values themselves, gets
every value (null, tab, newline, backslash, `\\N` as text) back exactly from it."""

from hypothesis import given
from hypothesis import strategies as st

from yiwang.canonical import _escape, unescaped

pieces = st.sampled_from(["\\", "\t", "\n", "\r", "\\N", "\\t", "N", "t", "中"]) | st.text(
    max_size=3
)
values = st.lists(st.none() | st.lists(pieces, max_size=5).map("".join), min_size=1)


@given(values)
def test_a_line_gives_back_the_values_it_was_made_of(row):
    line = "\t".join(_escape(v) for v in row)
    assert unescaped(line) == row
