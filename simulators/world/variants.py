"""How people actually type names, codes and money: the variations linking must survive."""

from __future__ import annotations

import re

import numpy as np

from simulators.world import vocab
from simulators.world.codes import full_width, typo

_PHASE = re.compile(r"（[一二三]期）$")
_DIVISION_PREFIX = re.compile(
    "^(" + "|".join(sorted((d[1] for d in vocab.DIVISIONS), key=len, reverse=True)) + ")"
)


def _half_brackets(name: str) -> str:
    return name.replace("（", "(").replace("）", ")")


def _drop_prefix(name: str) -> str:
    return _DIVISION_PREFIX.sub("", name)


def section_names(
    names: np.ndarray, section: np.ndarray, sections: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Names entered at permit time: often with the section (标段) they cover."""
    roll = rng.random(len(names))
    out = []
    for name, s, k, r in zip(names, section, sections, roll, strict=True):
        if k > 1 or r < 0.2:
            name = (
                _PHASE.sub("", name) + vocab.SECTIONS[min(s, 3)]
                if r < 0.5
                else name + vocab.SECTIONS[min(s, 3)]
            )
        if r > 0.9:
            name = _half_brackets(name)
        out.append(name)
    return np.array(out, dtype=object)


def registry_name_edit(names: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The registry's own edits of a name (the code stays, the name moves)."""
    out = []
    for name, r in zip(names, rng.random(len(names)), strict=True):
        if _PHASE.search(name):
            out.append(_PHASE.sub("", name) if r < 0.5 else name.replace("期）", "期 ）"))
        else:
            out.append(name.replace("工程", "项目") if r < 0.5 else name + "（一期）")
    return np.array(out, dtype=object)


def treasury_names(
    names: np.ndarray, is_project: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Names as a paying agency typed them: abbreviated, sectioned, brackets changed."""
    out = []
    for name, proj, r in zip(names, is_project, rng.random(len(names)), strict=True):
        if not proj or r < 0.4:
            out.append(name)
        elif r < 0.6:
            out.append(_drop_prefix(name))
        elif r < 0.75:
            out.append(_PHASE.sub("", name))
        elif r < 0.85:
            out.append(name + vocab.SECTIONS[int(r * 100) % 2])
        elif r < 0.95:
            out.append(_half_brackets(name))
        else:
            out.append(_drop_prefix(name).replace("工程", ""))
    return np.array(out, dtype=object)


def audit_refs(names: np.ndarray, codes: np.ndarray, q, rng: np.random.Generator) -> np.ndarray:
    """The auditor's free-text `projectRef`: a name, a code, both, a typo, or nothing."""
    out = []
    for name, code, r in zip(names, codes, rng.random(len(names)), strict=True):
        if code is None:
            out.append(name if r < 0.8 else "")
        elif r < 0.4:
            out.append(name)
        elif r < 0.5:
            out.append(code)
        elif r < 0.7:
            out.append(f"{name}（{code}）")
        elif r < 0.75:
            out.append(f"{name}({code})")
        elif r < 0.75 + q.code_typo * 2:
            out.append(f"{name}（{typo(code, rng)}）")
        elif r < 0.85:
            out.append(_drop_prefix(name).replace("工程", ""))
        elif r < 0.9:
            out.append(f"{name}（{full_width(code)}）")
        else:
            out.append("")
    return np.array(out, dtype=object)


def spaced(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Some values with surrounding (ASCII or full-width) spaces."""
    out = values.copy()
    hit = (rng.random(len(values)) < rate) & (values != None)  # noqa: E711
    pads = rng.choice([" ", "  ", "　"], size=hit.sum())
    out[hit] = [
        f"{v}{p}" if i % 2 else f"{p}{v}{p}"
        for i, (v, p) in enumerate(zip(values[hit], pads, strict=True))
    ]
    return out


def thousands(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Some decimal strings with thousands separators (`"38,000.00"`)."""
    out = values.copy()
    hit = (rng.random(len(values)) < rate) & (values != None)  # noqa: E711
    out[hit] = [_group(v) for v in values[hit]]
    return out


def _group(text: str) -> str:
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def money_wan(fen: np.ndarray) -> np.ndarray:
    """Fen as 万元 with up to six decimals, trailing zeros dropped (`1234.5678`)."""
    out = []
    for f in fen:
        whole, frac = divmod(int(f), 1_000_000)
        out.append(f"{whole}.{frac:06d}".rstrip("0").rstrip(".") if frac else str(whole))
    return np.array(out, dtype=object)


def yuan_text(fen: np.ndarray) -> np.ndarray:
    """Fen as the treasury writes 元: thousands separators, two decimals, minus for reversals."""
    out = []
    for f in fen:
        f = int(f)
        whole, cents = divmod(abs(f), 100)
        out.append(f"{'-' if f < 0 else ''}{whole:,}.{cents:02d}")
    return np.array(out, dtype=object)
