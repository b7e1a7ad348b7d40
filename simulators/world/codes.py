"""The well-known code formats of the contracts, generated valid (and broken on purpose)."""

from __future__ import annotations

import numpy as np
from stdnum.cn import uscc

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code(digits: str) -> str:
    """An organisation code (GB 11714): 8 digits and their check character."""
    check = 11 - sum(int(c) * w for c, w in zip(digits, _ORG_WEIGHTS, strict=True)) % 11
    return digits + {10: "X", 11: "0"}.get(check, str(check))


def credit_codes(prefixes: list[str], divisions: list[str], rng: np.random.Generator) -> list[str]:
    """Valid, distinct unified social credit codes (GB 32100) for units."""
    serials = rng.choice(100_000_000, size=len(prefixes), replace=False)
    out = []
    for prefix, division, serial in zip(prefixes, divisions, serials, strict=True):
        body = prefix + division + _org_code(f"{serial:08d}")
        out.append(body + uscc.calc_check_digit(body))
    return out


def break_check_character(code: str) -> str:
    """The same credit code with a wrong check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    right = alphabet.index(code[-1])
    return code[:-1] + alphabet[(right + 7) % len(alphabet)]


def project_codes(
    years: np.ndarray,
    divisions: np.ndarray,
    industries: np.ndarray,
    types: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Distinct project codes `YYYY-AAAAAA-II-TT-NNNNNN` (GB/T 40058-2021)."""
    n = len(years)
    serial = rng.choice(100_000, size=n, replace=False)
    check = (serial * 7 + 3) % 10  # the real algorithm is unpublished; any digit will do
    return np.array(
        [
            f"{y}-{d}-{i}-{t}-{s:05d}{c}"
            for y, d, i, t, s, c in zip(
                years, divisions, industries, types, serial, check, strict=True
            )
        ],
        dtype=object,
    )


_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def full_width(text: str) -> str:
    """ASCII folded to its full-width forms, as some clerks' input methods type it."""
    return text.translate(_FULL_WIDTH)


def typo(code: str, rng: np.random.Generator) -> str:
    """One digit of a code replaced by another: the commonest copying mistake."""
    positions = [i for i, c in enumerate(code) if c.isdigit()]
    i = positions[int(rng.integers(len(positions)))]
    return code[:i] + str((int(code[i]) + int(rng.integers(1, 10))) % 10) + code[i + 1 :]
