"""The organisations of the city: owner units, entrusted units, contractors, other payees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.world import vocab
from simulators.world.codes import credit_codes


@dataclass
class Units:
    owners_by_division: list[np.ndarray]  # owner indices per division
    owner_names: np.ndarray
    owner_codes: np.ndarray
    owner_budgets: np.ndarray  # the treasury's own 6-digit budget unit codes
    entrusted_names: np.ndarray
    entrusted_codes: np.ndarray
    contractor_names: np.ndarray
    contractor_codes: np.ndarray
    other_names: np.ndarray
    other_codes: np.ndarray


def _distinct(
    count: int, prefixes: list[str], kinds: list[str], rng: np.random.Generator
) -> list[str]:
    """`count` distinct names prefix + place + place + kind, drawn without replacement."""
    places = vocab.PLACES
    space = len(prefixes) * len(places) * len(places) * len(kinds)
    picks = rng.choice(space, size=count, replace=False)
    names = []
    for x in picks:
        x, k = divmod(int(x), len(kinds))
        x, b = divmod(x, len(places))
        x, a = divmod(x, len(places))
        second = places[b] if a != b else ""
        names.append(f"{prefixes[x]}{places[a]}{second}{kinds[k]}")
    return list(dict.fromkeys(names))  # a != b collapse can repeat a name: keep the first


def make_units(projects: int, rng: np.random.Generator) -> Units:
    per_division = max(4, projects // 300)
    owner_names: list[str] = []
    owner_divisions: list[str] = []
    owner_prefix: list[str] = []
    by_division = []
    for code, name, _ in vocab.DIVISIONS:
        bureaus = [f"{name}{b}" for b in vocab.OWNER_BUREAUS]
        companies = _distinct(
            max(0, per_division - len(bureaus)) + 4, [name], vocab.OWNER_COMPANY_KINDS, rng
        )
        names = (bureaus + companies)[: max(per_division, 4)]
        start = len(owner_names)
        by_division.append(np.arange(start, start + len(names)))
        owner_names += names
        owner_divisions += [code] * len(names)
        owner_prefix += ["11" if n in bureaus else "91" for n in names]
    entrusted = _distinct(
        max(3, projects // 60), ["苏州", "江苏", "苏州市"], vocab.ENTRUSTED_KINDS, rng
    )
    contractors = _distinct(
        max(5, projects // 12), ["江苏", "苏州", "中建", "中铁"], vocab.CONTRACTOR_KINDS, rng
    )
    others = _distinct(max(3, projects // 100), ["苏州", "江苏"], vocab.OTHER_PAYEE_KINDS, rng)

    def codes(names: list[str], prefix: str, division: str = "320500") -> np.ndarray:
        return np.array(
            credit_codes([prefix] * len(names), [division] * len(names), rng), dtype=object
        )

    return Units(
        owners_by_division=by_division,
        owner_names=np.array(owner_names, dtype=object),
        owner_codes=np.array(credit_codes(owner_prefix, owner_divisions, rng), dtype=object),
        owner_budgets=np.array(
            [f"{b:06d}" for b in rng.choice(900_000, len(owner_names), replace=False) + 100_000],
            dtype=object,
        ),
        entrusted_names=np.array(entrusted, dtype=object),
        entrusted_codes=codes(entrusted, "91"),
        contractor_names=np.array(contractors, dtype=object),
        contractor_codes=codes(contractors, "91", "320000"),
        other_names=np.array(others, dtype=object),
        other_codes=codes(others, "91"),
    )
