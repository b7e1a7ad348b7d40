"""Entity resolution against the simulator's ground truth (the unify issue's core; in progress)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from departments.registry import ground_truth, linking, record
from schemas.validate import validate
from simulators.world import calendar as cal
from tests.conftest import AS_OF
from transforms.evaluate import link_scores
from transforms.links import PROJECT_CODE, PROJECT_CODE_REPAIRED
from transforms.names import split_names
from transforms.resolve import CodeBook, resolve
from yiwang.night.steps import record_streams


@pytest.mark.slow
def test_given_the_medium_world_with_quirks_then_links_are_precise_and_nearly_complete(
    medium_world, medium_staged
):
    _, now = medium_staged
    accepted, served = {}, None
    for source, stream, rows in record_streams(now):
        accepted[stream.record_type] = validate(source, record(stream.record_type), rows).accepted
        if stream.record_type == "project":
            served = rows
    links = resolve(accepted, linking(), served)
    scores = link_scores(links, ground_truth(medium_world, cal.day(AS_OF)))
    assert scores["precision"] >= 0.995, scores
    assert scores["recall"] >= 0.97, scores
    assert links.groupby(["source_system", "record_type", "record_key"]).size().max() == 1


def test_given_name_variants_then_they_reduce_to_one_base_and_phase():
    names = pd.Series(
        [
            "苏州市虎丘区越溪污水处理厂扩建工程（一期）一标段",
            "越溪污水处理厂扩建",
            "苏州市虎丘区越溪污水处理厂扩建项目(一期 )",
            "苏州市虎丘区越溪污水处理厂扩建工程（二期）",
            "苏州市虎丘区越溪污水处理厂扩建工程一标段（一期）",  # the section before the phase
            "越溪污水处理厂\u3000扩建工程 ２标段",  # full-width space and digit
        ]
    )
    parts = split_names(names)
    assert parts["base"].nunique() == 1
    assert parts["phase"].tolist()[0] == "一" and pd.isna(parts["phase"].tolist()[1])
    assert parts["phase"].tolist()[3:5] == ["二", "一"]


def test_given_a_division_prefix_then_the_longest_one_is_dropped_once():
    parts = split_names(
        pd.Series(
            [
                "苏州市吴中区东山路改造工程",  # city + district, the longest prefix
                "吴中区东山路改造",  # district alone
                "常熟市常熟市新城",  # a prefix is dropped once, not repeatedly
                "苏州市",  # nothing but a division: no base
                "东山苏州市路",  # a division inside a name is part of it
            ]
        )
    )
    assert parts["base"].tolist()[:3] == ["东山路改造", "东山路改造", "常熟市新城"]
    assert pd.isna(parts["base"].tolist()[3])
    assert parts["base"].tolist()[4] == "东山苏州市路"


def test_given_a_code_one_digit_off_then_it_is_repaired_only_when_unambiguous():
    book = CodeBook(pd.Series(["2023-320506-48-01-000123", "2023-320506-48-01-000124"]))
    assert book.match("2023-320506-48-01-000123") == ("2023-320506-48-01-000123", PROJECT_CODE)
    assert book.match("2023-320506-48-01-900123") == (
        "2023-320506-48-01-000123",
        PROJECT_CODE_REPAIRED,
    )
    assert book.match("2023-320506-48-01-000125") == (None, None)  # one off from both
    assert book.match("SZJS-2021-0087") == (None, None)


def _one_digit_apart(a: str, b: str) -> bool:
    differ = [i for i in range(len(a)) if a[i] != b[i]] if len(a) == len(b) else []
    return len(differ) == 1 and a[differ[0]].isdigit() and b[differ[0]].isdigit()


codes = st.text(alphabet=st.sampled_from("0123-9A_²١"), min_size=1, max_size=5)


@given(st.sets(codes, max_size=12), codes)
def test_a_code_is_repaired_to_the_one_registry_code_a_single_digit_away(registry, written):
    """Digits are what `str.isdigit` says (superscripts, Arabic-Indic): a code is repaired
    exactly when one registry code differs from it in one position, a digit on both sides."""
    book = CodeBook(pd.Series(sorted(registry), dtype=object))
    found, method = book.match(written)
    near = [c for c in registry if _one_digit_apart(c, written)]
    if written in registry:
        assert (found, method) == (written, PROJECT_CODE)
    elif len(near) == 1:
        assert (found, method) == (near[0], PROJECT_CODE_REPAIRED)
    else:
        assert method != PROJECT_CODE_REPAIRED
