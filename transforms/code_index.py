"""A fast path of resolution: the registry codes that could be one digit away from a written
code, found by three lookups instead of trying each digit at each position.

The rule (`transforms.resolve.CodeBook`): a code is repaired to the one registry code that
differs from it in a single position, a digit on both sides. Split a code's positions into
three classes by `i % 3`: a code one position away agrees with it whole in two of the three
classes (pigeonhole), so indexing every registry code by each pair of classes finds every
candidate; the rule is then checked on those few.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


class OneDigitIndex:
    def __init__(self, codes: Iterable[str]) -> None:
        self._by_thirds: dict[tuple, list[str]] = defaultdict(list)
        for c in codes:
            thirds = _thirds(c)
            for k in range(3):
                self._by_thirds[(len(c), k, thirds[k - 2], thirds[k - 1])].append(c)

    def candidates(self, code: str) -> set[str]:
        """Codes of `code`'s length that agree with it in two of the three position classes:
        a superset of those one position away."""
        thirds = _thirds(code)
        found: set[str] = set()
        for k in range(3):
            found.update(self._by_thirds.get((len(code), k, thirds[k - 2], thirds[k - 1]), ()))
        return found


def _thirds(code: str) -> tuple[str, str, str]:
    return code[0::3], code[1::3], code[2::3]
