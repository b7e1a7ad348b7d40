"""Property-based: random bad records land in quarantine with a reason; nothing raises."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from departments.registry import record
from schemas.validate import validate
from tests.schemas.wire import GOOD, STREAM_OF, wire

RECORD_TYPES = sorted(GOOD)

# values that break any field they land in (for a required field, or a coded/typed one)
hostile_text = st.one_of(
    st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""),
    st.sampled_from(["'; DROP TABLE project; --", "\x00\x01\x1b[31m", "x" * 5000, "NaN", "１２３"]),
)
any_value = st.one_of(
    st.none(),
    hostile_text,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=8),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _breaking(record_type: str):
    """(field, value) pairs that must be rejected: required fields emptied, typed fields garbled."""
    required = [f for f in record(record_type).required_fields if f != STREAM_OF[record_type].key]
    typed_fields = {
        "project": ["ztz", "jhkgsj", "xmdwdm", "szqh", "xmlx"],
        "voucher": ["金额", "支付日期", "预算单位编码", "支付方式"],
        "permit": ["contractAmount", "permitNo", "buildUnitCreditCode", "regionCode"],
        "progress_report": ["completionRate", "period"],
        "inspection": ["hazardCount", "category", "result"],
        "acceptance": ["result"],
        "finding": ["foundOn", "status", "issueType", "auditedEntityCode"],
    }[record_type]
    emptied = st.tuples(st.sampled_from(required), st.sampled_from([None, "", "   "]))
    garbled = st.tuples(
        st.sampled_from(typed_fields),
        st.text(alphabet="OoXx#@!zZ", min_size=1, max_size=12),
    )
    return st.one_of(emptied, garbled)


@st.composite
def broken_batches(draw):
    record_type = draw(st.sampled_from(RECORD_TYPES))
    breaks = draw(st.lists(_breaking(record_type), min_size=1, max_size=5))
    return record_type, breaks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_batches())
def test_given_records_with_a_broken_field_then_each_is_quarantined_naming_the_field(case):
    record_type, breaks = case
    result = validate("test", record(record_type), wire(record_type, *({f: v} for f, v in breaks)))
    assert result.accepted.empty
    assert len(result.quarantine) == len(breaks)
    for (field, _value), reason in zip(breaks, result.quarantine["reasons"], strict=True):
        assert field in reason


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(RECORD_TYPES),
    st.lists(
        st.dictionaries(st.sampled_from(sorted({f for g in GOOD.values() for f in g})), any_value),
        min_size=1,
        max_size=6,
    ),
)
def test_given_hostile_records_when_validated_then_nothing_raises_and_nothing_is_lost(
    record_type, changes
):
    fields = set(GOOD[record_type])
    changes = [{k: v for k, v in c.items() if k in fields} for c in changes]
    frame = wire(record_type, *changes)
    result = validate("test", record(record_type), frame)
    assert len(result.accepted) + len(result.quarantine) == len(frame)
    assert (result.quarantine["reasons"].str.len() > 0).all()
    for money_field in ("ztz", "金额", "contractAmount", "amount"):
        if money_field in result.accepted.columns:
            assert all(isinstance(v, Decimal) or v is None for v in result.accepted[money_field])
